"""The routing core that the server and the offline client share: standard library only.

Everything *around* the least-cost search lives here once: the typed values (``Snap``, ``Piece``,
``Leg``), where a search starts and ends on a snapped way (``seeds``), the path along one way
(``direct_leg``), the pieces of a searched path (``searched_leg``), the cut of a partial way
(``cut_line``), the great-circle length, and the round-trip rules (``circle_vias``, ``fit_loop``,
``cancel_spurs``). The server searches with RoutingKit's CCH on numpy arrays, the offline client
with its own search on a bundle's arrays; both hand their search to these functions, so the two
cannot drift. Nothing here imports numpy, Flask or any third-party package: a phone port reads
this module as its specification.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from . import settings

#: osmnx's mean Earth radius (m), so every length agrees with the graph build's.
EARTH_RADIUS_M = 6_371_009.0
#: Fractions closer than this are the same place on a way.
EPS = 1e-9

#: Costs: indexable by arc number (a list, an ``array.array`` or a numpy array).
Costs = Sequence[int]
#: A search: (sources, targets) as (node, initial cost) → (cost, first node, last node, arcs) or None.
Search = Callable[[list[tuple[int, int]], list[tuple[int, int]]], "tuple[int, int, int, list[int]] | None"]


@dataclass(frozen=True)
class Snap:
    """Where a point meets the graph: the way (edge), how far along it from ``u`` (0..1), how far away (m),
    and the projected point."""

    edge: int
    fraction: float
    distance_m: float
    lon: float
    lat: float


class Piece(NamedTuple):
    """Arc ``arc`` travelled from fraction ``lo`` to ``hi`` of its length, in its own direction.

    Arc ``2e`` runs along way ``e`` from ``u`` to ``v``, arc ``2e + 1`` back. A named tuple, immutable like the
    other values here but made in a third of a frozen dataclass's time: a route has hundreds of pieces.
    """

    arc: int
    lo: float
    hi: float


class Leg:
    """A least-cost path between two snapped points: arc pieces and its cost (ms).

    A searched leg keeps the whole arcs the search found as it gave them (``whole``), between its first and last
    pieces (``head``, ``tail``): a route has hundreds of whole arcs, and the server reads them as one array, so a
    ``Piece`` per arc is made only when ``pieces`` is first read (for turn-by-turn, the planners, the phone).
    """

    __slots__ = ("head", "whole", "tail", "cost_ms", "_pieces")

    def __init__(self, pieces: list[Piece], cost_ms: int) -> None:
        self.head: list[Piece] = list(pieces)
        self.whole: Sequence[int] = ()
        self.tail: list[Piece] = []
        self.cost_ms = cost_ms
        self._pieces: list[Piece] | None = self.head

    @classmethod
    def searched(cls, head: Piece, whole: Sequence[int], tail: Piece, cost_ms: int) -> Leg:
        """A leg from its cut first piece, the whole arcs travelled in between, and its cut last piece."""
        leg = cls([head], cost_ms)
        leg.whole, leg.tail, leg._pieces = whole, [tail], None
        return leg

    @property
    def pieces(self) -> list[Piece]:
        """Every piece in order (made once from ``head``, ``whole`` and ``tail``)."""
        if self._pieces is None:
            self._pieces = [*self.head, *(Piece(int(arc), 0.0, 1.0) for arc in self.whole), *self.tail]
        return self._pieces

    @property
    def size(self) -> int:
        """How many pieces the leg has, without making them."""
        return len(self.head) + len(self.whole) + len(self.tail)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Leg) and (self.pieces, self.cost_ms) == (other.pieces, other.cost_ms)

    def __repr__(self) -> str:
        return f"Leg({self.size} pieces, cost_ms={self.cost_ms})"

    def priced(self, cost: Costs) -> Leg:
        """The same path at the cost of ``cost`` (a path searched on penalised costs, at its true cost)."""
        priced = Leg([], int(round(sum(int(cost[p.arc]) * (p.hi - p.lo) for p in self.pieces))))
        priced.head, priced.whole, priced.tail, priced._pieces = self.head, self.whole, self.tail, self._pieces
        return priced


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (m) on the sphere of EARTH_RADIUS_M, the haversine formula."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def seeds(snap: Snap, cost: Costs, edge_u: Sequence[int], edge_v: Sequence[int], *, outgoing: bool,
          inf: int) -> list[tuple[int, int]]:
    """Where a search starts (``outgoing``) or ends at a snapped point: (node, partial cost) at each end of its
    way that the profile may use. Leaving, the point goes on to ``v`` along the way or back to ``u``;
    arriving, it is reached from ``u`` along the way or from ``v`` against it."""
    e, f = snap.edge, snap.fraction
    fwd, back = int(cost[2 * e]), int(cost[2 * e + 1])
    u, v = int(edge_u[e]), int(edge_v[e])
    cands = [(v, fwd, 1 - f), (u, back, f)] if outgoing else [(u, fwd, f), (v, back, 1 - f)]
    return [(node, int(round(w * share))) for node, w, share in cands if w < inf]


def direct_leg(a: Snap, b: Snap, cost: Costs, *, inf: int) -> Leg | None:
    """The path along a single way when both points snap to it (None otherwise or where it may not go)."""
    if a.edge != b.edge:
        return None
    e = a.edge
    arc, lo, hi = (2 * e, a.fraction, b.fraction) if b.fraction >= a.fraction else \
        (2 * e + 1, 1 - a.fraction, 1 - b.fraction)
    if cost[arc] >= inf:
        return None
    return Leg([Piece(arc, lo, hi)], int(round(int(cost[arc]) * (hi - lo))))


def searched_leg(a: Snap, b: Snap, found: tuple[int, int, int, list[int]], edge_u: Sequence[int],
                 edge_v: Sequence[int]) -> Leg:
    """The leg of a search result (cost, first node, last node, whole arcs): the part of ``a``'s way from the
    point to the node the search left from, the arcs, the part of ``b``'s way from the node reached."""
    total, first, last, arcs = found
    ea, eb = a.edge, b.edge
    head = Piece(2 * ea, a.fraction, 1.0) if first == edge_v[ea] else Piece(2 * ea + 1, 1 - a.fraction, 1.0)
    tail = Piece(2 * eb, 0.0, b.fraction) if last == edge_u[eb] else Piece(2 * eb + 1, 0.0, 1 - b.fraction)
    return Leg.searched(head, arcs, tail, int(total))


def best_leg(a: Snap, b: Snap, cost: Costs, search: Search, edge_u: Sequence[int], edge_v: Sequence[int], *,
             inf: int) -> Leg | None:
    """The least-cost leg from ``a`` to ``b``: along their one way, or through the search; None if unreachable."""
    best = direct_leg(a, b, cost, inf=inf)
    sources = seeds(a, cost, edge_u, edge_v, outgoing=True, inf=inf)
    targets = seeds(b, cost, edge_u, edge_v, outgoing=False, inf=inf)
    if sources and targets:
        found = search(sources, targets)
        if found is not None and (best is None or found[0] < best.cost_ms):
            best = searched_leg(a, b, found, edge_u, edge_v)
    return best


def cut_line(points: Sequence[Sequence[float]], lo: float, hi: float) -> list[tuple[float, ...]]:
    """The part of a (lon, lat, …) polyline between two fractions of its great-circle length, the values after
    lon and lat (elevation) interpolated along."""
    if lo <= 0.0 and hi >= 1.0:
        return list(points)
    pts = [tuple(p) for p in points]
    cum = [0.0]
    for p, q in zip(pts, pts[1:]):
        cum.append(cum[-1] + haversine_m(p[0], p[1], q[0], q[1]))
    total = cum[-1] if cum[-1] > 0 else 1.0
    a, b = lo * total, hi * total
    return [_at(pts, cum, a), *(p for p, c in zip(pts, cum) if a < c < b), _at(pts, cum, b)]


def join_lines(chunks: Sequence[Sequence[Sequence[float]]]) -> list[tuple[float, ...]]:
    """Consecutive stretches of (lon, lat, …) points as one line, without repeating the points they share."""
    out: list[tuple[float, ...]] = []
    for chunk in chunks:
        for q in chunk:
            if not out or abs(out[-1][0] - q[0]) > 1e-9 or abs(out[-1][1] - q[1]) > 1e-9:
                out.append(tuple(q))
    return out


def _at(pts: list[tuple[float, ...]], cum: list[float], d: float) -> tuple[float, ...]:
    """The point at ``d`` metres along a polyline whose cumulative lengths are ``cum``."""
    i = next((k for k, c in enumerate(cum) if c >= d), len(cum) - 1)
    if i == 0:
        return pts[0]
    span = cum[i] - cum[i - 1]
    t = (d - cum[i - 1]) / span if span > 0 else 0.0
    return tuple(p + t * (q - p) for p, q in zip(pts[i - 1], pts[i]))


# -- travel time ------------------------------------------------------------------------------------------


class _Scalar:
    """The few numpy functions the speed models use, for plain floats: the models below run on numpy arrays on the
    server (``xp=numpy``) and on single arcs on the phone, one formula for both."""

    exp = staticmethod(math.exp)
    abs = staticmethod(abs)
    minimum = staticmethod(min)
    maximum = staticmethod(max)

    @staticmethod
    def where(cond, a, b):
        return a if cond else b


SCALAR = _Scalar()


def speed_kmh(model: str, params: dict, grade, xp=SCALAR):
    """Travel speed on a grade (rise over run, signed) by a profile's speed model: ``tobler`` (walking and running)
    or the cycling model (slower uphill, faster downhill up to a cap)."""
    if model == "tobler":
        return xp.minimum(6.0 * xp.exp(-3.5 * xp.abs(grade + 0.05)) * params["scale"], params["max_kmh"])
    up = params["flat_kmh"] / (1.0 + params["uphill"] * xp.maximum(grade, 0))
    down = xp.minimum(params["max_downhill_kmh"], params["flat_kmh"] * (1.0 + params["downhill"] *
                                                                         xp.maximum(-grade, 0)))
    return xp.where(grade >= 0, up, down)


def walk_kmh(params: dict, grade, xp=SCALAR):
    """Speed when the rider gets off and pushes: Tobler, capped at ``walk_kmh``."""
    return xp.minimum(6.0 * xp.exp(-3.5 * xp.abs(grade + 0.05)), params.get("walk_kmh", 5.0))


def split_time_s(length, up, down, speed: Callable, xp=SCALAR):
    """Seconds to travel a way whose climbing and descending share its length in proportion."""
    relief = up + down
    l_up = xp.where(relief > 0, length * up / xp.maximum(relief, 1e-9), 0.0)
    l_down = length - l_up
    g_up = xp.where(l_up > 0, up / xp.maximum(l_up, 1e-9), 0.0)
    g_down = xp.where(l_down > 0, -down / xp.maximum(l_down, 1e-9), 0.0)
    return 3.6 * (l_up / speed(g_up) + l_down / speed(g_down))


# -- round trips ----------------------------------------------------------------------------------

#: The road distance of a loop over its circle's perimeter, to size the first try.
ROAD_FACTOR = 1.25
MIN_LOOP_M, MAX_LOOP_M = 1000.0, 300_000.0
#: Metres per degree of latitude on the sphere of EARTH_RADIUS_M.
M_PER_DEG = math.radians(1) * EARTH_RADIUS_M


def first_heading(seed: int) -> float:
    """The heading (radians) of a request's first loop: the same seed gives the same loop everywhere."""
    return random.Random(seed).uniform(0, 2 * math.pi)


def loop_heading(first: float, k: int, count: int) -> float:
    """The heading of try ``k`` for ``count`` loops: evenly spread, then shifted for the extra tries."""
    return first + k * 2 * math.pi / count + (k // count) * math.pi / (2 * count)


def circle_vias(lon: float, lat: float, radius_m: float, heading: float) -> list[tuple[float, float]]:
    """Three points on the circle of ``radius_m`` through the start whose centre lies towards ``heading``
    (radians from north), at a quarter, half and three quarters of the way round: GraphHopper's loop shape.
    Local metres around the start are exact enough for circles of a few tens of km."""
    kx = M_PER_DEG * math.cos(math.radians(lat))
    back = heading + math.pi  # the start's angle seen from the centre
    cx, cy = radius_m * math.sin(heading), radius_m * math.cos(heading)
    return [(lon + (cx + radius_m * math.sin(back + a)) / kx, lat + (cy + radius_m * math.cos(back + a)) / M_PER_DEG)
            for a in (math.pi / 2, math.pi, 3 * math.pi / 2)]


def fit_loop(route_through: Callable[[list[tuple[float, float]]], list[Piece] | None],
             length_of: Callable[[list[Piece]], float], start: tuple[float, float], target_m: float,
             heading: float, *, give_up: Callable[[], bool] = lambda: False) -> tuple[float, list[Piece], int] | None:
    """The loop rules: refit the circle's radius until the loop's length is within tolerance.

    ``route_through(vias)`` routes start → vias → start (each leg avoiding the ways of the earlier ones, spurs
    cancelled) and gives its pieces, or None where a via cannot be reached. Returns the best try as (relative
    length error, pieces, tries), or None if no try gave a loop. The tries are a fixed number
    (``settings.LOOP_TRIES``), so the result is the same on any machine; ``give_up`` is only a safety net.
    """
    radius = target_m / (2 * math.pi * ROAD_FACTOR)
    best: tuple[float, list[Piece], int] | None = None
    for tries in range(1, settings.LOOP_TRIES + 1):
        pieces = route_through(circle_vias(*start, radius, heading))
        if pieces:
            length = length_of(pieces)
            err = abs(length / target_m - 1)
            if best is None or err < best[0]:
                best = (err, pieces, tries)
            if err <= settings.LOOP_TOLERANCE / 2:
                break
            radius *= min(2.0, max(0.5, target_m / length))
            if tries >= settings.LOOP_TRIES // 2:
                heading += 0.2  # the radius alone oscillates: vary the shape a little too
        else:
            heading += 0.35  # the circle ran off the map or into a dead area: turn a little
        if give_up():
            break
    return best


def _merge(a: Piece, b: Piece) -> Piece | None:
    """``a`` followed by ``b`` going back along the same way: what remains of the pair (None: nothing)."""
    back_to = 1.0 - b.hi  # where b stops, in a's frame
    if back_to > a.lo + EPS:
        return Piece(a.arc, a.lo, back_to)
    if back_to < a.lo - EPS:
        return Piece(a.arc ^ 1, 1.0 - a.lo, b.hi)
    return None


def cancel_spurs(pieces: list[Piece]) -> list[Piece]:
    """Remove every out-and-back: a piece followed by the same way travelled back is cut to its net part."""
    out: list[Piece] = []
    for p in pieces:
        if p.hi - p.lo <= EPS:
            continue
        while out and p is not None and out[-1].arc == p.arc ^ 1 and abs((1.0 - out[-1].hi) - p.lo) < 1e-6:
            p = _merge(out.pop(), p)
        if p is not None:
            out.append(p)
    return out


def count_spurs(pieces: list[Piece]) -> int:
    """How many times the path turns back on the way it just came along."""
    return sum(1 for a, b in zip(pieces[:-1], pieces[1:]) if a.arc == b.arc ^ 1)


def pieces_length_m(edge_length: Sequence[float], pieces: list[Piece]) -> float:
    """Length (m) of a path of pieces, from the ways' lengths."""
    return float(sum(float(edge_length[p.arc >> 1]) * (p.hi - p.lo) for p in pieces))


def ways_of(pieces: list[Piece]) -> list[int]:
    """The ways (edges) a path uses, each once, in increasing order."""
    return sorted({p.arc >> 1 for p in pieces})


# -- climbing -------------------------------------------------------------------------------------------


def hysteresis_walk(z: Sequence[float], threshold: float, sofar: list[tuple[float, float]] | None) -> tuple[float,
                                                                                                          float]:
    """Ascent and descent between the turning points of a profile that reverse by at least ``threshold``, each climb
    counted whole; into ``sofar`` (when given) the ascent and descent reached at each sample."""
    if len(z) < 2:
        return 0.0, 0.0
    up = down = 0.0
    turn = extreme = float(z[0])  # the last turning point, and the farthest point reached since it
    trend = 0  # +1 climbing, -1 descending, 0 until the profile first moves by the threshold
    for value in z:
        if trend == 0:
            if abs(value - turn) >= threshold:
                trend, extreme = (1 if value > turn else -1), value
        elif (value - extreme) * trend > 0:  # further the same way
            extreme = value
        elif abs(value - extreme) >= threshold:  # a reversal: the climb or descent to ``extreme`` counts whole
            if trend > 0:
                up += extreme - turn
            else:
                down += turn - extreme
            turn, extreme, trend = extreme, value, -trend
        if sofar is not None:
            sofar.append((up + (extreme - turn if trend > 0 else 0.0), down + (turn - extreme if trend < 0 else 0.0)))
    if trend > 0:
        up += extreme - turn
    elif trend < 0:
        down += turn - extreme
    return float(up), float(down)


def _interp(x: list[float], xp: Sequence[float], fp: Sequence[float]) -> list[float]:
    """Linear interpolation of increasing ``x`` in the increasing table ``xp`` → ``fp`` (as numpy's ``interp``)."""
    out, j, last = [], 0, len(xp) - 1
    for v in x:
        while j < last - 1 and xp[j + 1] <= v:
            j += 1
        if v <= xp[0]:
            out.append(float(fp[0]))
        elif v >= xp[last]:
            out.append(float(fp[last]))
        else:
            slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
            out.append(slope * (v - xp[j]) + fp[j])
    return out


def smoothed_climbs(dist: Sequence[float], ele: Sequence[float]) -> tuple[float, float, list[float], list[float]]:
    """Ascent and descent of a profile (cumulative metres, elevations) after resampling every PROFILE_STEP_M, a
    moving average over SMOOTH_WINDOW_M and a hysteresis of CLIMB_HYSTERESIS_M: ``routing.route.smoothed_climbs``
    in plain Python. Returns (ascent, descent, the sample distances, the smoothed elevations)."""
    if len(dist) < 2 or dist[-1] <= 0:
        return 0.0, 0.0, list(dist), list(ele)
    step, end = settings.PROFILE_STEP_M, float(dist[-1])
    grid = [k * step for k in range(math.ceil(end / step))]
    if grid[-1] < end:
        grid.append(end)
    z = _interp(grid, dist, ele)
    window = max(1, int(round(settings.SMOOTH_WINDOW_M / step)))
    if window > 1 and len(z) > window:
        pad = [z[0]] * (window // 2) + z + [z[-1]] * (window - 1 - window // 2)
        z = [sum(run) / window for run in zip(*(pad[k:] for k in range(window)))]
    up, down = hysteresis_walk(z, settings.CLIMB_HYSTERESIS_M, None)
    return up, down, grid, z


def profile_samples(grid: Sequence[float], z: Sequence[float], max_samples: int = 300) -> list[list[float]]:
    """At most ``max_samples`` [distance m, elevation m] pairs of a smoothed profile, its last sample always kept."""
    step = max(1, math.ceil(len(grid) / max_samples))
    idx = list(range(0, len(grid), step))
    if idx[-1] != len(grid) - 1:
        idx.append(len(grid) - 1)
    return [[round(float(grid[i]), 1), round(float(z[i]), 1)] for i in idx]


def cumulative_m(points: Sequence[Sequence[float]]) -> list[float]:
    """Great-circle distance (m) from the first point to each point of a (lon, lat, …) line: ``haversine_m`` with
    each point's latitude turned to radians once."""
    out = [0.0]
    if not points:
        return []
    rad = math.radians
    lat1, lon1 = rad(points[0][1]), points[0][0]
    cos1 = math.cos(lat1)
    total = 0.0
    for q in points[1:]:
        lat2 = rad(q[1])
        cos2 = math.cos(lat2)
        h = math.sin((lat2 - lat1) / 2) ** 2 + cos1 * cos2 * math.sin(rad(q[0] - lon1) / 2) ** 2
        total += 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))
        out.append(total)
        lat1, lon1, cos1 = lat2, q[0], cos2
    return out
