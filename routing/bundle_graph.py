"""The compact routing graph of a region bundle: what a phone downloads to route and navigate with no network.

One little-endian binary file (gzip-compressed in the bundle): a magic, a JSON header that lists
the sections, then the arrays, each 8-byte aligned. This is the *transport* form, made small: items
are stored byte plane by byte plane (all first bytes, then all second bytes…), the cost and time of
an arc's way back as the difference from its way there (most ways cost the same both ways), and a
way's geometry without its end nodes. Travel times are not shipped: the
phone times the arcs of its route with the profile's speed model (``routing.core.speed_kmh``) from each way's
length and climbs, as the server does for every arc. The app *installs* it once into plain arrays it memory-maps
(``routing.offline.graph``), with the contraction hierarchy customised for each profile on the phone.
The layout is specified in ``docs/bundle-format.md``.

Costs are the engine's own per-arc ``cost_ms`` and the node order is the engine's own CCH order, so an
offline route costs what the server's does.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass

import numpy as np

from .compiled import CompiledGraph
from .profiles import INF_WEIGHT, PROFILES, arc_weights
from .route import pushed_subclasses

MAGIC = b"GLBG"
FORMAT_VERSION = 2
#: Coordinates are whole 1e-7 degrees (the compiled graph's own precision; ``geom_scale`` may be coarser for the
#: inner vertices of ways, but 1e-6° turned a few of the turns the server announces into others: a bearing at a
#: modifier's bound), elevations and climbs decimetres.
COORD_SCALE = 10_000_000
GEOM_SCALE = 10_000_000
ELEVATION_SCALE = 10
#: The snapping grid: square cells of this many degrees of latitude (longitude cells are as wide in metres).
GRID_CELL_DEG = 0.005
FLAG_CAVALIER, FLAG_EV5, FLAG_ONEWAY = 1, 2, 4
ALIGN = 8
DTYPES = {"u8": "<u1", "i16": "<i2", "u16": "<u2", "i32": "<i4", "u32": "<u4", "f32": "<f4"}
#: Sections of per-arc values whose odd items (the way back) are stored as the zig-zag difference from the even one.
PAIRED = "pair-delta"


@dataclass(frozen=True)
class Grid:
    """A regular lon/lat grid over the graph's bounding box; cell (i, j) is column i, row j."""

    lon0: float
    lat0: float
    dlon: float
    dlat: float
    nx: int
    ny: int

    @classmethod
    def over(cls, bbox: tuple[float, float, float, float], cell_deg: float = GRID_CELL_DEG) -> Grid:
        w, s, e, n = bbox
        dlon = cell_deg / math.cos(math.radians((s + n) / 2))
        return cls(w, s, dlon, cell_deg, max(1, math.ceil((e - w) / dlon)), max(1, math.ceil((n - s) / cell_deg)))

    def as_dict(self) -> dict:
        return {"lon0": self.lon0, "lat0": self.lat0, "dlon": self.dlon, "dlat": self.dlat, "nx": self.nx,
                "ny": self.ny}


def _interior(values: np.ndarray, offsets: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A way's inner vertices (its first and last are its nodes), each minus the point before it, the way's first
    point taken as ``start`` (its node on the geometry's grid): (deltas, first index of each way's inner vertices)."""
    n = np.diff(offsets)
    inner = np.ones(len(values), dtype=bool)
    inner[offsets[:-1]] = False
    inner[offsets[1:] - 1] = False
    values = values.copy()
    values[offsets[:-1]] = start
    prev = np.concatenate([[0], values[:-1]])
    first = np.zeros(len(offsets), dtype=np.uint32)
    np.cumsum(np.maximum(n - 2, 0), out=first[1:])
    return (values - prev)[inner], first


def _grid_index(graph: CompiledGraph, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """For each cell, the edges whose bounding box touches it (CSR: cell_first, cell_edge)."""
    cx = np.clip(((graph.geom_lon - grid.lon0) / grid.dlon).astype(np.int64), 0, grid.nx - 1)
    cy = np.clip(((graph.geom_lat - grid.lat0) / grid.dlat).astype(np.int64), 0, grid.ny - 1)
    starts = graph.geom_offsets[:-1]
    x0, x1 = np.minimum.reduceat(cx, starts), np.maximum.reduceat(cx, starts)
    y0, y1 = np.minimum.reduceat(cy, starts), np.maximum.reduceat(cy, starts)
    cells, edges = [], []
    for e in np.flatnonzero((x1 > x0) | (y1 > y0)):  # edges spanning several cells: every cell of their box
        xs, ys = np.meshgrid(np.arange(x0[e], x1[e] + 1), np.arange(y0[e], y1[e] + 1))
        cells.append((ys * grid.nx + xs).ravel())
        edges.append(np.full(xs.size, e))
    single = np.flatnonzero((x1 == x0) & (y1 == y0))
    cells.append(y0[single] * grid.nx + x0[single])
    edges.append(single)
    cell, edge = np.concatenate(cells), np.concatenate(edges)
    order = np.lexsort((edge, cell))
    first = np.zeros(grid.nx * grid.ny + 1, dtype=np.uint32)
    np.cumsum(np.bincount(cell, minlength=grid.nx * grid.ny), out=first[1:])
    return first, edge[order].astype(np.uint32)


def _names(graph: CompiledGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Way names as a string table: each way's index into it (0: no name), and the table as UTF-8 bytes with the
    offset of each name (name ``k`` is ``bytes[first[k]:first[k+1]]``; name 0 is empty)."""
    names = graph.edge_column("name")
    table = [""] + sorted({n for n in names.tolist() if n})
    index = {n: i for i, n in enumerate(table)}
    encoded = [n.encode("utf-8") for n in table]
    first = np.zeros(len(table) + 1, dtype=np.uint32)
    np.cumsum([len(b) for b in encoded], out=first[1:])
    edge_name = np.array([index.get(n or "", 0) for n in names.tolist()], dtype=np.uint32)
    return edge_name, first, np.frombuffer(b"".join(encoded), dtype=np.uint8)


def _codes(values: np.ndarray) -> tuple[list[str], np.ndarray]:
    """A small vocabulary (classes, subclasses) and each way's index into it."""
    vocab = sorted({v for v in values.tolist() if v is not None})
    code = {v: i for i, v in enumerate(vocab)}
    return vocab, np.array([code[v] for v in values.tolist()], dtype=np.uint8)


def graph_sections(graph: CompiledGraph, node_rank: np.ndarray) -> tuple[dict, dict[str, np.ndarray]]:
    """The header facts and the named arrays of the compact graph; ``node_rank`` is the engine's CCH order."""
    n_ways = len(graph.edge_u)
    classes, class_code = _codes(graph.edge_column("class"))
    subclasses, subclass_code = _codes(graph.edge_column("subclass"))
    flags = (graph.edge_cavalier.astype(np.uint8) * FLAG_CAVALIER + graph.edge_ev5.astype(np.uint8) * FLAG_EV5
             + graph.edge_column("oneway").astype(bool).astype(np.uint8) * FLAG_ONEWAY)
    node_lon = np.rint(graph.node_lon * COORD_SCALE).astype(np.int64)
    node_lat = np.rint(graph.node_lat * COORD_SCALE).astype(np.int64)
    ratio = COORD_SCALE // GEOM_SCALE  # a node on the geometry's grid: (x + ratio // 2) // ratio, as readers do it
    lon = np.rint(graph.geom_lon * GEOM_SCALE).astype(np.int64)
    lat = np.rint(graph.geom_lat * GEOM_SCALE).astype(np.int64)
    ele = np.rint(graph.geom_elevation * ELEVATION_SCALE).astype(np.int64)
    dlon, geom_first = _interior(lon, graph.geom_offsets, (node_lon[graph.edge_u] + ratio // 2) // ratio)
    dlat, _ = _interior(lat, graph.geom_offsets, (node_lat[graph.edge_u] + ratio // 2) // ratio)
    inner = np.ones(len(ele), dtype=bool)
    inner[graph.geom_offsets[:-1]] = inner[graph.geom_offsets[1:] - 1] = False
    edge_name, name_first, name_bytes = _names(graph)
    bbox = tuple(graph.meta.get("bbox"))
    grid = Grid.over(bbox)
    cell_first, cell_edge = _grid_index(graph, grid)
    arrays: dict[str, np.ndarray] = {
        "node_lon": node_lon.astype(np.int32), "node_lat": node_lat.astype(np.int32),
        "node_ele": np.rint(graph.node_elevation * ELEVATION_SCALE).astype(np.int16),
        "node_rank": np.asarray(node_rank, dtype=np.uint32),
        "edge_u": graph.edge_u.astype(np.uint32), "edge_v": graph.edge_v.astype(np.uint32),
        "edge_length": graph.edge_length.astype(np.float32),
        "edge_class": class_code, "edge_subclass": subclass_code,
        "edge_flags": flags.astype(np.uint8), "edge_name": edge_name,
        "edge_ascent": np.rint(graph.edge_ascent * ELEVATION_SCALE).astype(np.uint16),
        "edge_descent": np.rint(graph.edge_descent * ELEVATION_SCALE).astype(np.uint16),
        "name_first": name_first, "name_bytes": name_bytes,
        "geom_first": geom_first,
        "geom_dlon": dlon.astype(np.int32), "geom_dlat": dlat.astype(np.int32),
        "geom_ele": ele[inner].astype(np.int16),
        "cell_first": cell_first, "cell_edge": cell_edge,
    }
    for name, profile in PROFILES.items():
        arrays[f"cost_{name}"] = arc_weights(graph, profile).cost_ms.astype(np.uint32)
    header = {"format_version": FORMAT_VERSION, "data_version": graph.data_version, "bbox": list(bbox),
              "nodes": graph.n_nodes, "edges": n_ways, "arcs": 2 * n_ways, "vertices": int(len(dlon)),
              "names": len(name_first) - 1, "profiles": list(PROFILES), "classes": classes,
              "subclasses": subclasses, "inf_cost": INF_WEIGHT,
              "profile_models": {name: {**profile.model(), "dismount_subclasses": sorted(pushed_subclasses(name))}
                                 for name, profile in PROFILES.items()},
              "coord_scale": COORD_SCALE, "geom_scale": GEOM_SCALE, "elevation_scale": ELEVATION_SCALE,
              "grid": grid.as_dict(),
              "flags": {"cavalier": FLAG_CAVALIER, "ev5": FLAG_EV5, "oneway": FLAG_ONEWAY}}
    return header, arrays


def _pair_delta(values: np.ndarray) -> np.ndarray:
    """Odd items as the zig-zag difference from the even item before them (0 where both are equal), as u32."""
    out = values.astype(np.int64)
    diff = out[1::2] - out[0::2]
    out[1::2] = (diff << 1) ^ (diff >> 63)
    return out.astype(np.uint32)


def _dtype_name(arr: np.ndarray) -> str:
    return next(k for k, v in DTYPES.items() if np.dtype(v) == arr.dtype.newbyteorder("<"))


def encode_graph(graph: CompiledGraph, node_rank: np.ndarray) -> bytes:
    """The compact graph as one byte string: magic, header length, JSON header, padded sections."""
    header, arrays = graph_sections(graph, node_rank)
    sections, blobs, offset = [], [], 0
    for name, arr in arrays.items():
        paired = name.startswith("cost_")
        arr = _pair_delta(arr) if paired else arr
        items = np.ascontiguousarray(arr, dtype=DTYPES[_dtype_name(arr)])
        blob = items.view(np.uint8).reshape(-1, items.itemsize).T.tobytes()  # byte planes
        sections.append({"name": name, "dtype": _dtype_name(arr), "count": int(arr.size), "offset": offset,
                         **({"encoding": PAIRED} if paired else {})})
        pad = (-len(blob)) % ALIGN
        blobs.append(blob + b"\0" * pad)
        offset += len(blob) + pad
    head = json.dumps({**header, "sections": sections}, separators=(",", ":")).encode("utf-8")
    prefix_len = len(MAGIC) + 8 + len(head)
    head += b" " * ((-prefix_len) % ALIGN)  # JSON allows trailing blanks; the data start 8-byte aligned
    return MAGIC + struct.pack("<II", FORMAT_VERSION, len(head)) + head + b"".join(blobs)
