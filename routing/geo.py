"""Transforms between lon/lat (WGS84) and the metric CRS of settings.METRIC_CRS, made once per thread."""

from __future__ import annotations

import threading

import numpy as np
import shapely
from pyproj import Transformer

from . import settings

_local = threading.local()


def _transformers() -> tuple[Transformer, Transformer]:
    """(to metric, to lon/lat); pyproj transformers are kept per thread, as pyproj advises."""
    pair = getattr(_local, "pair", None)
    if pair is None:
        pair = _local.pair = (
            Transformer.from_crs("EPSG:4326", settings.METRIC_CRS, always_xy=True),
            Transformer.from_crs(settings.METRIC_CRS, "EPSG:4326", always_xy=True),
        )
    return pair


def to_metric(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat degrees to metric x/y."""
    return _transformers()[0].transform(lon, lat)


def to_lonlat(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Metric x/y to lon/lat degrees."""
    return _transformers()[1].transform(x, y)


def geometry_to_metric(geom):
    """A shapely geometry (or array of them) in lon/lat, moved to the metric CRS."""
    return shapely.transform(geom, lambda c: np.column_stack(to_metric(c[:, 0], c[:, 1])))
