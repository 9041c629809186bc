"""The POIs along an offline route, from the bundle's POI file, in plain Python.

A POI counts when the route passes within the corridor of its point or, for a POI with an outline (a
terril, a cité), of its outline, as the server's catalogue counts them (``poi_data.Catalogue.along``).
Distances are measured in local metres around the route (an equirectangular projection: exact enough
over a region). The POIs are indexed once in a grid of cells (``POIIndex``); a route looks only at the
cells it passes through, so the cost grows with the route, not with the catalogue.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..core import M_PER_DEG, cumulative_m

CORRIDOR_M = 150.0


@dataclass(frozen=True)
class OfflinePOI:
    """A POI of the bundle: what is shown of it, and its point and outline (lon/lat)."""

    id: str
    name: str
    themes: tuple[str, ...]
    lon: float
    lat: float
    key: bool
    description: dict
    rings: tuple[tuple[tuple[float, float], ...], ...] = ()  # the outline's outer rings


def load_pois(data: bytes) -> list[OfflinePOI]:
    """The POIs of a bundle's ``pois.*.geojson.gz`` (already checked against its sha256)."""
    out = []
    for f in json.loads(gzip.decompress(data))["features"]:
        p, (lon, lat) = f["properties"], f["geometry"]["coordinates"][:2]
        out.append(OfflinePOI(f.get("id") or p["id"], p.get("name") or "", tuple(p.get("themes") or ()), lon, lat,
                              bool(p.get("key")), p.get("description") or {}, _rings(p.get("outline"))))
    return out


def _rings(outline: dict | None) -> tuple[tuple[tuple[float, float], ...], ...]:
    """The outer rings of a GeoJSON Polygon or MultiPolygon."""
    if not outline:
        return ()
    polygons = [outline["coordinates"]] if outline["type"] == "Polygon" else outline["coordinates"]
    return tuple(tuple((x, y) for x, y, *_ in polygon[0]) for polygon in polygons)


def _inside(x: float, y: float, ring: list[tuple[float, float]]) -> bool:
    """Whether a point lies inside a ring (even-odd rule)."""
    inside = False
    for (ax, ay), (bx, by) in zip(ring, ring[1:] + ring[:1]):
        if (ay > y) != (by > y) and x < ax + (y - ay) * (bx - ax) / (by - ay):
            inside = not inside
    return inside


class _Frame:
    """Local metres around a latitude."""

    def __init__(self, lat: float) -> None:
        self.kx = M_PER_DEG * math.cos(math.radians(lat))

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return lon * self.kx, lat * M_PER_DEG


def _to_segment(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> tuple[float, float]:
    """Distance from a point to a segment, and where along the segment (0..1) it is closest."""
    dx, dy = bx - ax, by - ay
    seg2 = dx * dx + dy * dy
    t = 0.0 if seg2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / seg2))
    return math.hypot(px - ax - t * dx, py - ay - t * dy), t


#: The POI index's cells, in degrees of latitude (longitude cells as wide in metres): 0.01° is about 1.1 km.
INDEX_CELL_DEG = 0.01


class POIIndex:
    """The POIs bucketed by the grid cells their point or outline's box covers."""

    def __init__(self, pois: list[OfflinePOI]) -> None:
        self.pois = pois
        self.kx = 1 / math.cos(math.radians(50.45))  # longitude cells as wide as latitude cells in the basin
        self.cells: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, poi in enumerate(pois):
            xs = [poi.lon, *(x for r in poi.rings for x, _ in r)]
            ys = [poi.lat, *(y for r in poi.rings for _, y in r)]
            for key in self._keys(min(xs), min(ys), max(xs), max(ys)):
                self.cells[key].append(i)

    def _keys(self, w: float, s: float, e: float, n: float) -> Iterator[tuple[int, int]]:
        step = INDEX_CELL_DEG
        for cx in range(math.floor(w / (step * self.kx)), math.floor(e / (step * self.kx)) + 1):
            for cy in range(math.floor(s / step), math.floor(n / step) + 1):
                yield cx, cy

    def near(self, route: Sequence[Sequence[float]], margin_deg: float) -> list[OfflinePOI]:
        """The POIs of every cell within ``margin_deg`` of the route's segments, each once, in catalogue order."""
        found: set[int] = set()
        for p, q in zip(route, route[1:]):
            for key in self._keys(min(p[0], q[0]) - margin_deg * self.kx, min(p[1], q[1]) - margin_deg,
                                  max(p[0], q[0]) + margin_deg * self.kx, max(p[1], q[1]) + margin_deg):
                found.update(self.cells.get(key, ()))
        return [self.pois[i] for i in sorted(found)]


def along(route: Sequence[Sequence[float]], index: POIIndex, corridor_m: float = CORRIDOR_M) -> list[dict]:
    """The POIs within ``corridor_m`` of the route (lon, lat, … points), in the order the route meets them, each with
    ``distance_m`` and ``along_m`` as the server gives them."""
    if len(route) < 2:
        return []
    pois = index.near(route, 2 * corridor_m / M_PER_DEG)
    frame = _Frame(sum(p[1] for p in route) / len(route))
    pts = [frame.xy(p[0], p[1]) for p in route]
    cum = cumulative_m(route)
    cells: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, ((ax, ay), (bx, by)) in enumerate(zip(pts, pts[1:])):
        for cx in range(math.floor(min(ax, bx) / corridor_m), math.floor(max(ax, bx) / corridor_m) + 1):
            for cy in range(math.floor(min(ay, by) / corridor_m), math.floor(max(ay, by) / corridor_m) + 1):
                cells[(cx, cy)].append(i)
    hits = []
    for poi in pois:
        best = _nearest(frame, pts, cells, corridor_m, [(poi.lon, poi.lat), *(v for r in poi.rings for v in r)])
        if poi.rings:  # a route that crosses an outline passes the POI, however far its vertices
            best = _crossing(frame, pts, cells, corridor_m, poi.rings) or best
        if best is not None and best[0] <= corridor_m:
            d, i, t = best
            hits.append((cum[i] + t * (cum[i + 1] - cum[i]), d, poi))
    hits.sort(key=lambda h: h[0])
    return [{"id": p.id, "name": p.name, "themes": list(p.themes), "lon": p.lon, "lat": p.lat,
             "distance_m": round(d, 1), "along_m": round(a, 1), "key": p.key} for a, d, p in hits]


def _nearest(frame: _Frame, pts: list[tuple[float, float]], cells: dict, corridor_m: float,
             places: list[tuple[float, float]]) -> tuple[float, int, float] | None:
    """The closest approach of the route to any of ``places``: (distance, segment, fraction along it)."""
    best = None
    for lon, lat in places:
        px, py = frame.xy(lon, lat)
        cx, cy = math.floor(px / corridor_m), math.floor(py / corridor_m)
        for i in {i for dx in (-1, 0, 1) for dy in (-1, 0, 1) for i in cells.get((cx + dx, cy + dy), ())}:
            d, t = _to_segment(px, py, *pts[i], *pts[i + 1])
            if best is None or (d, i) < best[:2]:
                best = (d, i, t)
    return best


def _crossing(frame: _Frame, pts: list[tuple[float, float]], cells: dict, corridor_m: float,
              rings) -> tuple[float, int, float] | None:
    """The first route vertex inside an outline, as a distance of 0 there (only the segments of the cells under the
    outline's box are looked at)."""
    for ring in rings:
        xy = [frame.xy(lon, lat) for lon, lat in ring]
        xs, ys = [x for x, _ in xy], [y for _, y in xy]
        box = (min(xs), min(ys), max(xs), max(ys))
        near = sorted({i for cx in range(math.floor(box[0] / corridor_m), math.floor(box[2] / corridor_m) + 1)
                       for cy in range(math.floor(box[1] / corridor_m), math.floor(box[3] / corridor_m) + 1)
                       for i in cells.get((cx, cy), ())})
        for i in near:
            x, y = pts[i]
            if box[0] <= x <= box[2] and box[1] <= y <= box[3] and _inside(x, y, xy):
                return 0.0, i, 0.0
    return None
