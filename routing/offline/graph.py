"""Read the compact graph of a bundle with the standard library alone, as a phone app would.

This is the reference reader of ``docs/bundle-format.md``: no numpy, no Flask, no Redis. Arrays
come back as ``array.array`` (C-speed storage, list-like access).
"""

from __future__ import annotations

import array
import gzip
import json
import math
import struct
import sys
from dataclasses import dataclass

from ..errors import GalibotError, UnknownProfile

MAGIC = b"GLBG"
SUPPORTED_FORMATS = (1,)
#: ``array`` type codes of the format's dtypes (itemsizes checked at import).
TYPECODES = {"u8": "B", "i16": "h", "u16": "H", "i32": "i", "u32": "I", "f32": "f"}
ITEMSIZE = {"u8": 1, "i16": 2, "u16": 2, "i32": 4, "u32": 4, "f32": 4}
assert all(array.array(c).itemsize == ITEMSIZE[k] for k, c in TYPECODES.items())


class BundleError(GalibotError):
    """A bundle file is missing, tampered with, truncated or of an unknown format; the message names it."""

    field = "bundle"


def _unshuffle(planes: bytes, count: int, size: int) -> bytes:
    """Interleave ``size`` byte planes of ``count`` items back into little-endian items."""
    if size == 1:
        return planes
    out = bytearray(count * size)
    for b in range(size):
        out[b::size] = planes[b * count:(b + 1) * count]
    return bytes(out)


def decode_sections(data: bytes) -> tuple[dict, dict[str, array.array]]:
    """The header and the arrays of an uncompressed graph file."""
    if data[:4] != MAGIC:
        raise BundleError("not a galibot graph file (bad magic)")
    version, head_len = struct.unpack_from("<II", data, 4)
    if version not in SUPPORTED_FORMATS:
        raise BundleError(f"graph format {version} is not supported (this reader knows {SUPPORTED_FORMATS})")
    try:
        header = json.loads(data[12:12 + head_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"graph header is not JSON: {exc}") from None
    base = 12 + head_len
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
        arrays[sec["name"]] = arr
    return header, arrays


@dataclass
class OfflineGraph:
    """The compact graph in memory: CSR adjacency, per-profile arc costs and times, geometry, snapping grid."""

    header: dict
    a: dict[str, array.array]
    edge_u: array.array
    edge_v: array.array

    @classmethod
    def from_bytes(cls, compressed: bytes) -> OfflineGraph:
        """Decompress and decode a ``graph.*.bin.gz`` file (already checked against its sha256)."""
        try:
            raw = gzip.decompress(compressed)
        except (OSError, EOFError) as exc:
            raise BundleError(f"graph file is not valid gzip: {exc}") from None
        header, arrays = decode_sections(raw)
        edge_u, edge_v = cls._edge_ends(header["edges"], arrays)
        return cls(header, arrays, edge_u, edge_v)

    @staticmethod
    def _edge_ends(n_edges: int, a: dict) -> tuple[array.array, array.array]:
        """Each edge's u and v from the CSR: arc ``2e`` leaves u for v."""
        edge_u, edge_v = array.array("I", bytes(4 * n_edges)), array.array("I", bytes(4 * n_edges))
        first, head, arc_id = a["first_out"], a["arc_head"], a["arc_id"]
        for x in range(len(first) - 1):
            for k in range(first[x], first[x + 1]):
                arc = arc_id[k]
                if not arc & 1:
                    edge_u[arc >> 1], edge_v[arc >> 1] = x, head[k]
        return edge_u, edge_v

    @property
    def data_version(self) -> str:
        return self.header["data_version"]

    @property
    def profiles(self) -> list[str]:
        return self.header["profiles"]

    def cost(self, profile: str) -> array.array:
        """Per-arc cost (ms) of a profile; ``inf_cost`` where it may not go."""
        if profile not in self.header["profiles"]:
            raise UnknownProfile(f"unknown profile {profile!r}; this bundle has {', '.join(self.profiles)}")
        return self.a[f"cost_{profile}"]

    def time_s(self, profile: str, arc: int) -> float:
        return self.a[f"time_{profile}"][arc] * self.header["time_unit_ms"] / 1000.0

    def edge_vertices(self, edge: int) -> list[tuple[float, float, float]]:
        """(lon, lat, elevation) of an edge's geometry from u to v, decoded from its deltas."""
        a, scale, escale = self.a, self.header["coord_scale"], self.header["elevation_scale"]
        lo, hi = a["geom_first"][edge], a["geom_first"][edge + 1]
        x = y = 0
        out = []
        for k in range(lo, hi):
            x, y = x + a["geom_dlon"][k], y + a["geom_dlat"][k]
            out.append((x / scale, y / scale, a["geom_ele"][k] / escale))
        return out

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
