"""Read the OpenMapTiles-schema z14 vector tiles (MVT) into stitchable lines and points.

Coordinates are kept as *global* tile pixels (``x * extent + px``) on a 1/STITCH_GRID pixel grid,
so a vertex that two tiles share has identical integer coordinates in both and lines join exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from google.protobuf.message import DecodeError
from mapbox_vector_tile.decoder import TileData

from .. import settings
from ..errors import BBoxError, DataError
from . import AttrInterner, LineSet, pack_lines

LINE_LAYERS = ("transportation", "transportation_name")
_WORLD = settings.TILE_EXTENT * (1 << settings.TILE_ZOOM)  # global pixels around the world


@dataclass(frozen=True)
class TilePoint:
    """A point feature of a tile layer (poi, mountain_peak, place) in lon/lat with its properties."""

    layer: str
    lon: float
    lat: float
    properties: dict


def lonlat_to_pixels(lon: np.ndarray | float, lat: np.ndarray | float) -> tuple:
    """Web-Mercator lon/lat to global pixel coordinates at the tile zoom (y grows southwards)."""
    lon = np.asarray(lon, dtype=float)
    lat_r = np.radians(np.asarray(lat, dtype=float))
    x = (lon + 180.0) / 360.0 * _WORLD
    y = (1.0 - np.log(np.tan(lat_r) + 1.0 / np.cos(lat_r)) / math.pi) / 2.0 * _WORLD
    return x, y


def pixels_to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`lonlat_to_pixels`."""
    lon = np.asarray(x, dtype=float) / _WORLD * 360.0 - 180.0
    lat = np.degrees(np.arctan(np.sinh(math.pi * (1.0 - 2.0 * np.asarray(y, dtype=float) / _WORLD))))
    return lon, lat


def grid_to_lonlat(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stitch-grid coordinates (int64, 1/STITCH_GRID pixel) to lon/lat degrees."""
    return pixels_to_lonlat(coords[:, 0] / settings.STITCH_GRID, coords[:, 1] / settings.STITCH_GRID)


def tiles_for_bbox(tiles_dir: Path, bbox: tuple[float, float, float, float]) -> list[Path]:
    """The z14 tile files present on disk that intersect ``bbox``; an error if there are none."""
    zdir = tiles_dir / str(settings.TILE_ZOOM)
    if not zdir.is_dir():
        raise DataError(f"tile directory not found: {zdir}")
    (x0, y1), (x1, y0) = (lonlat_to_pixels(bbox[0], bbox[1]), lonlat_to_pixels(bbox[2], bbox[3]))
    ext = settings.TILE_EXTENT
    tx = range(int(x0 // ext), int(x1 // ext) + 1)
    ty = range(int(y0 // ext), int(y1 // ext) + 1)
    found = [zdir / str(x) / f"{y}.pbf" for x in tx for y in ty]
    found = [p for p in found if p.is_file()]
    if not found:
        raise BBoxError(f"bbox {format_bbox(bbox)} holds no tile of {zdir}: it lies outside the data")
    return found


def format_bbox(bbox: Iterable[float]) -> str:
    """A bbox as the ``minlon,minlat,maxlon,maxlat`` string users type."""
    return ",".join(f"{v:g}" for v in bbox)


def _decode_layers(path: Path, wanted: set[str]) -> dict:
    """Decode only the wanted layers of one tile (skipping buildings keeps decoding ~10x faster)."""
    try:
        tile = TileData(path.read_bytes(), default_options={"y_coord_down": True, "geojson": False})
    except (DecodeError, OSError, ValueError) as exc:
        raise DataError(f"tile does not decode: {path} ({exc.__class__.__name__})") from None
    keep = [layer for layer in tile.tile.layers if layer.name in wanted]
    del tile.tile.layers[:]
    tile.tile.layers.extend(keep)
    try:
        return tile.get_message()
    except (ValueError, IndexError, AssertionError) as exc:
        raise DataError(f"tile does not decode: {path} ({exc})") from None


def _line_parts(geometry: dict) -> list:
    """The coordinate lists of a LineString or MultiLineString feature."""
    if geometry["type"] == "LineString":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiLineString":
        return geometry["coordinates"]
    return []


def _geom_key(parts: list) -> bytes:
    """A hashable key of a feature's geometry, to pair the two transportation layers."""
    return np.asarray([xy for part in parts for xy in part], dtype=np.int32).tobytes()


def _line_attrs(props: dict, named: dict) -> tuple:
    """The kept attributes, in settings.EDGE_ATTRS order, of one transportation feature."""
    cls = props.get("class")
    return (
        cls,
        named.get("subclass") or cls,  # the schema omits subclass when it equals the class
        named.get("name:latin") or named.get("name"),
        named.get("ref"),
        props.get("brunnel"),
        int(props.get("oneway", 0) or 0),
        props.get("service"),
    )


def _tile_origin(path: Path) -> tuple[int, int]:
    return int(path.parent.name) * settings.TILE_EXTENT, int(path.stem) * settings.TILE_EXTENT


def _clip_rect(path: Path, bbox_px: tuple[float, float, float, float]) -> tuple[float, ...]:
    """The tile's own square (dropping its buffer) intersected with the bbox, in global pixels."""
    ox, oy = _tile_origin(path)
    ext = settings.TILE_EXTENT
    return (max(ox, bbox_px[0]), max(oy, bbox_px[1]), min(ox + ext, bbox_px[2]), min(oy + ext, bbox_px[3]))


def _clip_to_grid(parts: list, origin: tuple[int, int], rect: tuple[float, ...]) -> list[np.ndarray]:
    """Clip pixel lines to ``rect`` and snap them to the stitch grid."""
    lines = [shapely.linestrings(np.asarray(p, dtype=float) + origin) for p in parts if len(p) >= 2]
    out = []
    for geom in shapely.clip_by_rect(lines, *rect):
        for piece in shapely.get_parts(geom):
            if piece.is_empty or piece.geom_type != "LineString":
                continue
            grid = np.round(shapely.get_coordinates(piece) * settings.STITCH_GRID).astype(np.int64)
            keep = np.ones(len(grid), dtype=bool)
            keep[1:] = np.any(grid[1:] != grid[:-1], axis=1)
            grid = grid[keep]
            if len(grid) >= 2:
                out.append(grid)
    return out


def read_tile_lines(path: Path, bbox_px: tuple[float, ...]) -> list[tuple[np.ndarray, tuple]]:
    """The routable lines of one tile, clipped and on the stitch grid, with their attributes."""
    layers = _decode_layers(path, set(LINE_LAYERS))
    named: dict[bytes, list[dict]] = {}
    for feat in layers.get("transportation_name", {}).get("features", []):
        named.setdefault(_geom_key(_line_parts(feat["geometry"])), []).append(feat["properties"])
    origin, rect = _tile_origin(path), _clip_rect(path, bbox_px)
    out = []
    for feat in layers.get("transportation", {}).get("features", []):
        props = feat["properties"]
        parts = _line_parts(feat["geometry"])
        twins = named.get(_geom_key(parts)) if parts else None
        attrs = _line_attrs(props, twins.pop(0) if twins else {})
        if attrs[0] not in settings.ROUTABLE_CLASSES:
            continue
        for grid in _clip_to_grid(parts, origin, rect):
            if attrs[5] == -1:  # oneway against the drawing direction: store it forwards
                out.append((grid[::-1].copy(), attrs[:5] + (1,) + attrs[6:]))
            else:
                out.append((grid, attrs))
    return out


def read_tile_points(path: Path, layers: tuple[str, ...], bbox: tuple[float, ...]) -> list[TilePoint]:
    """Point features of the given layers that lie in the tile's own square and in ``bbox``."""
    decoded = _decode_layers(path, set(layers))
    ox, oy = _tile_origin(path)
    ext = settings.TILE_EXTENT
    out = []
    for name in layers:
        for feat in decoded.get(name, {}).get("features", []):
            if feat["geometry"]["type"] != "Point":
                continue
            px, py = feat["geometry"]["coordinates"]
            if not (0 <= px < ext and 0 <= py < ext):
                continue  # buffer copy of a neighbour's point
            lon, lat = pixels_to_lonlat(np.array([ox + px]), np.array([oy + py]))
            lon, lat = round(float(lon[0]), 7), round(float(lat[0]), 7)
            if bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]:
                out.append(TilePoint(name, lon, lat, dict(feat["properties"])))
    return out


def _bbox_pixels(bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    (x0, y1), (x1, y0) = lonlat_to_pixels(bbox[0], bbox[1]), lonlat_to_pixels(bbox[2], bbox[3])
    return float(x0), float(y0), float(x1), float(y1)


def _map_tiles(func: Callable, paths: list[Path], workers: int, progress: Callable | None) -> Iterator:
    """Apply ``func`` to each tile, in tile order, on ``workers`` processes, ticking ``progress``."""
    if workers <= 1 or len(paths) < 8:
        for path in paths:
            yield func(path)
            if progress:
                progress(1)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(func, paths, chunksize=16):
            yield result
            if progress:
                progress(1)


class _LineReader:
    """Picklable per-tile call for the process pool."""

    def __init__(self, bbox_px: tuple[float, ...]) -> None:
        self.bbox_px = bbox_px

    def __call__(self, path: Path) -> list:
        return read_tile_lines(path, self.bbox_px)


class _PointReader:
    def __init__(self, layers: tuple[str, ...], bbox: tuple[float, ...]) -> None:
        self.layers, self.bbox = layers, bbox

    def __call__(self, path: Path) -> list:
        return read_tile_points(path, self.layers, self.bbox)


def read_lines(
    tiles_dir: Path,
    bbox: tuple[float, float, float, float],
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> LineSet:
    """Read every routable line of the tiles that cover ``bbox``, clipped to it."""
    paths = tiles_for_bbox(tiles_dir, bbox)
    intern = AttrInterner()
    parts, ids = [], []
    for lines in _map_tiles(_LineReader(_bbox_pixels(bbox)), paths, workers, progress):
        for grid, attrs in lines:
            parts.append(grid)
            ids.append(intern(attrs))
    coords, offsets, attrs = pack_lines(parts, ids)
    return LineSet(
        coords, offsets, attrs, intern.table, settings.EDGE_ATTRS, grid_to_lonlat,
        source="tiles", stats={"tiles": len(paths), "pieces": len(parts)},
    )


def read_points(
    tiles_dir: Path,
    layers: tuple[str, ...],
    bbox: tuple[float, float, float, float],
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[TilePoint]:
    """Every point of the given layers in ``bbox``, each once (tile buffers are dropped)."""
    paths = tiles_for_bbox(tiles_dir, bbox)
    out: list[TilePoint] = []
    for points in _map_tiles(_PointReader(layers, bbox), paths, workers, progress):
        out.extend(points)
    return out


@dataclass(frozen=True)
class MapShape:
    """A feature of a tile drawn on a map: its layer and class, its rings or lines in global pixels, its name."""

    layer: str
    cls: str | None
    polygon: bool
    parts: tuple[np.ndarray, ...]  # (n, 2) float global pixels, y grows southwards
    name: str | None = None


def read_map_shapes(path: Path, layers: tuple[str, ...]) -> list[MapShape]:
    """The polygons (outer rings) and lines of the given layers of one tile, for drawing a map.

    Tile buffers are kept: a map draws the overlap twice, which no reader sees, and no geometry is cut.
    """
    decoded = _decode_layers(path, set(layers))
    origin = np.array(_tile_origin(path), dtype=float)
    out = []
    for name in layers:
        for feat in decoded.get(name, {}).get("features", []):
            geom, props = feat["geometry"], feat["properties"]
            kind = geom["type"]
            if kind in ("Polygon", "MultiPolygon"):
                polys = [geom["coordinates"]] if kind == "Polygon" else geom["coordinates"]
                parts = tuple(np.asarray(p[0], dtype=float) + origin for p in polys if p and len(p[0]) >= 3)
                polygon = True
            elif kind in ("LineString", "MultiLineString"):
                parts = tuple(np.asarray(p, dtype=float) + origin for p in _line_parts(geom) if len(p) >= 2)
                polygon = False
            else:
                continue
            if parts:
                label = props.get("name:latin") or props.get("name")
                out.append(MapShape(name, props.get("class"), polygon, parts, label))
    return out
