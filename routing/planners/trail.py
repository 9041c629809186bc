"""Trail-running courses that climb N distinct terril summits within a distance budget.

The choice of terrils and their order is one prize-collecting circuit problem, solved by CP-SAT:
every candidate summit is an optional node of the circuit, exactly N are visited, the length
stays within TRAIL_TOLERANCE of the target, and the summed relief of the terrils climbed (summit
minus rim, from the graph's terril table) is maximised; the profile's cost breaks ties, so paths
are preferred. To keep the model small, each node keeps arcs to its TRAIL_NEIGHBOURS cheapest
others (and the start, finish and vias to all); the length of each kept arc is that of the very
leg the engine will route, so the routed course has the length the solver planned.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from .. import geo, settings
from ..engine import Engine
from ..errors import ImpossibleTarget
from ..profiles import get_profile
from ..progress import Progress, silent
from ..route import Route, cumulative_distance
from ..snap import Snap
from .matrix import UNREACHABLE, cost_matrix
from .order import circuit_arcs, cp_solver, follow, safety_net_fired
from .pieces import length_m
from .tour import Stop

#: A summit counts as climbed if the course passes within this distance of it.
SUMMIT_SNAP_M = 150.0
#: Two summits whose points on the graph are closer than this are one climb.
DISTINCT_SUMMIT_M = 100.0
#: Objective weight of one metre of relief against one second of profile cost.
RELIEF_WEIGHT = 100
#: Objective cost of each metre the course is off its target length, short or over (at 5, short only, 1 m of
#: relief outweighed 20 m of distance, and a 110 km course came out at 102.7 km).
LENGTH_WEIGHT = 20


@dataclass
class TrailCourse:
    """A course, the summits it climbs in order (with km marks) and its figures."""

    route: Route
    summits: list[dict]
    target_m: float
    solve_s: float
    optimal: bool
    deadline_hit: bool = False  # the wall-clock safety net, not the deterministic budget, ended the solve

    def summary(self) -> dict:
        return {**self.route.summary(), "target_m": self.target_m, "terrils": len(self.summits),
                "summits": self.summits, "optimal": self.optimal, "deadline_hit": self.deadline_hit}


@dataclass
class _Candidates:
    terrils: list[dict]
    snaps: list[Snap]


def candidate_terrils(engine: Engine, start: Stop, finish: Stop, distance_m: float, limit: int) -> _Candidates:
    """Terril summits within reach of the budget (crow-fly), the highest reliefs first, snapped to the graph."""
    table = [t for t in engine.graph.meta["terrils"] if t.get("summit_lon") is not None]
    lon = np.array([t["summit_lon"] for t in table])
    lat = np.array([t["summit_lat"] for t in table])
    x, y = geo.to_metric(lon, lat)
    sx, sy = geo.to_metric(start.lon, start.lat)
    fx, fy = geo.to_metric(finish.lon, finish.lat)
    # a course that strings several summits rarely goes farther out than a third of its length
    # (or, point to point, not much farther off the straight line than the finish is from the start)
    limit_m = max(distance_m * settings.TRAIL_REACH_SHARE, 1.2 * float(np.hypot(fx - sx, fy - sy)))
    reach = np.hypot(x - sx, y - sy) + np.hypot(x - fx, y - fy) <= limit_m
    snaps = engine.snapper.snap_many(lon, lat)
    order = sorted((i for i in np.flatnonzero(reach) if snaps[i].distance_m <= SUMMIT_SNAP_M
                    and terril_relief(table[i]) >= settings.TRAIL_MIN_RELIEF_M
                    and _reaches_the_top(engine, snaps[i], table[i])), key=lambda i: -terril_relief(table[i]))
    px, py = geo.to_metric(np.array([s.lon for s in snaps]), np.array([s.lat for s in snaps]))
    keep: list[int] = []
    for i in order:  # twin terrils whose summits meet the graph at one spot count once
        if all(np.hypot(px[i] - px[k], py[i] - py[k]) > DISTINCT_SUMMIT_M for k in keep):
            keep.append(i)
        if len(keep) == limit:
            break
    return _Candidates([table[i] for i in keep], [snaps[i] for i in keep])


def _reaches_the_top(engine: Engine, snap: Snap, t: dict) -> bool:
    """Whether the way nearest the summit climbs most of the terril (TRAIL_CLIMB_SHARE of its relief).

    A path along the foot, 140 m from the top, is near the summit but climbs nothing: a course through it
    would count a terril its runners never climbed.
    """
    g = engine.graph
    pts = g.geom_points()[g.geom_offsets[snap.edge]:g.geom_offsets[snap.edge + 1]]  # the way's own vertices
    along = cumulative_distance(pts)
    z = float(np.interp(snap.fraction * along[-1], along, pts[:, 2]))
    rim = t.get("rim_m") or 0.0
    return bool(z >= rim + settings.TRAIL_CLIMB_SHARE * (t["summit_m"] - rim))


def terril_relief(t: dict) -> int:
    """A terril's relief (m): its summit above its rim, at least 1; what a trail course collects, and reports."""
    return max(1, int(round((t.get("summit_m") or 0) - (t.get("rim_m") or 0))))


def greedy_course(cost: np.ndarray, fixed: int, prizes: list[int], n_terrils: int, loop: bool) -> list[int]:
    """A first course for the solver's hint: insert, one by one, the summit of most relief per second added."""
    seq = list(range(fixed)) + ([0] if loop else [])
    free = set(range(fixed, len(cost)))
    while len(seq) - fixed - loop < n_terrils and free:
        best = None
        for c in free:
            for k in range(1, len(seq)):
                added = int(cost[seq[k - 1], c]) + int(cost[c, seq[k]]) - int(cost[seq[k - 1], seq[k]])
                score = added / prizes[c - fixed]
                if best is None or score < best[0]:
                    best = (score, c, k)
        _, c, k = best
        seq.insert(k, c)
        free.discard(c)
    return seq


def solve_prize_circuit(dist: np.ndarray, cost: np.ndarray, fixed: int, prizes: list[int], n_terrils: int | None,
                        lo: int, hi: int, loop: bool, time_limit_s: float, workers: int,
                        hint: list[int] | None = None, *, prize_weight: int = RELIEF_WEIGHT,
                        length_weight: int = LENGTH_WEIGHT) -> tuple[list[int], bool, bool] | None:
    """(node sequence from 0 through all ``fixed`` nodes (1..fixed-1) and ``n_terrils`` optional ones, optimal,
    safety net fired), or None. With ``n_terrils`` None, any number of optional nodes is visited (a themed
    circuit collects what its budget allows); ``length_weight`` 0 drops the pull towards the band's middle."""
    n = len(dist)
    finish = None if loop else fixed - 1
    lengths = circuit_arcs(dist, finish, loop)  # the closing arc finish → 0 is free
    model = cp_model.CpModel()
    lits = {k: model.new_bool_var("") for k in lengths}
    visit = [model.new_bool_var("") for _ in range(n)]
    model.add(sum(visit[:fixed]) == fixed)
    if n_terrils is not None:
        model.add(sum(visit[fixed:]) == n_terrils)
    model.add_circuit([(i, i, visit[i].Not()) for i in range(n)] + [(i, j, lit) for (i, j), lit in lits.items()])
    length = sum(m * lits[k] for k, m in lengths.items())
    model.add(length <= hi)
    # a soft lower bound at the target itself (a hard one starves the search); from the band's lower edge, the
    # solver stopped right there, since every metre more costs time: a 110 km course came out at 104.5 km
    target = (lo + hi) // 2
    short = model.new_int_var(0, max(target, 0), "short")
    model.add(short >= target - length)
    over = model.new_int_var(0, max(hi - target, 0), "over")  # else the relief prize drives every course to hi
    model.add(over >= length - target)
    secs = sum(int(cost[k] // 1000) * lit for k, lit in lits.items() if lengths[k])
    model.maximize(prize_weight * sum(p * visit[fixed + i] for i, p in enumerate(prizes)) - secs
                   - length_weight * (short + over))
    if hint:
        used = set(zip(hint[:-1], hint[1:])) | {(finish, 0)}
        for k, lit in lits.items():
            model.add_hint(lit, k in used)
        for i, v in enumerate(visit):
            model.add_hint(v, i in hint)
    solver = cp_solver(time_limit_s, workers)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    seq = follow({i: j for (i, j), lit in lits.items() if solver.value(lit)}, n, finish)
    return seq + ([0] if loop else []), status == cp_model.OPTIMAL, safety_net_fired(solver, status)


def trail_candidates(engine: Engine, start: Stop, distance_m: float, n_terrils: int, *, profile: str = "trail",
                     finish: Stop | None = None, via: list[Stop] | None = None) -> tuple[list[Snap], _Candidates]:
    """(the fixed stops snapped, the candidate terrils) of a course: what ``plan_trail`` checks before any search.

    It costs milliseconds, so a server that hands the solve to a worker calls it first and refuses an
    impossible course at once rather than through a failed job.

    Raises:
        UnknownProfile, OutOfArea, TooFarFromRoad, ImpossibleTarget (``terrils`` when too few summits lie within
        reach).
    """
    get_profile(profile)
    if n_terrils < 1:
        raise ImpossibleTarget(f"a trail course climbs at least 1 terril, not {n_terrils}", field="terrils")
    if not distance_m > 0:
        raise ImpossibleTarget(f"the distance must be positive, not {distance_m:g} m")
    via = via or []
    fixed_snaps = engine.snap([(start.lon, start.lat)], field="start")
    fixed_snaps += engine.snap([(s.lon, s.lat) for s in via], field="via") if via else []
    fixed_snaps += engine.snap([(finish.lon, finish.lat)], field="finish") if finish else []
    cands = candidate_terrils(engine, start, finish or start, distance_m, settings.TRAIL_CANDIDATES)
    if len(cands.terrils) < n_terrils:
        raise ImpossibleTarget(f"only {len(cands.terrils)} terril summits lie within reach of a "
                               f"{distance_m / 1000:g} km course from here; {n_terrils} were asked for",
                               field="terrils")
    return fixed_snaps, cands


def plan_trail(engine: Engine, start: Stop, distance_m: float, n_terrils: int, profile: str = "trail",
               finish: Stop | None = None, via: list[Stop] | None = None, *,
               time_limit_s: float = settings.TRAIL_TIME_LIMIT_S, workers: int = 2,
               progress: Progress = silent) -> TrailCourse:
    """A course from ``start`` (to ``finish``, else back) through ``via``, of about ``distance_m``, over N terrils.

    ``progress(stage, share)`` is told each stage as it starts (``costs``, ``solving``, ``routing``) with the
    share of the work done before it, for a job's status; the solve is most of the time.
    """
    t0 = time.monotonic()
    via = via or []
    fixed_stops = [start, *via] + ([finish] if finish else [])
    fixed_snaps, cands = trail_candidates(engine, start, distance_m, n_terrils, profile=profile, finish=finish,
                                          via=via)
    progress("costs", 0.02)
    snaps = fixed_snaps + cands.snaps
    cost = cost_matrix(engine, snaps, profile)
    prizes = [terril_relief(t) for t in cands.terrils]
    hint = greedy_course(cost, len(fixed_snaps), prizes, n_terrils, finish is None)
    arcs = sorted(set(sparse_arcs(cost, len(fixed_snaps), settings.TRAIL_NEIGHBOURS)) | set(zip(hint[:-1], hint[1:])))
    dist = leg_lengths(engine, snaps, profile, arcs)
    lo = int(distance_m * (1 - settings.TRAIL_TOLERANCE))
    hi = int(distance_m * (1 + settings.TRAIL_TOLERANCE))
    progress("solving", 0.1)
    # the budget is deterministic work, whatever the time already spent: the same request gives the same course
    found = solve_prize_circuit(dist, cost, len(fixed_snaps), prizes, n_terrils, lo, hi, finish is None, time_limit_s,
                                workers, hint)
    if found is None or sum(dist[a, b] for a, b in zip(found[0][:-1], found[0][1:])) < lo:
        raise ImpossibleTarget(f"no course of {distance_m / 1000:g} km (±{settings.TRAIL_TOLERANCE:.0%}) climbing "
                               f"{n_terrils} terrils was found from here", field="distance_m")
    seq, optimal, fired = found
    progress("routing", 0.95)
    route = engine.route_through([snaps[i] for i in seq], [_point(fixed_stops, cands, i) for i in seq], profile,
                                 names=[_name(fixed_stops, cands, i) for i in seq])
    return TrailCourse(route, _summits(route, seq, len(fixed_snaps), cands), distance_m, time.monotonic() - t0,
                       optimal, fired)


def sparse_arcs(cost: np.ndarray, n_fixed: int, neighbours: int) -> list[tuple[int, int]]:
    """The arcs the model keeps: each node to its cheapest ``neighbours``, and every arc touching a fixed node."""
    n = len(cost)
    keep = set()
    for i in range(n):
        order = [j for j in np.argsort(cost[i]) if j != i and cost[i, j] < UNREACHABLE]
        keep.update((i, int(j)) for j in order[:neighbours])
        for j in range(n):
            if (i < n_fixed or j < n_fixed) and i != j and cost[i, j] < UNREACHABLE:
                keep.add((i, j))
    return sorted(keep)


def leg_lengths(engine: Engine, snaps: list[Snap], profile: str, arcs: list[tuple[int, int]]) -> np.ndarray:
    """Metres of the engine's own least-cost leg for each kept arc; UNREACHABLE elsewhere."""
    out = np.full((len(snaps), len(snaps)), UNREACHABLE, dtype=np.int64)
    query = engine.query(profile)
    for i, j in arcs:
        leg = engine.leg(snaps[i], snaps[j], profile, query)
        if leg is not None:
            out[i, j] = int(round(length_m(engine.graph, leg.pieces)))
    return out


def _point(fixed: list[Stop], cands: _Candidates, i: int) -> tuple[float, float]:
    if i < len(fixed):
        return fixed[i].lon, fixed[i].lat
    t = cands.terrils[i - len(fixed)]
    return t["summit_lon"], t["summit_lat"]


def _name(fixed: list[Stop], cands: _Candidates, i: int) -> str | None:
    """The name of a course point: the stop's, or the terril's ("Terril T074" where it has no usual name)."""
    if i < len(fixed):
        return fixed[i].name
    t = cands.terrils[i - len(fixed)]
    return t.get("name") or f"Terril {t['number']}"


def _summits(route: Route, seq: list[int], n_fixed: int, cands: _Candidates) -> list[dict]:
    """Each summit climbed, in course order, with its height, relief and km mark."""
    marks = route.leg_ends_km()
    out = []
    for leg, node in enumerate(seq[1:]):
        if node >= n_fixed:
            t = cands.terrils[node - n_fixed]
            out.append({"number": t["number"], "name": t.get("name"), "height_m": round(t["summit_m"], 1),
                        "relief_m": terril_relief(t), "lon": t["summit_lon"], "lat": t["summit_lat"],
                        "km": marks[leg]})
    return out


