"""The compact routing graph of a region bundle: what a phone loads to route with no network.

One little-endian binary file (gzip-compressed in the bundle): a magic, a JSON header that lists
the sections, then the arrays, each 8-byte aligned and stored byte plane by byte plane (all first
bytes, then all second bytes…), which gzip compresses 15 % better than the arrays as they are.
The layout is specified in ``docs/bundle-format.md``; ``routing.offline.graph`` reads it with the
standard library alone.
Costs are the engine's own per-arc ``cost_ms``, so an offline route costs what the server's does.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass

import numpy as np

from .compiled import CompiledGraph
from .profiles import INF_WEIGHT, PROFILES, arc_weights

MAGIC = b"GLBG"
FORMAT_VERSION = 1
#: Coordinates are whole 1e-7 degrees (the compiled graph's own precision), elevations whole decimetres.
COORD_SCALE = 10_000_000
ELEVATION_SCALE = 10
#: The snapping grid: square cells of this many degrees of latitude (longitude cells are as wide in metres).
GRID_CELL_DEG = 0.005
FLAG_CAVALIER, FLAG_EV5, FLAG_ONEWAY = 1, 2, 4
ALIGN = 8
#: Travel times are whole deciseconds (an arc's cost stays exact to the millisecond).
TIME_UNIT_MS = 100
DTYPES = {"u8": "<u1", "i16": "<i2", "u16": "<u2", "i32": "<i4", "u32": "<u4", "f32": "<f4"}


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


def _csr(n_nodes: int, tail: np.ndarray, head: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outgoing arcs grouped by tail: first_out (n+1), head and arc id of each."""
    order = np.argsort(tail, kind="stable")
    first_out = np.zeros(n_nodes + 1, dtype=np.uint32)
    np.cumsum(np.bincount(tail, minlength=n_nodes), out=first_out[1:])
    return first_out, head[order].astype(np.uint32), order.astype(np.uint32)


def _deltas(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Each vertex minus the previous one of the same edge; an edge's first vertex stays absolute."""
    out = values.copy()
    out[1:] -= values[:-1]
    out[offsets[:-1]] = values[offsets[:-1]]
    return out


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


def _smallest_uint(values: np.ndarray) -> np.ndarray:
    """``values`` as uint16 when they fit, else uint32."""
    return values.astype(np.uint16 if values.max(initial=0) <= 0xFFFF else np.uint32)


def graph_sections(graph: CompiledGraph) -> tuple[dict, dict[str, np.ndarray]]:
    """The header facts and the named arrays of the compact graph."""
    n_ways = len(graph.edge_u)
    tail = np.empty(2 * n_ways, dtype=np.int64)
    head = np.empty(2 * n_ways, dtype=np.int64)
    tail[0::2], head[0::2] = graph.edge_u, graph.edge_v
    tail[1::2], head[1::2] = graph.edge_v, graph.edge_u
    first_out, arc_head, arc_id = _csr(graph.n_nodes, tail, head)
    classes = sorted(set(graph.edge_column("class").tolist()))
    class_code = {c: i for i, c in enumerate(classes)}
    flags = (graph.edge_cavalier.astype(np.uint8) * FLAG_CAVALIER + graph.edge_ev5.astype(np.uint8) * FLAG_EV5
             + graph.edge_column("oneway").astype(bool).astype(np.uint8) * FLAG_ONEWAY)
    lon = np.rint(graph.geom_lon * COORD_SCALE).astype(np.int64)
    lat = np.rint(graph.geom_lat * COORD_SCALE).astype(np.int64)
    bbox = tuple(graph.meta.get("bbox"))
    grid = Grid.over(bbox)
    cell_first, cell_edge = _grid_index(graph, grid)
    arrays: dict[str, np.ndarray] = {
        "node_lon": np.rint(graph.node_lon * COORD_SCALE).astype(np.int32),
        "node_lat": np.rint(graph.node_lat * COORD_SCALE).astype(np.int32),
        "node_ele": np.rint(graph.node_elevation * ELEVATION_SCALE).astype(np.int16),
        "first_out": first_out, "arc_head": arc_head, "arc_id": arc_id,
        "edge_length": graph.edge_length.astype(np.float32),
        "edge_class": np.array([class_code[c] for c in graph.edge_column("class")], dtype=np.uint8),
        "edge_flags": flags.astype(np.uint8),
        "geom_first": graph.geom_offsets.astype(np.uint32),
        "geom_dlon": _deltas(lon, graph.geom_offsets).astype(np.int32),
        "geom_dlat": _deltas(lat, graph.geom_offsets).astype(np.int32),
        "geom_ele": np.rint(graph.geom_elevation * ELEVATION_SCALE).astype(np.int16),
        "cell_first": cell_first, "cell_edge": cell_edge,
    }
    for name, profile in PROFILES.items():
        w = arc_weights(graph, profile)
        arrays[f"cost_{name}"] = w.cost_ms.astype(np.uint32)
        arrays[f"time_{name}"] = _smallest_uint(np.rint(w.time_s * 1000 / TIME_UNIT_MS))
    header = {"format_version": FORMAT_VERSION, "data_version": graph.data_version, "bbox": list(bbox),
              "nodes": graph.n_nodes, "edges": n_ways, "arcs": 2 * n_ways, "vertices": len(graph.geom_lon),
              "profiles": list(PROFILES), "classes": classes, "inf_cost": INF_WEIGHT, "coord_scale": COORD_SCALE,
              "elevation_scale": ELEVATION_SCALE, "time_unit_ms": TIME_UNIT_MS, "grid": grid.as_dict(),
              "flags": {"cavalier": FLAG_CAVALIER, "ev5": FLAG_EV5, "oneway": FLAG_ONEWAY}}
    return header, arrays


def _dtype_name(arr: np.ndarray) -> str:
    return next(k for k, v in DTYPES.items() if np.dtype(v) == arr.dtype.newbyteorder("<"))


def encode_graph(graph: CompiledGraph) -> bytes:
    """The compact graph as one byte string: magic, header length, JSON header, padded sections."""
    header, arrays = graph_sections(graph)
    sections, blobs, offset = [], [], 0
    for name, arr in arrays.items():
        items = np.ascontiguousarray(arr, dtype=DTYPES[_dtype_name(arr)])
        blob = items.view(np.uint8).reshape(-1, items.itemsize).T.tobytes()  # byte planes
        sections.append({"name": name, "dtype": _dtype_name(arr), "count": int(arr.size), "offset": offset})
        pad = (-len(blob)) % ALIGN
        blobs.append(blob + b"\0" * pad)
        offset += len(blob) + pad
    head = json.dumps({**header, "sections": sections}, separators=(",", ":")).encode("utf-8")
    prefix_len = len(MAGIC) + 8 + len(head)
    head += b" " * ((-prefix_len) % ALIGN)  # JSON allows trailing blanks; the data start 8-byte aligned
    return MAGIC + struct.pack("<II", FORMAT_VERSION, len(head)) + head + b"".join(blobs)
