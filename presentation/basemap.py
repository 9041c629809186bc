"""Maps drawn offline from the OSM z14 vector tiles: land use, water, buildings, roads and paths with their names,
then the route, its km markers and its numbered points, a scale bar, a north arrow and the attribution.

The style is data (``STYLE``), as a map style is: which layer and class is drawn how, and from which
map span on. Drawing is in Web-Mercator pixels of the z14 tiles, so the tiles' geometry is used as it
is. The route colour (``ROUTE_COLOUR``) is used by nothing else on the map: a test finds the route by it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.patheffects as pe  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from routing import settings as routing_settings  # noqa: E402
from routing.compiled import CompiledGraph  # noqa: E402
from routing.errors import BBoxError  # noqa: E402
from routing.sources.tiles import (  # noqa: E402
    MapShape,
    lonlat_to_pixels,
    pixels_to_lonlat,
    read_map_shapes,
    tiles_for_bbox,
)

from .words import Words  # noqa: E402

ROUTE_COLOUR = "#d1006f"
ROUTE_RGB = tuple(int(ROUTE_COLOUR[i:i + 2], 16) for i in (1, 3, 5))
#: Below this span (m) the map is a detail map: buildings, tracks, paths and service roads are drawn.
DETAIL_SPAN_M = 12_000.0
#: Buildings are drawn on maps narrower than this (m); wider, they are a grey blur and cost the most to read.
BUILDING_SPAN_M = 4_000.0
#: At most this many way names are written on a map, the longest ways first.
MAX_LABELS = 24
EARTH_M = 40_075_016.686
#: Tile pixels around the world at the tiles' zoom.
WORLD_PX = routing_settings.TILE_EXTENT * (1 << routing_settings.TILE_ZOOM)
#: Tiles kept read per process, every layer (about 0.2 MB each: at most about 50 MB; maps narrower than
#: GRAPH_WAYS_FROM_M read them), and area layers only (about 0.04 MB: the basin's 1,686 tiles in about 60 MB).
TILE_CACHE = 256
AREA_CACHE = 2048


@dataclass(frozen=True)
class Look:
    """How one kind of map feature is drawn."""

    colour: str
    width: float = 0.0  # line width in points; 0 for a filled polygon
    z: float = 1.0
    up_to_m: float = math.inf  # drawn on maps at most this wide (m): a street on a basin-wide map is noise


#: (layer, class) → look; a class of None matches every class of the layer not listed.
STYLE: dict[tuple[str, str | None], Look] = {
    ("landcover", "wood"): Look("#d6e8c8", z=1), ("landcover", "grass"): Look("#e6f0d8", z=1, up_to_m=30_000),
    ("landcover", "farmland"): Look("#f4f1e4", z=0.9, up_to_m=30_000),
    ("landcover", None): Look("#eaf0de", z=0.9, up_to_m=30_000),
    ("landuse", "residential"): Look("#ece7e2", z=1.1), ("landuse", "industrial"): Look("#e6dfe6", z=1.1),
    ("landuse", None): Look("#eae6df", z=1.05), ("park", None): Look("#d9ecc9", z=1.2),
    ("water", None): Look("#a9cbe8", z=2), ("waterway", None): Look("#7fb0dc", 0.6, z=2.1),
    ("building", None): Look("#cdc4bc", z=2.5, up_to_m=DETAIL_SPAN_M),
    ("transportation", "motorway"): Look("#e3a15c", 1.6, z=3.6),
    ("transportation", "trunk"): Look("#e8b36e", 1.4, z=3.5),
    ("transportation", "primary"): Look("#f0c987", 1.2, z=3.4),
    ("transportation", "secondary"): Look("#f5dc9f", 1.0, z=3.3),
    ("transportation", "tertiary"): Look("#ffffff", 0.9, z=3.2, up_to_m=60_000),
    ("transportation", "minor"): Look("#ffffff", 0.6, z=3.1, up_to_m=30_000),
    ("transportation", "service"): Look("#ffffff", 0.4, z=3.0, up_to_m=DETAIL_SPAN_M),
    ("transportation", "track"): Look("#9c7b4f", 0.45, z=3.0, up_to_m=DETAIL_SPAN_M),
    ("transportation", "path"): Look("#6f8f58", 0.45, z=3.0, up_to_m=DETAIL_SPAN_M),
    ("transportation", "rail"): Look("#8a8a8a", 0.5, z=3.05),
}
#: Ways that a map writes the name of, by the span it is drawn at.
NAMED_CLASSES = {"overview": ("motorway", "trunk", "primary", "secondary"),
                 "detail": ("primary", "secondary", "tertiary", "minor", "path", "track")}
#: The layers of the area colours, and with the ways' two layers, every layer a map draws.
AREA_LAYERS = ("landcover", "landuse", "park", "water", "waterway")
MAP_LAYERS = (*AREA_LAYERS, "transportation", "transportation_name")


@dataclass(frozen=True)
class MapPoint:
    """A point drawn over the route: ``kind`` is start, finish, km, step, poi or summit; ``label`` its text."""

    lon: float
    lat: float
    kind: str
    label: str = ""


@dataclass(frozen=True)
class MapFrame:
    """Where a map is: its extent in z14 Web-Mercator pixels (x0, y0, x1, y1; y southwards), to find it again."""

    extent: tuple[float, float, float, float]
    width_px: int
    height_px: int

    def to_image(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image pixel coordinates (column, row) of lon/lat points."""
        x, y = lonlat_to_pixels(lon, lat)
        x0, y0, x1, y1 = self.extent
        return (x - x0) / (x1 - x0) * self.width_px, (y - y0) / (y1 - y0) * self.height_px


@dataclass
class MapSpec:
    """What a map shows: the route lines (lon, lat), the points over them, and the extent they need."""

    lines: list[np.ndarray]
    points: list[MapPoint] = field(default_factory=list)
    attribution: str = "© OpenStreetMap contributors"
    margin: float = 0.06  # of the extent, on each side


def _metres_per_pixel(lat: float) -> float:
    return EARTH_M * math.cos(math.radians(lat)) / WORLD_PX


def frame_for(spec: MapSpec, width_px: int, height_px: int) -> MapFrame:
    """The extent holding the route with a margin, widened to the picture's aspect ratio (a point off it, such as
    the far centre of a large POI passed at its edge, is left out rather than shrink the route)."""
    lon = np.concatenate([ln[:, 0] for ln in spec.lines])
    lat = np.concatenate([ln[:, 1] for ln in spec.lines])
    x, y = lonlat_to_pixels(lon, lat)
    cx, cy = (x.min() + x.max()) / 2, (y.min() + y.max()) / 2
    w, h = max(np.ptp(x), 200.0) * (1 + 2 * spec.margin), max(np.ptp(y), 200.0) * (1 + 2 * spec.margin)
    aspect = width_px / height_px
    w, h = (w, w / aspect) if w / h > aspect else (h * aspect, h)
    return MapFrame((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), width_px, height_px)


def frame_bbox(frame: MapFrame) -> tuple[float, float, float, float]:
    """The lon/lat box of a frame."""
    x0, y0, x1, y1 = frame.extent
    lon, lat = pixels_to_lonlat(np.array([x0, x1]), np.array([y1, y0]))
    return float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1])


def span_m(frame: MapFrame) -> float:
    """The frame's width on the ground, in metres."""
    bbox = frame_bbox(frame)
    return (frame.extent[2] - frame.extent[0]) * _metres_per_pixel((bbox[1] + bbox[3]) / 2)


@lru_cache(maxsize=TILE_CACHE)
def _tile_shapes(path: Path, layers: tuple[str, ...]) -> tuple[MapShape, ...]:
    return tuple(read_map_shapes(path, layers))


@lru_cache(maxsize=AREA_CACHE)
def _area_shapes(path: Path) -> tuple[MapShape, ...]:
    return tuple(read_map_shapes(path, AREA_LAYERS))


#: On maps wider than this (m), the ways come from the compiled graph (made from the same tiles) and only the area
#: layers are read from the tiles: decoding a tile's two road layers is 80 % of its 9 ms, and a map of the whole
#: basin covers 1,200 tiles. The graph has no motorways, trunks or railways, so those maps lack them; lower zoom
#: levels made from the z14 tiles (the offline-map issue's PMTiles) will give every layer cheaply.
GRAPH_WAYS_FROM_M = BUILDING_SPAN_M


@dataclass(frozen=True)
class _Ways:
    """The graph's ways in tile pixels, with each edge's box, class and name, for picking a frame's quickly."""

    xy: np.ndarray
    offsets: np.ndarray
    cls: np.ndarray
    names: np.ndarray
    box: np.ndarray  # (E, 4) min x, min y, max x, max y


_GRAPH_WAYS: dict[str, _Ways] = {}


def _graph_ways(graph: CompiledGraph) -> _Ways:
    """The graph's ways, made once per data version (one graph per process)."""
    if graph.data_version not in _GRAPH_WAYS:
        x, y = lonlat_to_pixels(graph.geom_lon, graph.geom_lat)
        off = graph.geom_offsets
        box = np.full((len(off) - 1, 4), np.nan)
        for k, (fn, col) in enumerate(((np.minimum, x), (np.minimum, y), (np.maximum, x), (np.maximum, y))):
            box[:, k] = fn.reduceat(col, off[:-1]) if len(col) else box[:, k]
        _GRAPH_WAYS.clear()
        _GRAPH_WAYS[graph.data_version] = _Ways(np.column_stack([x, y]), off, graph.edge_column("class"),
                                                graph.edge_column("name"), box)
    return _GRAPH_WAYS[graph.data_version]


def graph_ways(graph: CompiledGraph, frame: MapFrame) -> list[MapShape]:
    """The graph's ways in a frame, of the classes STYLE draws that wide: one shape per class, and one per named
    way of the classes whose names the map writes."""
    ways, width = _graph_ways(graph), span_m(frame)
    x0, y0, x1, y1 = frame.extent
    drawn = [c for (layer, c), look in STYLE.items() if layer == "transportation" and width <= look.up_to_m]
    pick = np.flatnonzero((ways.box[:, 2] >= x0) & (ways.box[:, 0] <= x1) & (ways.box[:, 3] >= y0)
                          & (ways.box[:, 1] <= y1) & np.isin(ways.cls, drawn))
    off, xy, cls = ways.offsets, ways.xy, ways.cls[pick]
    out = [MapShape("transportation", c, False, tuple(xy[off[e]:off[e + 1]] for e in pick[cls == c].tolist()))
           for c in drawn if (cls == c).any()]
    named_classes = NAMED_CLASSES["detail" if width <= DETAIL_SPAN_M else "overview"]
    named = pick[np.isin(cls, named_classes) & ways.names[pick].astype(bool)]
    out += [MapShape("transportation_name", str(ways.cls[e]), False, (xy[off[e]:off[e + 1]],), str(ways.names[e]))
            for e in named.tolist()]
    return out


def map_shapes(tiles_dir: Path, frame: MapFrame, graph: CompiledGraph | None = None) -> list[MapShape]:
    """The tiles' features a frame shows, read once per tile and process (a sheet's maps share tiles); on a map
    wider than GRAPH_WAYS_FROM_M, given the graph, its ways instead of the tiles' roads and paths. A frame outside
    the data (an uploaded course that leaves the basin) shows no basemap: the route alone."""
    try:
        paths = tiles_for_bbox(tiles_dir, frame_bbox(frame))
    except BBoxError:
        paths = []
    width = span_m(frame)
    if graph is not None and width > GRAPH_WAYS_FROM_M:
        return [s for p in paths for s in _area_shapes(p)] + graph_ways(graph, frame)
    out = [s for p in paths for s in _tile_shapes(p, MAP_LAYERS)]
    if width <= BUILDING_SPAN_M:
        out += [s for p in paths for s in _tile_shapes(p, ("building",))]
    return out


def _look(shape: MapShape, width_m: float) -> Look | None:
    look = STYLE.get((shape.layer, shape.cls)) or STYLE.get((shape.layer, None))
    if look is None or width_m > look.up_to_m:
        return None
    return look


def _draw_basemap(ax, shapes: Sequence[MapShape], width_m: float, scale: float) -> None:
    """Polygons then lines, one collection per look (matplotlib draws a collection in one pass)."""
    groups: dict[Look, list[np.ndarray]] = {}
    for s in shapes:
        if s.layer == "transportation_name":
            continue
        look = _look(s, width_m)
        if look is not None:
            groups.setdefault(look, []).extend(s.parts)
    for look, parts in groups.items():
        if look.width == 0:
            ax.add_collection(PolyCollection(parts, facecolors=look.colour, edgecolors="none", zorder=look.z))
        else:
            ax.add_collection(LineCollection(parts, colors=look.colour, linewidths=look.width * scale, zorder=look.z,
                                             capstyle="round"))
            if look.colour == "#ffffff":  # white roads need a casing to show on pale land
                ax.add_collection(LineCollection(parts, colors="#b9b3aa", linewidths=(look.width + 0.5) * scale,
                                                 zorder=look.z - 0.05, capstyle="round"))


def _draw_names(ax, shapes: Sequence[MapShape], frame: MapFrame, detail: bool, scale: float) -> None:
    """The names of the longest named ways, once each, along the way."""
    wanted = NAMED_CLASSES["detail" if detail else "overview"]
    x0, y0, x1, y1 = frame.extent
    best: dict[str, tuple[float, np.ndarray]] = {}
    for s in shapes:
        if s.layer != "transportation_name" or not s.name or s.cls not in wanted:
            continue
        for part in s.parts:
            inside = part[(part[:, 0] > x0) & (part[:, 0] < x1) & (part[:, 1] > y0) & (part[:, 1] < y1)]
            if len(inside) < 2:
                continue
            length = float(np.hypot(*np.diff(inside, axis=0).T).sum())
            if length > best.get(s.name, (0.0, None))[0]:
                best[s.name] = (length, inside)
    min_len, apart = (x1 - x0) / 12, (x1 - x0) / 9
    placed: list[np.ndarray] = []
    for name, (_, part) in sorted(((n, v) for n, v in best.items() if v[0] >= min_len), key=lambda kv: -kv[1][0]):
        mid = len(part) // 2
        if len(placed) == MAX_LABELS or any(np.hypot(*(part[mid] - q)) < apart for q in placed):
            continue  # a name on another name is read as neither
        placed.append(part[mid])
        a, b = part[max(mid - 1, 0)], part[min(mid + 1, len(part) - 1)]
        angle = -math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
        angle = angle - 180 if angle > 90 else angle + 180 if angle < -90 else angle
        ax.text(part[mid, 0], part[mid, 1], name, fontsize=4.3 * scale, rotation=angle, ha="center", va="center",
                color="#4a4a4a", zorder=5, rotation_mode="anchor",
                path_effects=[pe.withStroke(linewidth=1.6 * scale, foreground="white")])


#: How each kind of point is drawn: marker, face colour, size (points), text colour.
POINT_LOOKS = {"start": ("o", "#1a9641", 9, "white"), "finish": ("s", "#222222", 8, "white"),
               "km": ("o", "white", 7, "#222222"), "step": ("o", "#2b5fad", 7.5, "white"),
               "poi": ("s", "#f29e0c", 7.5, "#222222"), "summit": ("^", "#6b4a2b", 8.5, "white")}


def _draw_points(ax, points: Sequence[MapPoint], scale: float) -> None:
    for p in points:
        marker, face, size, text = POINT_LOOKS[p.kind]
        x, y = lonlat_to_pixels(p.lon, p.lat)
        ax.plot([x], [y], marker=marker, markersize=size * scale, markerfacecolor=face, markeredgecolor="#222222",
                markeredgewidth=0.5 * scale, zorder=8 if p.kind != "km" else 7, linestyle="none")
        if p.label:
            ax.text(float(x), float(y), p.label, fontsize=(4.2 if len(p.label) > 2 else 5) * scale, ha="center",
                    va="center", color=text, zorder=9, fontweight="bold")


def _nice_length(metres: float) -> float:
    """The largest 1, 2 or 5 × 10ⁿ metres not over ``metres``."""
    power = 10 ** math.floor(math.log10(metres))
    return max(m * power for m in (1, 2, 5) if m * power <= metres)


def _draw_furniture(ax, frame: MapFrame, spec: MapSpec, w: Words, scale: float) -> None:
    """Scale bar, north arrow and attribution, in the frame's corners."""
    x0, y0, x1, y1 = frame.extent
    bbox = frame_bbox(frame)
    mpp = _metres_per_pixel((bbox[1] + bbox[3]) / 2)
    bar_m = _nice_length((x1 - x0) * mpp / 5)
    bar_px = bar_m / mpp
    bx, by = x0 + (x1 - x0) * 0.03, y1 - (y1 - y0) * 0.05
    ax.plot([bx, bx + bar_px], [by, by], color="#222222", linewidth=2.2 * scale, zorder=10, solid_capstyle="butt",
            path_effects=[pe.withStroke(linewidth=3.6 * scale, foreground="white")])
    label = w.metres(bar_m) if bar_m < 1000 else w.km(bar_m, 0)
    ax.text(bx + bar_px / 2, by - (y1 - y0) * 0.018, label, fontsize=5.5 * scale, ha="center", va="bottom",
            zorder=10, path_effects=[pe.withStroke(linewidth=1.6 * scale, foreground="white")])
    nx, ny = x1 - (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.1
    ax.annotate("N", xy=(nx, ny - (y1 - y0) * 0.06), xytext=(nx, ny), ha="center", va="center",
                fontsize=7 * scale, fontweight="bold", zorder=10,
                arrowprops={"arrowstyle": "-|>", "color": "#222222", "lw": 1.1 * scale})
    ax.text(x1 - (x1 - x0) * 0.005, y1 - (y1 - y0) * 0.008, spec.attribution, fontsize=4.4 * scale, ha="right",
            va="bottom", color="#333333", zorder=10,
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1.2})


def _draw_route(ax, lines: Sequence[np.ndarray], scale: float) -> None:
    parts = [np.column_stack(lonlat_to_pixels(ln[:, 0], ln[:, 1])) for ln in lines]
    ax.add_collection(LineCollection(parts, colors="white", linewidths=4.2 * scale, zorder=6, capstyle="round",
                                     joinstyle="round"))
    ax.add_collection(LineCollection(parts, colors=ROUTE_COLOUR, linewidths=2.4 * scale, zorder=6.5,
                                     capstyle="round", joinstyle="round"))


#: Picture formats a map is written in: PNG for the web; JPEG for sheets (a PDF embeds JPEG as it is, where a PNG is
#: decoded and compressed again: 0.8 s a map).
MAP_FORMATS = ("png", "jpeg")


def render_map(spec: MapSpec, tiles_dir: Path, w: Words, *, width_px: int, height_px: int,
               dpi: int = 200, fmt: str = "png", graph: CompiledGraph | None = None) -> tuple[bytes, MapFrame]:
    """The map as PNG (or JPEG) bytes, and the frame it shows (to place things on it again)."""
    frame = frame_for(spec, width_px, height_px)
    scale = dpi / 100
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_facecolor("#f7f5f0")
    fig.patch.set_facecolor("#f7f5f0")
    x0, y0, x1, y1 = frame.extent
    ax.set_xlim(x0, x1)
    ax.set_ylim(y1, y0)  # y grows southwards
    detail = span_m(frame) <= DETAIL_SPAN_M
    shapes = map_shapes(tiles_dir, frame, graph)
    _draw_basemap(ax, shapes, span_m(frame), scale)
    _draw_names(ax, shapes, frame, detail, scale)
    _draw_route(ax, spec.lines, scale)
    _draw_points(ax, spec.points, scale)
    _draw_furniture(ax, frame, spec, w, scale)
    out = io.BytesIO()
    if fmt not in MAP_FORMATS:
        raise ValueError(f"a map is one of {', '.join(MAP_FORMATS)}")
    options = {"pil_kwargs": {"quality": 90, "optimize": False}} if fmt == "jpeg" else {}
    fig.savefig(out, format=fmt, dpi=dpi, facecolor=fig.get_facecolor(), **options)
    return out.getvalue(), frame
