"""The one result type for everything route-like: geometry, metrics and details of a path.

A route is made of legs, each a list of arc *pieces* (an arc and the part of it travelled).
Planners build their results from these too, so GPX, GeoJSON and the API serialise one type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import settings
from .compiled import CompiledGraph
from .core import Leg, Piece, cut_line, hysteresis_walk, profile_samples
from .geo import great_circle_m
from .instructions import instructions_for
from .profiles import get_profile

if TYPE_CHECKING:
    from .profiles import ArcWeights

__all__ = ["Leg", "Piece", "Route", "build_route", "cumulative_distance", "join_points", "path_points"]


@dataclass
class Route:
    """A computed route and everything the app shows about it."""

    profile: str
    data_version: str
    coordinates: np.ndarray  # (n, 3) lon, lat, elevation
    distance_m: float
    duration_s: float
    cost: float
    ascent_m: float
    descent_m: float
    elevation_profile: list[list[float]]  # [distance_m, elevation_m] samples
    way_types: dict[str, float]  # metres by class/subclass
    cavalier_share: float
    ev5_share: float
    instructions: list[dict]
    legs: list[dict]
    arcs: list[int] = field(repr=False, default_factory=list)
    arc_lengths: list[float] = field(repr=False, default_factory=list)
    overlap: float | None = None  # for an alternative: the share of its length shared with the best route
    pois: list[dict] = field(default_factory=list)

    def overlap_with(self, other: Route) -> float:
        """Share of this route's length on ways the other also uses (either direction)."""
        theirs = {a >> 1 for a in other.arcs}
        shared = sum(length for arc, length in zip(self.arcs, self.arc_lengths) if arc >> 1 in theirs)
        return shared / self.distance_m if self.distance_m else 1.0

    def leg_ends_km(self) -> list[float]:
        """Where each leg ends, in km from the start: the km marks of the points a route goes through."""
        return [round(float(m) / 1000, 2) for m in np.cumsum([leg["distance_m"] for leg in self.legs])]

    def summary(self) -> dict:
        """The headline figures, rounded for display."""
        return {
            "profile": self.profile,
            "distance_m": round(self.distance_m, 1),
            "duration_s": round(self.duration_s, 1),
            "ascent_m": round(self.ascent_m, 1),
            "descent_m": round(self.descent_m, 1),
            "cavalier_share": round(self.cavalier_share, 4),
            "ev5_share": round(self.ev5_share, 4),
            "data_version": self.data_version,
        }


def _arc_vertices(graph: CompiledGraph, arc: int) -> np.ndarray:
    """(n, 3) lon, lat, elevation of an arc's geometry, in its direction of travel."""
    e = arc >> 1
    pts = graph.geom_points()[graph.geom_offsets[e]:graph.geom_offsets[e + 1]]
    return pts[::-1] if arc & 1 else pts


def _piece_points(graph: CompiledGraph, piece: Piece) -> np.ndarray:
    pts = _arc_vertices(graph, piece.arc)
    if piece.lo <= 0.0 and piece.hi >= 1.0:
        return pts
    return np.array(cut_line(pts.tolist(), piece.lo, piece.hi))


def join_points(chunks: list[np.ndarray]) -> np.ndarray:
    """Consecutive stretches of (lon, lat, ele) points as one line, without repeating the points they share."""
    coords = np.vstack(chunks)
    keep = np.ones(len(coords), dtype=bool)
    keep[1:] = np.any(np.abs(np.diff(coords[:, :2], axis=0)) > 1e-9, axis=1)
    return coords[keep]


def path_points(graph: CompiledGraph, pieces: list[Piece]) -> np.ndarray:
    """The (lon, lat, ele) line of a path of arc pieces, without building a whole route (for map-matching)."""
    return join_points([_piece_points(graph, p) for p in pieces])


def cumulative_distance(coords: np.ndarray) -> np.ndarray:
    """Great-circle distance (m) from the first vertex to each vertex of a lon/lat(/ele) line."""
    if len(coords) < 2:
        return np.zeros(len(coords))
    steps = great_circle_m(coords[:-1, 1], coords[:-1, 0], coords[1:, 1], coords[1:, 0])
    return np.concatenate([[0.0], np.cumsum(steps)])


def climbs_with_hysteresis(z: np.ndarray, threshold: float) -> tuple[float, float]:
    """Ascent and descent between the turning points of a profile that reverse by at least ``threshold``.

    Each climb counts whole, from its valley to its peak. Counting rises in steps of ``threshold`` from an
    anchor, as galibot did before, left up to a threshold uncounted at every summit and every valley: the
    TPN-style course read 1,310 m where its turning points add up to 1,417 m.
    """
    if len(z) < 2:
        return 0.0, 0.0
    return hysteresis_walk(z.tolist(), threshold, None)


def cumulative_climbs(z: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Ascent and descent from the start to each sample, counted as ``climbs_with_hysteresis`` counts them: the
    climbs and descents whose turning points are behind, plus the part of the current one reached so far (so a
    checkpoint half-way up a terril has climbed its first half). The last values are the totals."""
    sofar: list[tuple[float, float]] = []
    hysteresis_walk(z.tolist(), threshold, sofar)
    ups, downs = zip(*sofar) if sofar else ((), ())
    return np.asarray(ups, dtype=float), np.asarray(downs, dtype=float)


def smoothed_climbs(dist: np.ndarray, ele: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Ascent and descent of a profile after resampling, smoothing and a hysteresis.

    SRTM's 90 m cells put metre-high bumps on canal towpaths; counting them raw reports climbs
    that are not there. The profile is resampled every PROFILE_STEP_M, averaged over
    SMOOTH_WINDOW_M, and a climb or descent counts once the profile turns back by CLIMB_HYSTERESIS_M.
    ``routing.core.smoothed_climbs`` is the same in plain Python, for the phone; a test holds them equal.
    """
    if len(dist) < 2 or dist[-1] <= 0:
        return 0.0, 0.0, dist, ele
    grid = np.arange(0.0, dist[-1], settings.PROFILE_STEP_M)
    grid = np.append(grid, dist[-1]) if grid[-1] < dist[-1] else grid
    z = np.interp(grid, dist, ele)
    window = max(1, int(round(settings.SMOOTH_WINDOW_M / settings.PROFILE_STEP_M)))
    if window > 1 and len(z) > window:
        pad = np.pad(z, (window // 2, window - 1 - window // 2), mode="edge")
        z = np.convolve(pad, np.ones(window) / window, mode="valid")
    up, down = climbs_with_hysteresis(z, settings.CLIMB_HYSTERESIS_M)
    return float(up), float(down), grid, z


def _way_types(graph: CompiledGraph, arcs: np.ndarray, lengths: np.ndarray) -> dict[str, float]:
    cls = graph.edge_column("class")[arcs >> 1]
    sub = graph.edge_column("subclass")[arcs >> 1]
    out: dict[str, float] = {}
    for c, s, length in zip(cls, sub, lengths):
        key = c if c == s else f"{c}/{s}"
        out[key] = out.get(key, 0.0) + float(length)
    return {k: round(v, 1) for k, v in sorted(out.items(), key=lambda kv: -kv[1])}


def way_keys(graph: CompiledGraph):
    """What instructions say of each way of the graph: ``way(edge)`` → (name, class, subclass)."""
    names, cls, sub = graph.edge_column("name"), graph.edge_column("class"), graph.edge_column("subclass")
    return lambda e: (names[e], cls[e], sub[e])


def pushed_subclasses(profile: str) -> frozenset[str]:
    """Where a rider of ``profile`` gets off the bike: its push subclasses that cost a dismount (steps)."""
    p = get_profile(profile)
    return frozenset(p.dismount_s) & frozenset(p.push_subclasses) if p.rides else frozenset()


def build_route(graph: CompiledGraph, weights: ArcWeights, legs: list[Leg], points: list, profile: str, *,
                names: Sequence[str | None] = ()) -> Route:
    """Assemble the full result of a path made of legs; ``names`` name its points (start, vias, end) if known."""
    pieces = [p for leg in legs for p in leg.pieces]
    arcs = np.array([p.arc for p in pieces], dtype=np.int64)
    share = np.array([p.hi - p.lo for p in pieces])
    lengths = graph.edge_length[arcs >> 1] * share
    chunks = [_piece_points(graph, p) for p in pieces]
    leg_info = []
    for leg in legs:
        leg_len = float(sum(graph.edge_length[p.arc >> 1] * (p.hi - p.lo) for p in leg.pieces))
        leg_time = float(sum(weights.time_s[p.arc] * (p.hi - p.lo) for p in leg.pieces))
        leg_info.append({"distance_m": round(leg_len, 1), "duration_s": round(leg_time, 1)})
    coords = join_points(chunks)
    dist = cumulative_distance(coords)
    up, down, grid, z = smoothed_climbs(dist, coords[:, 2])
    total = float(lengths.sum())
    on = lambda flags: float(lengths[flags[arcs >> 1]].sum() / total) if total else 0.0  # noqa: E731
    return Route(
        profile=profile,
        data_version=graph.data_version,
        coordinates=coords,
        distance_m=total,
        duration_s=float((weights.time_s[arcs] * share).sum()),
        cost=float(sum(leg.cost_ms for leg in legs)) / 1000.0,
        ascent_m=up,
        descent_m=down,
        elevation_profile=profile_samples(grid.tolist(), z.tolist()),
        way_types=_way_types(graph, arcs, lengths),
        cavalier_share=on(graph.edge_cavalier),
        ev5_share=on(graph.edge_ev5),
        instructions=instructions_for(way_keys(graph), pieces, chunks, lengths, [len(leg.pieces) for leg in legs],
                                      push=pushed_subclasses(profile), names=names),
        legs=leg_info,
        arcs=arcs.tolist(),
        arc_lengths=lengths.tolist(),
    )
