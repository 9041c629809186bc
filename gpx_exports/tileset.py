"""The basemap as one PMTiles archive: the OSM z14 vector tiles, and zooms 13 down to 8 each made from the level below.

A phone in a field has no tile server: a bundle carries its region's map as one PMTiles file (one
archive, its own index; MapLibre and the mobile SDKs read it directly), and the API serves the same
tiles at ``/v1/tiles/{z}/{x}/{y}.mvt``. Zoom 14 holds the source tiles as they are. Each lower zoom is
made from the four tiles below it, as tile pyramids are: their features moved into the parent's
square (half the size), merged (the pieces of a line with the same properties joined, the polygons of
a kind put in one feature), simplified by a unit of the 4,096-unit grid, and what is too small to
see at that zoom dropped. ``ZOOM_RULES`` says which layer and class shows from which zoom: the
OpenMapTiles layer names and properties are kept, so any OpenMapTiles style can draw the tiles.

The pyramid of the served area (``Settings.basemap_bbox``, by default the data area) is built once and
cached under its version; a region's archive is the pyramid's tiles that touch the region.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import mapbox_vector_tile as mvt
import shapely
from mapbox_vector_tile.decoder import TileData
from mapbox_vector_tile.encoder import on_invalid_geometry_make_valid
from pmtiles.reader import MmapSource, Reader
from pmtiles.tile import Compression, TileType, deserialize_directory, deserialize_header, tileid_to_zxy, zxy_to_tileid
from pmtiles.writer import Writer
from shapely import affinity
from shapely.geometry import shape

from routing import settings as routing_settings
from routing.errors import DataError, GalibotError
from routing.io import atomic_write, code_version
from routing.progress import Reporter
from routing.settings import Settings
from routing.sources.tiles import tiles_for_bbox

from .geojson import ATTRIBUTION

MAX_ZOOM = routing_settings.TILE_ZOOM
MIN_ZOOM = 8
EXTENT = routing_settings.TILE_EXTENT
#: Douglas-Peucker tolerance at each made zoom, in tile units (4,096 across a tile; 8 units = 1 px of a 512 px tile).
SIMPLIFY_UNITS = 2.0
#: Polygons smaller than this (tile units², a pixel of a 512 px tile) and lines shorter than this are dropped.
MIN_AREA_UNITS2 = 64.0
MIN_LENGTH_UNITS = 8.0
#: Made tiles are snapped to the whole units of the tile grid before encoding, so the encoder finds them valid as
#: they are (repairing invalid polygons is what costs most in ``mapbox_vector_tile``).
GRID_UNITS = 1.0
GZIP_LEVEL = 6
#: Bump when the tiles made change for the same input tiles.
TILESET_VERSION = "2"

#: Which layers and classes show from which zoom (the zooms below 14 are made; 14 is the source). A layer's
#: ``"*"`` entry is its default; classes not listed take it (``RULE_KEYS`` names another property for a layer).
#: Absent layers show at zoom 14 only.
ZOOM_RULES: dict[str, dict[str | None, int]] = {
    "transportation": {"*": 14, "motorway": 8, "trunk": 8, "primary": 9, "secondary": 10, "tertiary": 11,
                       "rail": 10, "ferry": 10, "minor": 12, "track": 12, "path": 12, "cycleway": 12,
                       "service": 13, "pedestrian": 13, "busway": 13},
    "water": {"*": 8},
    "waterway": {"*": 14, "river": 9, "canal": 10, "stream": 13},
    "landcover": {"*": 9},
    "landuse": {"*": 10},
    "park": {"*": 10},
    "boundary": {"*": 12, "2": 8, "4": 8, "5": 8, "6": 8, "7": 10},  # by admin_level: communes (8) from 12
    "place": {"*": 13, "country": 8, "state": 8, "province": 8, "city": 8, "town": 10, "village": 11,
              "suburb": 12, "hamlet": 12, "quarter": 13},
    "mountain_peak": {"*": 12},
    "aeroway": {"*": 12},
    "aerodrome_label": {"*": 11},
    "transportation_name": {"*": 13},
    "water_name": {"*": 12},
    "building": {"*": 14},
    "poi": {"*": 14},
    "housenumber": {"*": 14},
}


class BasemapError(GalibotError):
    """A basemap archive is missing, truncated or not a vector PMTiles archive; the message names it."""

    field = "basemap"


#: The property a layer's rules are keyed by, when it is not ``class``.
RULE_KEYS = {"boundary": "admin_level"}


def shows_at(layer: str, props: dict, zoom: int) -> bool:
    """Whether a feature of ``layer`` with ``props`` is drawn at ``zoom`` (``ZOOM_RULES``)."""
    rules = ZOOM_RULES.get(layer)
    if rules is None:
        return zoom >= MAX_ZOOM
    value = props.get(RULE_KEYS.get(layer, "class"))
    key = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return zoom >= rules.get(key, rules["*"])


def _made_layers(zoom: int) -> set[str]:
    """The layers that may have a feature at ``zoom``."""
    return {layer for layer, rules in ZOOM_RULES.items() if min(rules.values()) <= zoom}


# -- making one zoom from the one below ----------------------------------------------------------------


def _decode(data: bytes, layers: set[str]) -> dict[str, list[tuple[shapely.Geometry, dict]]]:
    """The features of the wanted layers of an MVT tile, as shapely geometries in tile units (y down)."""
    tile = TileData(data, default_options={"y_coord_down": True, "geojson": True})
    keep = [layer for layer in tile.tile.layers if layer.name in layers]
    del tile.tile.layers[:]
    tile.tile.layers.extend(keep)
    out: dict[str, list] = {}
    for name, layer in tile.get_message().items():
        feats = []
        for f in layer["features"]:
            try:
                feats.append((shape(f["geometry"]), f["properties"]))
            except (ValueError, TypeError, shapely.errors.GEOSException):
                continue  # a degenerate feature of the source: nothing to draw
        out[name] = feats
    return out


def _into_parent(features: dict, child_x: int, child_y: int, zoom: int) -> dict:
    """A child tile's features that show at the parent's ``zoom``, cut to the child's square and moved into the
    parent's units (half size, offset by the child's quarter)."""
    dx, dy = (child_x & 1) * EXTENT / 2, (child_y & 1) * EXTENT / 2
    out: dict[str, list] = {}
    for layer, feats in features.items():
        kept = []
        for geom, props in feats:
            if not shows_at(layer, props, zoom):
                continue
            geom = shapely.clip_by_rect(geom, 0, 0, EXTENT, EXTENT)
            if geom.is_empty:
                continue
            kept.append((affinity.affine_transform(geom, [0.5, 0, 0, 0.5, dx, dy]), props))
        if kept:
            out[layer] = kept
    return out


def _props_key(props: dict) -> str:
    return json.dumps(props, sort_keys=True, ensure_ascii=False)


def _areas_on_grid(parts: list[shapely.Geometry]) -> shapely.Geometry:
    """The union of polygons, simplified, on the tile's integer grid. GEOS's snap-rounding fails on a few source
    shapes: those are repaired and joined without it, and left off the grid if rounding still fails (the encoder
    then rounds them itself)."""
    try:
        return shapely.set_precision(shapely.simplify(shapely.union_all(parts, grid_size=GRID_UNITS),
                                                      SIMPLIFY_UNITS), GRID_UNITS)
    except shapely.errors.GEOSException:
        joined = shapely.make_valid(shapely.simplify(shapely.union_all(shapely.make_valid(parts)), SIMPLIFY_UNITS))
        try:
            return shapely.set_precision(joined, GRID_UNITS)
        except shapely.errors.GEOSException:
            return joined


def _merge_layer(feats: list[tuple[shapely.Geometry, dict]]) -> list[tuple[shapely.Geometry, dict]]:
    """One feature per kind and set of properties: lines joined where they meet, polygons in one multipolygon,
    points kept apart; simplified, and what is too small to see dropped. Sorted, so the tile is reproducible."""
    groups: dict[tuple[str, str], list] = defaultdict(list)
    props_of: dict[str, dict] = {}
    for geom, props in feats:
        key = _props_key(props)
        props_of[key] = props
        for part in shapely.get_parts(geom):
            groups[(part.geom_type, key)].append(part)
    out = []
    for (kind, key), parts in sorted(groups.items()):
        props = props_of[key]
        if kind == "Point":
            out += [(p, props) for p in parts]
            continue
        if kind == "LineString":
            merged = shapely.line_merge(shapely.set_precision(shapely.multilinestrings(parts), GRID_UNITS))
            merged = shapely.simplify(merged, SIMPLIFY_UNITS)
            keep = [p for p in shapely.get_parts(merged) if p.length >= MIN_LENGTH_UNITS]
            geom = shapely.multilinestrings(keep) if keep else None
        else:  # the pieces of an area cut at the children's edges are joined again, on the tile's integer grid
            polys = [p for p in shapely.get_parts(_areas_on_grid(parts))
                     if p.geom_type == "Polygon" and p.area >= MIN_AREA_UNITS2]
            geom = shapely.multipolygons(polys) if polys else None
        if geom is not None and not geom.is_empty:
            out.append((geom, props))
    return out


def _parent_tile(children: Iterable[dict]) -> dict:
    """A tile from its (up to four) children's features already moved into it: merged, simplified, filtered."""
    layers: dict[str, list] = defaultdict(list)
    for moved in children:
        for layer, kept in moved.items():
            layers[layer] += kept
    return {layer: merged for layer, feats in sorted(layers.items()) if (merged := _merge_layer(feats))}


def encode_tile(layers: dict) -> bytes:
    """The MVT bytes of a tile's features (tile units, y down), gzip-compressed as the archive stores them."""
    payload = [{"name": name, "features": [{"geometry": g, "properties": p} for g, p in feats]}
               for name, feats in layers.items()]
    raw = mvt.encode(payload, default_options={"y_coord_down": True, "extents": EXTENT, "on_invalid_geometry":
                                               on_invalid_geometry_make_valid})
    return gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0)


def _read_z14(path: Path) -> tuple[int, int, bytes, dict]:
    """A source tile: its x, y, its bytes gzip-compressed, and its features that show at zoom 13, moved into its
    zoom-13 parent (the process pool's work: decoding is the slow part)."""
    raw = path.read_bytes()
    x, y = int(path.parent.name), int(path.stem)
    try:
        feats = _decode(raw, _made_layers(MAX_ZOOM - 1))
    except Exception as exc:  # protobuf and the decoder raise many kinds on a corrupt tile
        raise DataError(f"tile does not decode: {path} ({exc.__class__.__name__})") from None
    moved = _into_parent(feats, x, y, MAX_ZOOM - 1)
    return x, y, gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0), moved


def _make_tile(job: tuple[tuple[int, int], list[dict], int]) -> tuple[tuple[int, int], bytes, dict]:
    """One tile of a made zoom from its children's moved features: its key, its bytes, and its features moved into
    its own parent (the process pool's work)."""
    key, children, zoom = job
    layers = _parent_tile(children)
    return key, encode_tile(layers), _into_parent(layers, *key, zoom - 1) if zoom > MIN_ZOOM else {}


def _make_level(moved: dict[tuple[int, int], dict], zoom: int, pool: ProcessPoolExecutor | None) -> list[tuple]:
    """Every tile of ``zoom`` from the features of the tiles of ``zoom + 1``, already moved into their parents."""
    parents: dict[tuple[int, int], list] = defaultdict(list)
    for (x, y), feats in sorted(moved.items()):
        parents[(x >> 1, y >> 1)].append(feats)
    jobs = [(key, children, zoom) for key, children in sorted(parents.items())]
    return list(pool.map(_make_tile, jobs, chunksize=2) if pool and len(jobs) >= 8 else map(_make_tile, jobs))


# -- the pyramid and region archives --------------------------------------------------------------------


@dataclass(frozen=True)
class Basemap:
    """A built basemap archive: where it is, its zooms, its tile count per zoom and its size."""

    path: Path
    version: str
    bbox: tuple[float, float, float, float]
    min_zoom: int
    max_zoom: int
    tiles_per_zoom: dict[int, int]
    size: int

    @property
    def tile_count(self) -> int:
        return sum(self.tiles_per_zoom.values())


def basemap_bbox(cfg: Settings) -> tuple[float, float, float, float]:
    """The area the served pyramid covers: ``GALIBOT_BASEMAP_BBOX`` (a small box in the tests), else the data's."""
    return cfg.basemap_bbox or tuple(routing_settings.DATA_BBOX)


def pyramid_version(cfg: Settings) -> str:
    """A hash of what the pyramid is made of: the source tiles (names and sizes), the box, the making code."""
    h = hashlib.sha256()
    bbox = basemap_bbox(cfg)
    for path in tiles_for_bbox(cfg.tiles_dir, bbox):
        h.update(f"{path.parent.name}/{path.name}:{path.stat().st_size};".encode())
    h.update(json.dumps([bbox, MIN_ZOOM, MAX_ZOOM, TILESET_VERSION, ZOOM_RULES], sort_keys=True).encode())
    h.update(code_version(Path(__file__).parent / "tileset.py").encode())
    return h.hexdigest()[:16]


def pyramid_path(cfg: Settings) -> Path:
    return cfg.cache_dir / "basemap" / f"pyramid-{pyramid_version(cfg)}.pmtiles"


def _tiles_of(cfg: Settings, rep: Reporter, pool: ProcessPoolExecutor | None) -> Iterator[tuple[int, int, int, bytes]]:
    """Every tile of the pyramid, (z, x, y, gzip bytes), zoom 14 first, each zoom in x, y order."""
    paths = tiles_for_bbox(cfg.tiles_dir, basemap_bbox(cfg))
    level: dict[tuple[int, int], dict] = {}
    with rep.bar(len(paths), f"basemap z{MAX_ZOOM}: read {len(paths)} source tiles") as tick:
        reads = pool.map(_read_z14, paths, chunksize=8) if pool and len(paths) >= 16 else map(_read_z14, paths)
        results = list(_ticking(reads, tick))
    for x, y, data, moved in sorted(results, key=lambda r: (r[0], r[1])):
        level[(x, y)] = moved
        yield MAX_ZOOM, x, y, data
    for zoom in range(MAX_ZOOM - 1, MIN_ZOOM - 1, -1):
        made = _make_level(level, zoom, pool)
        rep.step(f"basemap z{zoom}: {len(made)} tiles made from z{zoom + 1}")
        for (x, y), data, _ in made:
            yield zoom, x, y, data
        level = {key: moved for key, _, moved in made}


def _ticking(results: Iterable, tick) -> Iterator:
    for r in results:
        tick(1)
        yield r


def build_pyramid(cfg: Settings, rep: Reporter | None = None, *, workers: int = 2) -> Basemap:
    """The served pyramid, built once (minutes for the whole basin, with progress) and then found by version."""
    rep = rep or Reporter(quiet=True)
    path = pyramid_path(cfg)
    if path.is_file():
        return open_basemap(path).info
    rep.step(f"basemap: building zooms {MAX_ZOOM}..{MIN_ZOOM} over {basemap_bbox(cfg)}")
    with ProcessPoolExecutor(max_workers=workers) if workers > 1 else nullcontext() as pool:
        tiles = sorted(_tiles_of(cfg, rep, pool), key=lambda t: zxy_to_tileid(t[0], t[1], t[2]))
    write_archive(path, tiles, basemap_bbox(cfg), name="galibot basemap")
    for old in path.parent.glob("pyramid-*.pmtiles"):
        if old != path:
            old.unlink(missing_ok=True)
    info = open_basemap(path).info
    rep.step(f"basemap: {info.tile_count:,} tiles, {info.size / 1e6:.1f} MB")
    return info


def write_archive(path: Path, tiles: list[tuple[int, int, int, bytes]], bbox, *, name: str) -> None:
    """``archive_bytes`` written atomically to ``path``."""
    data = archive_bytes(tiles, bbox, name=name)
    with atomic_write(path) as fh:
        fh.write(data)


def archive_bytes(tiles: list[tuple[int, int, int, bytes]], bbox, *, name: str) -> bytes:
    """A PMTiles v3 archive of gzip MVT tiles, (z, x, y, bytes) in tile-id order: the same tiles give the same
    bytes."""
    if not tiles:
        raise DataError(f"no basemap tile in {name}: the box lies outside the data")
    lon0, lat0, lon1, lat1 = bbox
    header = {"tile_type": TileType.MVT, "tile_compression": Compression.GZIP,
              "min_lon_e7": int(lon0 * 1e7), "min_lat_e7": int(lat0 * 1e7),
              "max_lon_e7": int(lon1 * 1e7), "max_lat_e7": int(lat1 * 1e7),
              "center_zoom": 12, "center_lon_e7": int((lon0 + lon1) / 2 * 1e7),
              "center_lat_e7": int((lat0 + lat1) / 2 * 1e7)}
    metadata = {"name": name, "format": "pbf", "attribution": ATTRIBUTION, "minzoom": min(t[0] for t in tiles),
                "maxzoom": max(t[0] for t in tiles), "bounds": list(bbox),
                "vector_layers": [{"id": layer, "minzoom": min(rules.values()), "maxzoom": MAX_ZOOM, "fields": {}}
                                  for layer, rules in ZOOM_RULES.items()],
                "description": "OpenStreetMap (2021) vector tiles of the Bassin minier, OpenMapTiles layers; "
                               "zooms below 14 made by galibot from the level below."}
    buffer = io.BytesIO()
    writer = Writer(buffer)
    for z, x, y, data in tiles:
        writer.write_tile(zxy_to_tileid(z, x, y), data)
    writer.finalize(header, metadata)
    return buffer.getvalue()


def _tile_range(bbox, zoom: int) -> tuple[range, range]:
    """The x and y tile numbers of ``zoom`` that a lon/lat box touches (Web Mercator, y down)."""
    n = 1 << zoom

    def tx(lon: float) -> int:
        return min(n - 1, int((lon + 180) / 360 * n))

    def ty(lat: float) -> int:
        r = math.radians(lat)
        return min(n - 1, int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n))

    return range(tx(bbox[0]), tx(bbox[2]) + 1), range(ty(bbox[3]), ty(bbox[1]) + 1)


def region_archive(pyramid: BasemapArchive, bbox) -> bytes:
    """The archive of a region: the pyramid's tiles that touch ``bbox``, at every zoom."""
    tiles = []
    for zoom in range(pyramid.info.min_zoom, pyramid.info.max_zoom + 1):
        xs, ys = _tile_range(bbox, zoom)
        tiles += [(zoom, x, y, data) for x in xs for y in ys if (data := pyramid.tile(zoom, x, y)) is not None]
    tiles.sort(key=lambda t: zxy_to_tileid(t[0], t[1], t[2]))
    return archive_bytes(tiles, bbox, name="galibot basemap")


# -- reading ---------------------------------------------------------------------------------------------


class BasemapArchive:
    """A PMTiles archive opened for reading: its directory held in memory (one dict lookup per tile), its tiles read
    from the memory-mapped file. Raises BasemapError on a missing, truncated or foreign file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self._fh = open(self.path, "rb")  # noqa: SIM115 - kept open for the mmap, closed by close()
        except OSError as exc:
            raise BasemapError(f"basemap {self.path.name} cannot be opened: {exc.strerror}") from None
        size = self.path.stat().st_size
        try:
            self._get = MmapSource(self._fh)
            self.header = deserialize_header(self._get(0, 127))
            self._index = self._read_index()
            self.metadata = Reader(self._get).metadata()
        except BasemapError:
            self.close()
            raise
        except Exception as exc:  # a foreign or cut file fails in many ways inside the reader
            self.close()
            raise BasemapError(f"basemap {self.path.name} is not a readable PMTiles archive "
                               f"({exc.__class__.__name__}: {exc})") from None
        end = self.header["tile_data_offset"] + self.header["tile_data_length"]
        if size < end:
            self.close()
            raise BasemapError(f"basemap {self.path.name} is truncated: {size:,} bytes, its header says {end:,}")
        per_zoom: dict[int, int] = defaultdict(int)
        for z, _, _ in self._index:
            per_zoom[z] += 1
        h = self.header
        self.info = Basemap(self.path, self.path.stem.rsplit("-", 1)[-1],
                            (h["min_lon_e7"] / 1e7, h["min_lat_e7"] / 1e7, h["max_lon_e7"] / 1e7,
                             h["max_lat_e7"] / 1e7), h["min_zoom"], h["max_zoom"], dict(sorted(per_zoom.items())),
                            size)

    def _read_index(self) -> dict[tuple[int, int, int], tuple[int, int]]:
        """(z, x, y) → (offset, length) of every tile, from the root and leaf directories."""
        h = self.header
        if h["tile_type"] != TileType.MVT:
            raise BasemapError(f"basemap {self.path.name} holds {h['tile_type'].name} tiles, not vector tiles")
        out: dict[tuple[int, int, int], tuple[int, int]] = {}
        todo = [(h["root_offset"], h["root_length"])]
        while todo:
            offset, length = todo.pop()
            for entry in deserialize_directory(self._get(offset, length)):
                if entry.run_length == 0:
                    todo.append((h["leaf_directory_offset"] + entry.offset, entry.length))
                    continue
                for k in range(entry.run_length):
                    out[tileid_to_zxy(entry.tile_id + k)] = (h["tile_data_offset"] + entry.offset, entry.length)
        return out

    def sizes(self) -> dict[tuple[int, int, int], int]:
        """Every tile's (z, x, y) and its stored size in bytes."""
        return {zxy: length for zxy, (_, length) in self._index.items()}

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The gzip MVT bytes of a tile, or None where the archive has none (outside the area)."""
        where = self._index.get((z, x, y))
        return None if where is None else self._get(*where)

    def close(self) -> None:
        self._fh.close()


def open_basemap(path: Path) -> BasemapArchive:
    return BasemapArchive(path)
