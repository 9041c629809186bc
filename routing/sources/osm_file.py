"""Read a real ``.osm`` / ``.osm.pbf`` extract (e.g. Geofabrik's nord-pas-de-calais) with pyosmium.

Ways are mapped to the OpenMapTiles classes the tiles use, so both sources give the same kind
of graph; the richer tags such a file carries (surface, bicycle, foot…) are kept as well.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import osmium

from .. import settings
from ..errors import DataError
from . import AttrInterner, LineSet, pack_lines
from .tiles import TilePoint

GRID = 10_000_000  # osmium stores locations as 1e-7 degree integers

#: OSM highway → OpenMapTiles transportation class (subclass is the highway value itself).
HIGHWAY_CLASS = {
    "motorway": "motorway", "motorway_link": "motorway", "trunk": "trunk", "trunk_link": "trunk",
    "primary": "primary", "primary_link": "primary", "secondary": "secondary", "secondary_link": "secondary",
    "tertiary": "tertiary", "tertiary_link": "tertiary",
    "residential": "minor", "unclassified": "minor", "road": "minor", "living_street": "minor",
    "service": "service", "track": "track", "cycleway": "track", "bridleway": "track", "byway": "track",
    "footway": "path", "path": "path", "steps": "path", "pedestrian": "pedestrian",
}
_PRIVATE = {"private", "no"}
_OPEN = {"yes", "designated", "permissive"}


def _brunnel(tags: dict) -> str | None:
    for key in ("bridge", "tunnel", "ford"):
        if tags.get(key) not in (None, "no"):
            return key
    return None


def _oneway(tags: dict) -> int:
    value = tags.get("oneway", "no")
    return -1 if value == "-1" else int(value in ("yes", "1", "true"))


def way_attrs(tags: dict) -> tuple | None:
    """The kept attributes of a way (EDGE_ATTRS then RICH_OSM_TAGS), or None if not routable.

    Like the tile build, ways closed to the public are dropped unless bikes or walkers are let on.
    """
    highway = tags.get("highway")
    cls = HIGHWAY_CLASS.get(highway or "")
    if cls not in settings.ROUTABLE_CLASSES:
        return None
    if tags.get("access") in _PRIVATE and not ({tags.get("bicycle"), tags.get("foot")} & _OPEN):
        return None
    base = (cls, highway, tags.get("name"), tags.get("ref"), _brunnel(tags), _oneway(tags), tags.get("service"))
    return base + tuple(tags.get(k) for k in settings.RICH_OSM_TAGS)


def grid_to_lonlat(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return coords[:, 0] / GRID, coords[:, 1] / GRID


def _inside(x: int, y: int, box: tuple[int, int, int, int]) -> bool:
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def read_osm(path: Path, bbox: tuple[float, float, float, float]) -> tuple[LineSet, list[TilePoint]]:
    """Routable ways (cut to the runs of nodes inside ``bbox``) and the peaks with a height."""
    box = tuple(int(round(v * GRID)) for v in bbox)
    intern = AttrInterner()
    parts, ids, peaks = [], [], []
    try:
        processor = osmium.FileProcessor(str(path)).with_locations()
        for obj in processor:
            if obj.is_node():
                _collect_peak(obj, bbox, peaks)
            elif obj.is_way():
                attrs = way_attrs(dict(obj.tags))
                if attrs is not None:
                    for run in _runs_inside(obj, box):
                        grid = run[::-1] if attrs[5] == -1 else run
                        parts.append(grid)
                        ids.append(intern(attrs[:5] + (1 if attrs[5] else 0,) + attrs[6:]))
    except (RuntimeError, osmium.InvalidLocationError) as exc:
        raise DataError(f"OSM file does not read: {path} ({exc})") from None
    coords, offsets, attrs = pack_lines(parts, ids)
    names = settings.EDGE_ATTRS + settings.RICH_OSM_TAGS
    return LineSet(coords, offsets, attrs, intern.table, names, grid_to_lonlat, source="osm",
                   stats={"ways": len(parts)}), peaks


def _runs_inside(way, box: tuple[int, int, int, int]) -> list[np.ndarray]:
    """The way's consecutive node runs inside the box, as 1e-7 degree integer arrays."""
    runs, current = [], []
    for node in way.nodes:
        loc = node.location
        if loc.valid() and _inside(loc.x, loc.y, box):
            if not current or (loc.x, loc.y) != current[-1]:
                current.append((loc.x, loc.y))
            continue
        if len(current) >= 2:
            runs.append(np.array(current, dtype=np.int64))
        current = []
    if len(current) >= 2:
        runs.append(np.array(current, dtype=np.int64))
    return runs


def _collect_peak(node, bbox: tuple[float, ...], peaks: list) -> None:
    tags = dict(node.tags)
    if tags.get("natural") != "peak" or "ele" not in tags:
        return
    try:
        ele = float(tags["ele"].replace(",", ".").split()[0])
    except ValueError:
        return
    lon, lat = node.location.lon, node.location.lat
    if bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]:
        props = {"class": "peak", "ele": ele, "name:latin": tags.get("name")}
        peaks.append(TilePoint("mountain_peak", lon, lat, props))
