"""Read the Mission Bassin Minier GeoJSON layers (terrils, cavaliers, UNESCO elements)."""

from __future__ import annotations

import json
from pathlib import Path

import shapely

from ..errors import DataError


def read_layer(mbm_dir: Path, name: str) -> list[tuple[shapely.Geometry, dict]]:
    """The (geometry, properties) pairs of one layer; features with no geometry are skipped."""
    path = Path(mbm_dir) / f"{name}.geojson"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        features = doc["features"]
    except FileNotFoundError:
        raise DataError(f"MBM layer not found: {path}") from None
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise DataError(f"MBM layer is not valid GeoJSON: {path} ({exc})") from None
    out = []
    for feat in features:
        geom = feat.get("geometry")
        if not geom:
            continue
        out.append((shapely.from_geojson(json.dumps(geom)), feat.get("properties") or {}))
    return out


def terril_polygons(mbm_dir: Path) -> list[tuple[shapely.Geometry, dict]]:
    """All 162 terrils (51 inscribed + 111 buffer zone), each with ``number`` and ``zone``."""
    out = []
    for geom, props in read_layer(mbm_dir, "terrils"):
        out.append((geom, {**props, "number": props["no_terril"], "zone": "unesco"}))
    for geom, props in read_layer(mbm_dir, "zt-terrils"):
        out.append((geom, {**props, "number": props["id"], "zone": "buffer"}))
    return out
