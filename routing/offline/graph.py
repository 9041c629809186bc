"""Read, install and load a bundle's graph with the standard library alone, as a phone app would.

This is the reference reader of ``docs/bundle-format.md``: no numpy, no Flask, no Redis.

- The *transport* file (``graph.<h>.bin.gz``) is made small for the download: byte planes, the cost of
  an arc's way back as a difference, a way's geometry without its end nodes.
- *Installing* it (once per bundle version: ``install``) decodes it into plain native arrays and adds
  what is cheaper to compute than to download: the adjacency of the original graph, and the contraction
  hierarchy (``routing.offline.cch``). The installed file is written atomically beside the bundle.
- *Loading* (``OfflineGraph.load``) memory-maps the installed file and views each section as a typed
  ``memoryview``: no per-element loop, whatever the size of the region.

Each profile's customised hierarchy is made on first use and kept in its own file beside the graph.
"""

from __future__ import annotations

import array
import gzip
import json
import math
import mmap
import os
import struct
import sys
import tempfile
from dataclasses import dataclass, field
from functools import partial
from itertools import accumulate
from pathlib import Path

from .. import core
from ..errors import GalibotError, UnknownProfile
from . import cch

MAGIC = b"GLBG"
INSTALLED_MAGIC = b"GLBI"
SUPPORTED_FORMATS = (2,)
INSTALLED_VERSION = 2
ALIGN = 8
#: ``array`` type codes of the format's dtypes (item sizes checked at import).
TYPECODES = {"u8": "B", "i16": "h", "u16": "H", "i32": "i", "u32": "I", "f32": "f"}
ITEMSIZE = {"u8": 1, "i16": 2, "u16": 2, "i32": 4, "u32": 4, "f32": 4}
assert all(array.array(c).itemsize == ITEMSIZE[k] for k, c in TYPECODES.items())
DTYPE_OF = {c: k for k, c in TYPECODES.items()}


class BundleError(GalibotError):
    """A bundle file is missing, tampered with, truncated or of an unknown format; the message names it."""

    field = "bundle"


# -- the container: magic, version, JSON header, aligned sections ----------------------------------------


def _unshuffle(planes: bytes, count: int, size: int) -> bytes:
    """Interleave ``size`` byte planes of ``count`` items back into little-endian items."""
    if size == 1:
        return planes
    out = bytearray(count * size)
    for b in range(size):
        out[b::size] = planes[b * count:(b + 1) * count]
    return bytes(out)


def _read_header(data, magic: bytes, versions: tuple[int, ...], what: str) -> tuple[dict, int]:
    """The JSON header of a container and where its sections start; BundleError for anything else."""
    if bytes(data[:4]) != magic or len(data) < 12:
        raise BundleError(f"not a galibot {what} (bad magic)")
    version, head_len = struct.unpack_from("<II", data, 4)
    if version not in versions:
        raise BundleError(f"{what} format {version} is not supported by this reader (it knows {versions}): "
                          "update the app, or download the bundle again")
    try:
        header = json.loads(bytes(data[12:12 + head_len]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{what} header is not JSON: {exc}") from None
    return header, 12 + head_len


def _zigzag_pairs(arr: array.array) -> array.array:
    """Undo the ``pair-delta`` encoding: each odd item is the zig-zag difference from the even item before it."""
    out = array.array("I", arr)
    odd = out[1::2]
    even = out[0::2]
    out[1::2] = array.array("I", [e + ((z >> 1) ^ -(z & 1)) for e, z in zip(even, odd)])
    return out


def decode_sections(data: bytes) -> tuple[dict, dict[str, array.array]]:
    """The header and the arrays of an uncompressed transport graph file."""
    header, base = _read_header(data, MAGIC, SUPPORTED_FORMATS, "graph file")
    arrays = {}
    for sec in header["sections"]:
        size = ITEMSIZE[sec["dtype"]]
        start, n = base + sec["offset"], sec["count"]
        if start + n * size > len(data):
            raise BundleError(f"graph file truncated in section {sec['name']}")
        arr = array.array(TYPECODES[sec["dtype"]])
        arr.frombytes(_unshuffle(data[start:start + n * size], n, size))
        if sys.byteorder == "big":
            arr.byteswap()
        if sec.get("encoding") == "pair-delta":
            arr = _zigzag_pairs(arr)
        arrays[sec["name"]] = arr
    return header, arrays


def write_container(path: Path, magic: bytes, version: int, header: dict, arrays: dict[str, array.array]) -> None:
    """Native arrays, each 8-byte aligned after a JSON header, written atomically (temporary file, then rename)."""
    sections, offset = [], 0
    for name, arr in arrays.items():
        sections.append({"name": name, "dtype": DTYPE_OF[arr.typecode], "count": len(arr), "offset": offset})
        offset += len(arr) * arr.itemsize + (-len(arr) * arr.itemsize) % ALIGN
    head = json.dumps({**header, "byteorder": sys.byteorder, "sections": sections},
                      separators=(",", ":")).encode("utf-8")
    head += b" " * ((-(12 + len(head))) % ALIGN)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(magic + struct.pack("<II", version, len(head)) + head)
            for arr in arrays.values():
                fh.write(arr.tobytes())
                fh.write(b"\0" * ((-len(arr) * arr.itemsize) % ALIGN))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def map_container(path: Path, magic: bytes, version: int, what: str) -> tuple[dict, dict[str, memoryview], mmap.mmap]:
    """Memory-map an installed container and view each section as a typed memoryview (no copy, no loop)."""
    with open(path, "rb") as fh:
        try:
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file
            raise BundleError(f"{path.name} is empty: install it again") from None
    header, base = _read_header(mm, magic, (version,), what)
    if header.get("byteorder") != sys.byteorder:
        raise BundleError(f"{path.name} was installed on a machine of another byte order: install it again")
    view = memoryview(mm)
    arrays = {}
    for sec in header["sections"]:
        start, n = base + sec["offset"], sec["count"] * ITEMSIZE[sec["dtype"]]
        if start + n > len(mm):
            raise BundleError(f"{path.name} is truncated in section {sec['name']}: install it again")
        arrays[sec["name"]] = view[start:start + n].cast(TYPECODES[sec["dtype"]])
    return header, arrays, mm


# -- install ---------------------------------------------------------------------------------------------


def _csr(n_nodes: int, edge_u, edge_v) -> dict[str, array.array]:
    """The original graph's outgoing arcs by node (first_out, arc_head, arc_id): arc 2e leaves u, 2e+1 leaves v."""
    counts = [0] * (n_nodes + 1)
    for u, v in zip(edge_u, edge_v):
        counts[u + 1] += 1
        counts[v + 1] += 1
    for x in range(n_nodes):
        counts[x + 1] += counts[x]
    first = array.array("I", counts)
    fill = counts[:-1]
    head, arc_id = array.array("I", bytes(8 * len(edge_u))), array.array("I", bytes(8 * len(edge_u)))
    for e, (u, v) in enumerate(zip(edge_u, edge_v)):
        k = fill[u]
        head[k], arc_id[k], fill[u] = v, 2 * e, k + 1
        k = fill[v]
        head[k], arc_id[k], fill[v] = u, 2 * e + 1, k + 1
    return {"first_out": first, "arc_head": head, "arc_id": arc_id}


def _edge_boxes(header: dict, a: dict) -> dict[str, array.array]:
    """Each way's bounding box in the node grid (``coord_scale``), so snapping skips the ways too far to matter."""
    ratio = header["coord_scale"] // header["geom_scale"]
    lon, lat, first = a["node_lon"], a["node_lat"], a["geom_first"]
    boxes = {k: array.array("i") for k in ("box_w", "box_s", "box_e", "box_n")}
    for e, (u, v) in enumerate(zip(a["edge_u"], a["edge_v"])):
        lo, hi = first[e], first[e + 1]
        xs, ys = [lon[u], lon[v]], [lat[u], lat[v]]
        if hi > lo:
            xs += [x * ratio for x in accumulate(a["geom_dlon"][lo:hi], initial=(lon[u] + ratio // 2) // ratio)]
            ys += [y * ratio for y in accumulate(a["geom_dlat"][lo:hi], initial=(lat[u] + ratio // 2) // ratio)]
        boxes["box_w"].append(min(xs))
        boxes["box_s"].append(min(ys))
        boxes["box_e"].append(max(xs))
        boxes["box_n"].append(max(ys))
    return boxes


def installed_path(bundle_dir: Path, entry: dict) -> Path:
    """Where the installed form of a bundle's graph file lives: beside it, named by the file's sha256."""
    return Path(bundle_dir) / f".graph.{entry['sha256'][:16]}.installed"


def install(compressed: bytes, path: Path) -> Path:
    """Decode a transport graph (already checked against its sha256) into the installed form at ``path``, with
    the original graph's adjacency and the hierarchy's topology. Seconds for the whole basin in Python; once."""
    try:
        raw = gzip.decompress(compressed)
    except (OSError, EOFError) as exc:
        raise BundleError(f"graph file is not valid gzip: {exc}") from None
    header, arrays = decode_sections(raw)
    arrays.update(_csr(header["nodes"], arrays["edge_u"], arrays["edge_v"]))
    arrays.update(cch.topology(arrays["node_rank"], arrays["edge_u"], arrays["edge_v"]))
    arrays.update(_edge_boxes(header, arrays))
    write_container(path, INSTALLED_MAGIC, INSTALLED_VERSION, header, arrays)
    for old in path.parent.glob(".graph.*"):  # what earlier versions installed, and their hierarchies
        if not old.name.startswith(path.stem + ".") and old.suffix in (".installed", ".cch"):
            old.unlink(missing_ok=True)
    return path


# -- the loaded graph -------------------------------------------------------------------------------------


@dataclass
class OfflineGraph:
    """The installed graph, memory-mapped: adjacency, per-profile arc costs and times, geometry, names, snapping grid
    and the contraction hierarchy, each customised for a profile on first use."""

    path: Path
    header: dict
    a: dict[str, memoryview]
    _maps: list = field(default_factory=list, repr=False)
    _metrics: dict[str, cch.Metric] = field(default_factory=dict, repr=False)
    _timings: dict[str, tuple] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: Path) -> OfflineGraph:
        header, arrays, mm = map_container(path, INSTALLED_MAGIC, INSTALLED_VERSION, "installed graph")
        return cls(Path(path), header, arrays, [mm])

    @property
    def edge_u(self) -> memoryview:
        return self.a["edge_u"]

    @property
    def edge_v(self) -> memoryview:
        return self.a["edge_v"]

    @property
    def data_version(self) -> str:
        return self.header["data_version"]

    @property
    def profiles(self) -> list[str]:
        return self.header["profiles"]

    def cost(self, profile: str) -> memoryview:
        """Per-arc cost (ms) of a profile; ``inf_cost`` where it may not go."""
        if profile not in self.header["profiles"]:
            raise UnknownProfile(f"unknown profile {profile!r}; this bundle has {', '.join(self.profiles)}")
        return self.a[f"cost_{profile}"]

    def metric(self, profile: str) -> cch.Metric:
        """The hierarchy customised for a profile: from its file beside the graph, else made now and kept."""
        if profile not in self._metrics:
            cost = self.cost(profile)
            path = self.path.with_name(f"{self.path.stem}.{profile}.cch")
            try:
                _, arrays, mm = map_container(path, INSTALLED_MAGIC, INSTALLED_VERSION, "customised hierarchy")
            except (OSError, BundleError):  # not made yet, or by another version of this client: make it now
                weights = cch.customise(self.a, cost, self.header["inf_cost"])
                write_container(path, INSTALLED_MAGIC, INSTALLED_VERSION, {"profile": profile}, weights)
                _, arrays, mm = map_container(path, INSTALLED_MAGIC, INSTALLED_VERSION, "customised hierarchy")
            self._maps.append(mm)
            self._metrics[profile] = cch.Metric(self.a, arrays, cost, self.header["inf_cost"])
        return self._metrics[profile]

    def time_s(self, profile: str, arc: int) -> float:
        """Seconds to travel an arc, by the profile's speed model on the way's length and climbs (as the server's
        ``routing.profiles.arc_weights``, from the climbs to the decimetre)."""
        ride, walk, pushed, push_against = self._timing(profile)
        a, e, scale = self.a, arc >> 1, self.header["elevation_scale"]
        up, down = a["edge_ascent"][e] / scale, a["edge_descent"][e] / scale
        if arc & 1:
            up, down = down, up
        against = arc & 1 and push_against and a["edge_flags"][e] & self.header["flags"]["oneway"]
        speed = walk if a["edge_subclass"][e] in pushed or against else ride
        return core.split_time_s(float(a["edge_length"][e]), up, down, speed)

    def _timing(self, profile: str) -> tuple:
        """A profile's riding and walking speed functions, the subclass codes it pushes on, whether it pushes
        against oneways (made once per profile)."""
        if profile not in self._timings:
            model = self.header["profile_models"][profile]
            params, kind = model["params"], model["speed_model"]
            pushed = {i for i, sub in enumerate(self.header["subclasses"]) if sub in model["push_subclasses"]}
            self._timings[profile] = (partial(core.speed_kmh, kind, params), partial(core.walk_kmh, params), pushed,
                                      model["oneway"] == "push")
        return self._timings[profile]

    def way(self, edge: int) -> tuple[str | None, str, str]:
        """A way's name (None when it has none), class and subclass: what instructions say of it."""
        k = self.a["edge_name"][edge]
        first = self.a["name_first"]
        name = bytes(self.a["name_bytes"][first[k]:first[k + 1]]).decode("utf-8") if k else None
        return name, self.header["classes"][self.a["edge_class"][edge]], \
            self.header["subclasses"][self.a["edge_subclass"][edge]]

    def flags(self, edge: int) -> int:
        return self.a["edge_flags"][edge]

    def edge_vertices(self, edge: int) -> list[tuple[float, float, float]]:
        """(lon, lat, elevation) of a way's geometry from u to v: its nodes and its inner vertices (deltas)."""
        a, h = self.a, self.header
        scale, gscale, escale = h["coord_scale"], h["geom_scale"], h["elevation_scale"]
        u, v = a["edge_u"][edge], a["edge_v"][edge]
        lo, hi = a["geom_first"][edge], a["geom_first"][edge + 1]
        start = (a["node_lon"][u] / scale, a["node_lat"][u] / scale, a["node_ele"][u] / escale)
        end = (a["node_lon"][v] / scale, a["node_lat"][v] / scale, a["node_ele"][v] / escale)
        if lo == hi:
            return [start, end]
        ratio = scale // gscale
        xs = accumulate(a["geom_dlon"][lo:hi], initial=(a["node_lon"][u] + ratio // 2) // ratio)
        ys = accumulate(a["geom_dlat"][lo:hi], initial=(a["node_lat"][u] + ratio // 2) // ratio)
        next(xs), next(ys)  # the node itself, already exact in ``start``
        inner = [(x / gscale, y / gscale, z / escale) for x, y, z in zip(xs, ys, a["geom_ele"][lo:hi])]
        return [start, *inner, end]

    def neighbour_edges(self, lon: float, lat: float, reach_m: float) -> set[int]:
        """Edges of the 8 cells around a point's cell that come within ``reach_m`` of it (a cell's rectangle
        nearer than that): only they can hold a way nearer than ``reach_m`` outside the point's own cell."""
        g = self.header["grid"]
        fx, fy = (lon - g["lon0"]) / g["dlon"], (lat - g["lat0"]) / g["dlat"]
        cx, cy = math.floor(fx), math.floor(fy)
        kx = math.cos(math.radians(lat)) * core.M_PER_DEG * g["dlon"]  # metres per cell, across and up
        ky = core.M_PER_DEG * g["dlat"]
        gap = {-1: fx - cx, 0: 0.0, 1: cx + 1 - fx}  # how far (in cells) the point is from the next cell that way
        gap_y = {-1: fy - cy, 0: 0.0, 1: cy + 1 - fy}
        first, edges = self.a["cell_first"], self.a["cell_edge"]
        found: set[int] = set()
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                i, j = cx + dx, cy + dy
                if (dx or dy) and 0 <= i < g["nx"] and 0 <= j < g["ny"] \
                        and math.hypot(gap[dx] * kx, gap_y[dy] * ky) < reach_m:
                    c = j * g["nx"] + i
                    found.update(edges[first[c]:first[c + 1]])
        return found

    def cell_edges(self, lon: float, lat: float, ring: int) -> set[int]:
        """Edges listed in the grid cells within ``ring`` cells of a point."""
        g = self.header["grid"]
        cx, cy = math.floor((lon - g["lon0"]) / g["dlon"]), math.floor((lat - g["lat0"]) / g["dlat"])
        first, edges = self.a["cell_first"], self.a["cell_edge"]
        found: set[int] = set()
        for j in range(max(0, cy - ring), min(g["ny"], cy + ring + 1)):
            for i in range(max(0, cx - ring), min(g["nx"], cx + ring + 1)):
                c = j * g["nx"] + i
                found.update(edges[first[c]:first[c + 1]])
        return found
