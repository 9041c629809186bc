"""Themed circuits on demand: from a start, within a distance budget, visit the most valuable of a set of places.

It is the terril trail's prize-collecting circuit (``trail.solve_prize_circuit``) with other prizes:
every candidate place is an optional node with its value, any number may be visited, the length
stays within the budget, and the summed value is maximised first, the profile's cost second. The
places and their values are the caller's (the API takes them from the POI catalogue by theme);
``greedy_within`` is the baseline it is measured against, by value per metre added.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import geo, settings
from ..engine import Engine
from ..errors import ImpossibleTarget
from ..profiles import get_profile
from ..route import Route
from .matrix import UNREACHABLE, cost_matrix
from .tour import Stop
from .trail import leg_lengths, solve_prize_circuit, sparse_arcs

#: One point of value outweighs this many seconds of the profile's cost: value first, then the nicer ways.
VALUE_WEIGHT = 100_000
#: The model keeps at most this many candidates, the most valuable first, then the nearest to the start.
MAX_CANDIDATES = 40


@dataclass(frozen=True)
class Prize:
    """A place a circuit may visit, and what visiting it is worth (a positive integer)."""

    stop: Stop
    value: int


@dataclass
class PrizeCircuit:
    """A planned circuit: the places visited in order with their values and km, its route, the solver's word."""

    route: Route
    visited: list[Prize]
    visited_km: list[float]
    budget_m: float
    optimal: bool
    deadline_hit: bool = False
    greedy_value: int = 0  # the baseline's value and length (m) on the same candidates and legs
    greedy_m: float = 0.0

    @property
    def value(self) -> int:
        return sum(p.value for p in self.visited)


def reachable(prizes: list[Prize], start: Stop, finish: Stop, budget_m: float) -> list[Prize]:
    """The prizes a circuit of ``budget_m`` can reach (start → prize → finish, crow-fly, within the budget), best
    first, at most MAX_CANDIDATES."""
    if not prizes:
        return []
    x, y = geo.to_metric(np.array([p.stop.lon for p in prizes]), np.array([p.stop.lat for p in prizes]))
    sx, sy = geo.to_metric(start.lon, start.lat)
    fx, fy = geo.to_metric(finish.lon, finish.lat)
    reach = np.hypot(x - sx, y - sy) + np.hypot(x - fx, y - fy)
    inside = [i for i in np.argsort(reach, kind="stable") if reach[i] <= budget_m]
    best = sorted(inside, key=lambda i: (-prizes[i].value, reach[i]))[:MAX_CANDIDATES]
    return [prizes[i] for i in sorted(best)]


def greedy_within(dist: np.ndarray, fixed: int, values: list[int], budget_m: float, loop: bool) -> list[int]:
    """The baseline: insert, one by one, the place of most value per metre added, while the circuit fits."""
    seq = list(range(fixed)) + ([0] if loop else [])
    length = sum(int(dist[a, b]) for a, b in zip(seq[:-1], seq[1:]))
    free = set(range(fixed, len(dist)))
    while free:
        best = None
        for c in sorted(free):
            for k in range(1, len(seq)):
                a, b = seq[k - 1], seq[k]
                if UNREACHABLE in (dist[a, c], dist[c, b]):
                    continue
                added = int(dist[a, c]) + int(dist[c, b]) - int(dist[a, b])
                if length + added > budget_m:
                    continue
                score = values[c - fixed] / max(added, 1)
                if best is None or score > best[0]:
                    best = (score, c, k, added)
        if best is None:
            break
        _, c, k, added = best
        seq.insert(k, c)
        length += added
        free.discard(c)
    return seq


def plan_prize_circuit(engine: Engine, start: Stop, prizes: list[Prize], budget_m: float, profile: str = "bike",
                       finish: Stop | None = None, *, must: list[Prize] | None = None,
                       time_limit_s: float = settings.TRAIL_REQUEST_LIMIT_S, workers: int = 2) -> PrizeCircuit:
    """The circuit from ``start`` (back, or to ``finish``) through every ``must`` place, at most ``budget_m``
    long, that visits the most valuable ``prizes`` (the must places count in its value too).

    Raises ImpossibleTarget (field ``distance_km``) when the budget cannot hold even the fixed points, or no
    prize fits in it.
    """
    get_profile(profile)
    must = must or []
    fixed = [start, *(p.stop for p in must)] + ([finish] if finish else [])
    taken = {(p.stop.lon, p.stop.lat) for p in must}
    snaps = engine.snap([(start.lon, start.lat)], field="start")
    snaps += engine.snap([(p.stop.lon, p.stop.lat) for p in must], field="must_visit") if must else []
    snaps += engine.snap([(finish.lon, finish.lat)], field="end") if finish else []
    if not prizes:
        raise ImpossibleTarget("these themes hold no place", field="themes")
    cands = reachable([p for p in prizes if (p.stop.lon, p.stop.lat) not in taken], start, finish or start, budget_m)
    if not cands:
        raise ImpossibleTarget(f"no place of these themes lies within reach of a {budget_m / 1000:g} km circuit "
                               "from here; ask for a longer one", field="distance_km")
    snaps += engine.snap([(p.stop.lon, p.stop.lat) for p in cands], field="themes")
    n_fixed = len(fixed)
    cost = cost_matrix(engine, snaps, profile)
    arcs = sparse_arcs(cost, n_fixed, settings.TRAIL_NEIGHBOURS)
    dist = leg_lengths(engine, snaps, profile, arcs)
    values = [p.value for p in cands]
    hint = greedy_within(dist, n_fixed, values, budget_m, finish is None)
    if sum(int(dist[a, b]) for a, b in zip(hint[:-1], hint[1:])) > budget_m:
        raise ImpossibleTarget(f"a {budget_m / 1000:g} km circuit cannot even join the start to the places it must "
                               "visit", field="distance_km")
    found = solve_prize_circuit(dist, cost, n_fixed, values, None, 0, int(budget_m), finish is None, time_limit_s,
                                workers, hint, prize_weight=VALUE_WEIGHT, length_weight=0)
    if found is None or not set(found[0]) - set(range(n_fixed)) and not must:
        raise ImpossibleTarget(f"no place of these themes fits in a {budget_m / 1000:g} km circuit from here; "
                               "ask for a longer one or other themes", field="distance_km")
    seq, optimal, fired = found
    points = [(fixed[i].lon, fixed[i].lat) if i < n_fixed else (cands[i - n_fixed].stop.lon,
                                                                 cands[i - n_fixed].stop.lat) for i in seq]
    names = [fixed[i].name if i < n_fixed else cands[i - n_fixed].stop.name for i in seq]
    route = engine.route_through([snaps[i] for i in seq], points, profile, names=names)
    ends = route.leg_ends_km()
    by_node = {1 + k: p for k, p in enumerate(must)} | {n_fixed + k: p for k, p in enumerate(cands)}
    visited = [(by_node[i], ends[k]) for k, i in enumerate(seq[1:]) if i in by_node]
    greedy_m = float(sum(int(dist[a, b]) for a, b in zip(hint[:-1], hint[1:])))
    return PrizeCircuit(route, [v for v, _ in visited], [km for _, km in visited], budget_m, optimal, fired,
                        sum(values[i - n_fixed] for i in hint if i >= n_fixed), greedy_m)
