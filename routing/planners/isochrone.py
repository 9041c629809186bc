"""Isochrones: the area reachable from a start within time bands, as GeoJSON polygons.

Travel times come from one bounded Dijkstra (scipy) over the profile's arc times; every node
reached in time marks its raster cell (ISO_CELL_M), the mask of each band is closed and filled
with scipy.ndimage, and the cells become polygons with shapely, simplified to half a cell.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import ndimage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .. import geo, settings
from ..engine import Engine
from ..errors import ImpossibleTarget
from ..profiles import get_profile


@dataclass
class Isochrone:
    """Polygons (lon/lat) per time band, and how many nodes each band reaches."""

    profile: str
    minutes: list[float]
    polygons: list[shapely.Geometry]
    nodes: list[int]
    seconds: float

    def to_geojson(self) -> dict:
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": shapely.geometry.mapping(poly),
             "properties": {"minutes": m, "profile": self.profile, "nodes": n,
                            "area_km2": round(geo.geometry_to_metric(poly).area / 1e6, 3)}}
            for m, poly, n in zip(self.minutes, self.polygons, self.nodes)]}


_TIME_GRAPHS: weakref.WeakKeyDictionary[Engine, dict[str, csr_matrix]] = weakref.WeakKeyDictionary()


def _time_graph(engine: Engine, profile: str) -> csr_matrix:
    """Sparse node-to-node matrix of travel seconds on the arcs the profile may use (built once per engine)."""
    per_engine = _TIME_GRAPHS.setdefault(engine, {})
    if profile not in per_engine:
        w = engine.weights(profile)
        ok = w.allowed
        per_engine[profile] = csr_matrix((np.maximum(w.time_s[ok], 1e-3), (engine.tail[ok], engine.head[ok])),
                                         shape=(engine.graph.n_nodes, engine.graph.n_nodes))
    return per_engine[profile]


def max_minutes(profile: str) -> float:
    """The longest time band of a profile: ISO_MAX_MINUTES, or less for a fast profile, so that no isochrone
    reaches farther than ISO_MAX_REACH_KM on the flat (the cost grows with the area covered)."""
    return min(settings.ISO_MAX_MINUTES, settings.ISO_MAX_REACH_KM / get_profile(profile).flat_kmh * 60)


def band_list(minutes: float, bands: int | list[float] | None, profile: str = "bike") -> list[float]:
    """The time bands asked for: explicit minutes, or ``bands`` equal steps up to ``minutes``."""
    most = max_minutes(profile)
    if not 0 < minutes <= most:
        raise ImpossibleTarget(f"minutes must be in (0, {most:g}] for {profile} (at most {settings.ISO_MAX_REACH_KM:g} "
                               f"km on the flat), not {minutes:g}", field="minutes")
    if isinstance(bands, list):
        if not bands or any(not 0 < b <= minutes for b in bands):
            raise ImpossibleTarget("each band must be in (0, minutes]", field="bands")
        return sorted(set(float(b) for b in bands))
    n = bands or 3
    return [round(minutes * (k + 1) / n, 2) for k in range(n)]


def isochrone(engine: Engine, start: tuple[float, float], minutes: float, profile: str = "bike",
              bands: int | list[float] | None = None) -> Isochrone:
    """The area reachable from ``start`` within each band of minutes, by ``profile``."""
    get_profile(profile)
    t0 = time.monotonic()
    steps = band_list(minutes, bands, profile)
    snap = engine.snap([start], field="start")[0]
    times = engine.weights(profile).time_s
    u, v = int(engine.graph.edge_u[snap.edge]), int(engine.graph.edge_v[snap.edge])
    reach = dijkstra(_time_graph(engine, profile), indices=[u, v], limit=steps[-1] * 60)
    reach[0] += times[2 * snap.edge + 1] * snap.fraction  # back to u along the edge
    reach[1] += times[2 * snap.edge] * (1 - snap.fraction)  # on to v
    best = reach.min(axis=0)
    polys, counts = [], []
    x, y = geo.to_metric(engine.graph.node_lon, engine.graph.node_lat)
    for m in steps:
        inside = np.flatnonzero(best <= m * 60)
        counts.append(len(inside))
        polys.append(_cells_polygon(np.asarray(x)[inside], np.asarray(y)[inside]))
    return Isochrone(profile, steps, polys, counts, time.monotonic() - t0)


def _cells_polygon(x: np.ndarray, y: np.ndarray) -> shapely.Geometry:
    """The union of the raster cells holding the points, closed and hole-filled, back in lon/lat."""
    if not len(x):
        return shapely.Polygon()
    cell = settings.ISO_CELL_M
    x0, y0 = x.min() - 2 * cell, y.min() - 2 * cell
    ix, iy = ((x - x0) // cell).astype(int), ((y - y0) // cell).astype(int)
    mask = np.zeros((ix.max() + 3, iy.max() + 3), dtype=bool)
    mask[ix, iy] = True
    mask = ndimage.binary_fill_holes(ndimage.binary_closing(mask, iterations=2))
    cx, cy = np.nonzero(mask)
    boxes = shapely.box(x0 + cx * cell, y0 + cy * cell, x0 + (cx + 1) * cell, y0 + (cy + 1) * cell)
    area = shapely.coverage_union_all(boxes).simplify(cell / 2)
    return shapely.transform(area, lambda c: np.column_stack(geo.to_lonlat(c[:, 0], c[:, 1])))
