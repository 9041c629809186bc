"""The one result type for everything route-like: geometry, metrics and details of a path.

A route is made of legs, each a list of arc *pieces* (an arc and the part of it travelled).
Planners build their results from these too, so GPX, GeoJSON and the API serialise one type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import kernels, settings
from .compiled import CompiledGraph
from .core import Leg, Piece, hysteresis_walk
from .geo import great_circle_m
from .instructions import BEARING_SPAN_M, MIN_STRETCH_M
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
    arcs: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0, dtype=np.int64))  # each piece's arc
    arc_lengths: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))  # and its metres
    overlap: float | None = None  # for an alternative: the share of its length shared with the best route
    pois: list[dict] = field(default_factory=list)

    def overlap_with(self, other: Route) -> float:
        """Share of this route's length on ways the other also uses (either direction)."""
        on_theirs = np.isin(np.asarray(self.arcs, dtype=np.int64) >> 1, np.asarray(other.arcs, dtype=np.int64) >> 1)
        shared = sum(np.asarray(self.arc_lengths, dtype=float)[on_theirs].tolist())  # in route order
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


def piece_table(pieces: Sequence[Piece]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(each piece's arc, from, to) as arrays, read in one pass: a piece is a named tuple of numbers, so numpy
    takes the whole list as an (n, 3) table at once (arc numbers are far below 2**53, exact as floats)."""
    table = np.array(pieces, dtype=float).reshape(-1, 3)
    return table[:, 0].astype(np.int64), table[:, 1], table[:, 2]


def leg_table(legs: Sequence[Leg]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``piece_table`` of every piece of the legs in order: a searched leg's whole arcs are read as the search
    gave them, and only its cut first and last pieces as pieces."""
    arcs: list[int] = []
    cut: list[tuple[int, float, float]] = []  # (position, from, to) of the pieces not travelled whole

    def add(pieces: Sequence[Piece]) -> None:
        cut.extend((len(arcs) + k, p.lo, p.hi) for k, p in enumerate(pieces) if p.lo > 0.0 or p.hi < 1.0)
        arcs.extend(p.arc for p in pieces)

    for leg in legs:
        add(leg.head)
        arcs.extend(leg.whole)
        add(leg.tail)
    lo, hi = np.zeros(len(arcs)), np.ones(len(arcs))
    if cut:
        at, cut_lo, cut_hi = (np.array(column) for column in zip(*cut))
        lo[at.astype(np.int64)], hi[at.astype(np.int64)] = cut_lo, cut_hi
    return np.array(arcs, dtype=np.int64), lo, hi


def gather_pieces(graph: CompiledGraph, arcs: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray,
                                                                                                     np.ndarray]:
    """(the (lon, lat, ele) points of every piece one after the other, the offset of each piece's first point and
    their total), each piece (``arcs[k]`` from ``lo[k]`` to ``hi[k]``) in its direction of travel and cut to its
    fractions as ``core.cut_line`` cuts it: one compiled loop (``kernels.gather``)."""
    return kernels.gather(graph.geom_offsets, graph.geom_points(), vertex_steps(graph), arcs, lo, hi)[:2]


def vertex_steps(graph: CompiledGraph) -> np.ndarray:
    """The length of the step to each geometry vertex from the one before on its way (``kernels.vertex_steps``),
    measured once per graph (10 MB and 0.1 s on the basin)."""
    if "_steps" not in graph._columns:
        graph._columns["_steps"] = kernels.vertex_steps(graph.geom_offsets, graph.geom_points())
    return graph._columns["_steps"]


def join_points(chunks: list[np.ndarray]) -> np.ndarray:
    """Consecutive stretches of (lon, lat, ele) points as one line, without repeating the points they share."""
    coords = np.vstack(chunks)
    keep = np.ones(len(coords), dtype=bool)
    keep[1:] = np.any(np.abs(np.diff(coords[:, :2], axis=0)) > 1e-9, axis=1)
    return coords[keep]


def path_points(graph: CompiledGraph, pieces: list[Piece]) -> np.ndarray:
    """The (lon, lat, ele) line of a path of arc pieces, without building a whole route (for map-matching)."""
    if not pieces:
        return np.empty((0, 3))
    return join_points([gather_pieces(graph, *piece_table(pieces))[0]])


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
    up, down = kernels.hysteresis_totals(np.ascontiguousarray(z, dtype=float), threshold)  # ``core.hysteresis_walk``
    return float(up), float(down)


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
    grid, z = kernels.smoothed_profile(np.asarray(dist, dtype=float), np.asarray(ele, dtype=float),
                                       settings.PROFILE_STEP_M, _smoothing_window())
    return (*climbs_with_hysteresis(z, settings.CLIMB_HYSTERESIS_M), grid, z)


def _smoothing_window() -> int:
    """How many profile samples the moving average spans."""
    return max(1, int(round(settings.SMOOTH_WINDOW_M / settings.PROFILE_STEP_M)))


def rounded(values: np.ndarray, ndigits: int) -> np.ndarray:
    """``values`` rounded as Python's ``round(v, ndigits)`` rounds each: numpy's way (scale, round half to even,
    unscale; one compiled loop, ``kernels.rounded_with_doubts``) gives the same float except within a hair of a
    half, where the scaled value is itself rounded, so those few are rounded by Python. What the phone computes
    value by value, the server computes at once."""
    values = np.ascontiguousarray(values, dtype=float)
    return _settled(*kernels.rounded_with_doubts(values, ndigits), values, ndigits)


def _settled(out: np.ndarray, near_half: np.ndarray, values: np.ndarray, ndigits: int) -> np.ndarray:
    """``kernels.rounded_with_doubts``'s ``out`` with its doubtful values rounded by Python from ``values``."""
    if near_half.any():
        out[near_half] = [round(v, ndigits) for v in values[near_half].tolist()]
    return out


#: How many samples of its elevation profile a route gives at most.
PROFILE_SAMPLES = 300


def profile_samples(grid: np.ndarray, z: np.ndarray, max_samples: int = PROFILE_SAMPLES) -> list[list[float]]:
    """``routing.core.profile_samples`` on arrays, equal to it: the same samples, rounded alike (``rounded``)."""
    if not len(grid):
        return []
    return rounded(kernels.samples(grid, z, max_samples), 1).tolist()


def _named_totals(types: list[str], present: np.ndarray, metres: np.ndarray) -> dict[str, float]:
    """``{type: metres}`` of the types present, the longest first, rounded to the decimetre."""
    return {types[t]: round(m, 1) for m, t in sorted(zip(metres.tolist(), present.tolist()), key=lambda mt: -mt[0])}


def way_type_ids(graph: CompiledGraph) -> tuple[list[str], np.ndarray]:
    """(the way types, each edge's index into them), made once per graph."""
    if "_way_type" not in graph._columns:
        cols = [graph.meta["attr_names"].index(c) for c in ("class", "subclass")]
        ids: dict[str, int] = {}
        per_row = np.array([ids.setdefault(row[cols[0]] if row[cols[0]] == row[cols[1]] else
                                           f"{row[cols[0]]}/{row[cols[1]]}", len(ids))
                            for row in graph.meta["attr_table"]])
        graph._columns["_way_type"] = (list(ids), per_row[graph.edge_attr])
    return graph._columns["_way_type"]


def way_keys(graph: CompiledGraph):
    """What instructions say of each way of the graph: ``way(edge)`` → (name, class, subclass), decoded from each
    edge's attributes (not through ``way_key_ids``: the test that holds the compiled maneuvers to the phone's
    reads the ways this way)."""
    names, cls, sub = graph.edge_column("name"), graph.edge_column("class"), graph.edge_column("subclass")
    return lambda e: (names[e], cls[e], sub[e])


def way_key_ids(graph: CompiledGraph) -> np.ndarray:
    """An integer per edge, equal for edges of one way key (name, class, subclass): what instructions compare, as
    numbers. Made once per graph, with the keys themselves (``way_key_list``)."""
    if "_way_key" not in graph._columns:
        cols = [graph.meta["attr_names"].index(c) for c in ("name", "class", "subclass")]
        ids: dict[tuple, int] = {}
        per_row = np.array([ids.setdefault(tuple(row[c] for c in cols), len(ids)) for row in graph.meta["attr_table"]])
        graph._columns["_way_key_list"] = list(ids)
        graph._columns["_way_key"] = per_row[graph.edge_attr]
    return graph._columns["_way_key"]


def way_key_list(graph: CompiledGraph) -> list[tuple[str | None, str, str]]:
    """The way keys (name, class, subclass) that ``way_key_ids`` numbers, in their numbers' order."""
    way_key_ids(graph)
    return graph._columns["_way_key_list"]


def pushed_subclasses(profile: str) -> frozenset[str]:
    """Where a rider of ``profile`` gets off the bike: its push subclasses that cost a dismount (steps)."""
    p = get_profile(profile)
    return frozenset(p.dismount_s) & frozenset(p.push_subclasses) if p.rides else frozenset()


def _maneuvers(graph: CompiledGraph, arcs: np.ndarray, points: np.ndarray, offsets: np.ndarray,
               lengths: np.ndarray, leg_sizes: np.ndarray, profile: str, names: Sequence[str | None]) -> list[dict]:
    """The route's maneuvers, ``instructions_for``'s to the bit: the stretches, their bearings and turns found (and
    rounded) in one compiled pass over the pieces (``kernels.rounded_maneuvers``), then one dict per maneuver made
    from lists (a list's item is read far faster than an array's). ``instructions_for`` stays the phone's code and
    this one's specification (``tests/test_request_path.py``)."""
    keys, length, length_r, length_doubt, opens, bearing, modifier, location, location_r, location_doubt = \
        kernels.rounded_maneuvers(arcs, way_key_ids(graph), leg_sizes, lengths, points, offsets, MIN_STRETCH_M,
                                  BEARING_SPAN_M)
    push, mods = pushed_subclasses(profile), kernels.MODIFIERS
    out = [{"type": "turn" if mod else "continue", "modifier": mods[mod], "name": name, "way_class": cls,
            "subclass": sub, "distance_m": metres, "location": at, "push": sub in push}
           for (name, cls, sub), metres, at, mod in zip(map(way_key_list(graph).__getitem__, keys.tolist()),
                                                        _settled(length_r, length_doubt, length, 1).tolist(),
                                                        _settled(location_r, location_doubt, location, 7).tolist(),
                                                        modifier.tolist())]
    out[0]["type"], out[0]["bearing"] = "depart", round(float(bearing[0]), 1)
    places = [*names, *[None] * (len(leg_sizes) + 1 - len(names))]
    for number, k in reversed(list(enumerate(np.flatnonzero(opens).tolist(), start=1))):  # from the last stop,
        at = out[k]                                                                          # so k stays true
        out.insert(k, {"type": "waypoint", "modifier": None, "name": at["name"], "way_class": at["way_class"],
                       "subclass": at["subclass"], "distance_m": 0.0, "location": at["location"], "push": False,
                       "number": number, "place": places[number]})
    lon, lat = points[-1, :2].tolist()
    return out + [{"type": "arrive", "modifier": None, "name": None, "way_class": None, "subclass": None,
                   "distance_m": 0.0, "location": [round(lon, 7), round(lat, 7)], "push": False,
                   "place": places[-1]}]


def build_route(graph: CompiledGraph, weights: ArcWeights, legs: list[Leg], points: list, profile: str, *,
                names: Sequence[str | None] = (), instructions: bool = True) -> Route:
    """Assemble the full result of a path made of legs; ``names`` name its points (start, vias, end) if known.
    Without ``instructions`` (a client re-routing live needs only the line and the figures) none are made."""
    arcs, lo, hi = leg_table(legs)
    leg_sizes = np.array([leg.size for leg in legs], dtype=np.int64)
    types, type_of_edge = way_type_ids(graph)
    lengths, leg_m, leg_s, total, duration, on_cavalier, on_ev5, present, type_m = kernels.piece_figures(
        arcs, lo, hi, graph.edge_length, weights.time_s, leg_sizes, graph.edge_cavalier, graph.edge_ev5, type_of_edge,
        len(types))
    points, offsets, steps = kernels.gather(graph.geom_offsets, graph.geom_points(), vertex_steps(graph), arcs, lo, hi)
    coords, up, down, samples, doubt, raw = kernels.line_and_profile(
        points, steps, settings.PROFILE_STEP_M, _smoothing_window(), settings.CLIMB_HYSTERESIS_M, PROFILE_SAMPLES, 1)
    leg_info = [{"distance_m": round(m, 1), "duration_s": round(t, 1)} for m, t in zip(leg_m.tolist(), leg_s.tolist())]
    return Route(
        profile=profile,
        data_version=graph.data_version,
        coordinates=coords,
        distance_m=total,
        duration_s=duration,
        cost=float(sum(leg.cost_ms for leg in legs)) / 1000.0,
        ascent_m=up,
        descent_m=down,
        elevation_profile=_settled(samples, doubt, raw, 1).tolist(),
        way_types=_named_totals(types, present, type_m),
        cavalier_share=on_cavalier / total if total else 0.0,
        ev5_share=on_ev5 / total if total else 0.0,
        instructions=(_maneuvers(graph, arcs, points, offsets, lengths, leg_sizes, profile, names) if instructions
                      else []),
        legs=leg_info,
        arcs=arcs,
        arc_lengths=lengths,
    )
