"""Round trips: up to LOOP_MAX different loops of a target length from a start, reproducible by seed.

Loops are routed through three via points on a circle that passes through the start (the shape
GraphHopper's round trips use), with two fixes for what users complain about in such planners:
each leg is searched with the ways of the earlier legs penalised, so the loop does not come back
the way it went; and the circle's radius is refitted from the measured length until the loop is
within LOOP_TOLERANCE of the target. Out-and-back spurs to a via point are cut off.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import routingkit_cch as rk

from .. import settings
from ..core import MAX_LOOP_M, MIN_LOOP_M, Leg, Snap, first_heading, fit_loop, loop_heading
from ..engine import Engine
from ..errors import ImpossibleTarget, PlannerTimeout
from ..profiles import INF_WEIGHT, get_profile
from ..route import Route, build_route
from .pieces import cancel_spurs, count_spurs, length_m, reused_share, ways_of


@dataclass
class Loop:
    """A round trip and its quality figures."""

    route: Route
    target_m: float
    heading_deg: float
    reused_share: float
    spurs: int
    tries: int
    deadline_hit: bool = False  # the wall-clock safety net cut the tries short: the result may vary by machine

    @property
    def length_error(self) -> float:
        return self.route.distance_m / self.target_m - 1.0

    def summary(self) -> dict:
        return {**self.route.summary(), "target_m": self.target_m, "length_error": round(self.length_error, 4),
                "reused_share": round(self.reused_share, 4), "spurs": self.spurs,
                "heading_deg": round(self.heading_deg, 1)}


def loop_costs(engine: Engine, profile: str, green: bool) -> np.ndarray:
    """The profile's arc costs; ``green`` makes cavaliers and the EV5 cheaper still (LOOP_GREEN_FACTOR)."""
    cost = engine.weights(profile).cost_ms
    if not green:
        return cost
    g = engine.graph
    flagged = np.repeat(g.edge_cavalier | g.edge_ev5, 2) & (cost < INF_WEIGHT)
    out = cost.copy()
    out[flagged] = np.maximum(1, (out[flagged] * settings.LOOP_GREEN_FACTOR).astype(np.int64))
    return out


class Penalised:
    """A private CCH metric whose arcs can be penalised and restored cheaply (partial customisation)."""

    def __init__(self, engine: Engine, cost: np.ndarray) -> None:
        self.engine, self.base = engine, cost
        self.cost = cost.copy()
        self.metric = engine.custom_metric(cost)
        self.updater = rk.CCHMetricPartialUpdater(engine.cch)
        self.touched: set[int] = set()

    def penalise(self, arcs: np.ndarray, factor: float) -> None:
        arcs = arcs[self.base[arcs] < INF_WEIGHT]
        new = np.minimum(INF_WEIGHT - 1, (self.base[arcs] * factor).astype(np.int64))
        self.cost[arcs] = new
        self.updater.apply(self.metric, dict(zip(arcs.tolist(), new.tolist())))
        self.touched.update(arcs.tolist())

    def restore(self) -> None:
        if self.touched:
            arcs = np.fromiter(self.touched, dtype=np.int64)
            self.cost[arcs] = self.base[arcs]
            self.updater.apply(self.metric, dict(zip(arcs.tolist(), self.base[arcs].tolist())))
            self.touched.clear()


def _route_loop(engine: Engine, pen: Penalised, profile: str, snaps: list[Snap]) -> list | None:
    """Pieces of start → vias → start, each leg avoiding the ways of the earlier ones; None if a leg fails."""
    pieces = []
    try:
        for a, b in zip(snaps[:-1], snaps[1:]):
            query = engine.query_on(pen.metric)
            leg = engine.leg(a, b, profile, query, pen.cost)
            del query
            if leg is None:
                return None
            pieces += leg.pieces
            pen.penalise(ways_of(leg.pieces), settings.LOOP_REUSE_PENALTY)
    finally:
        pen.restore()
    return cancel_spurs(pieces)


def _snap_vias(engine: Engine, vias: list[tuple[float, float]]) -> list[Snap] | None:
    w, s, e, n = engine.bbox
    if not all(w <= lon <= e and s <= lat <= n for lon, lat in vias):
        return None
    snaps = engine.snapper.snap_many(np.array([v[0] for v in vias]), np.array([v[1] for v in vias]))
    return snaps if all(sn.distance_m <= settings.MAX_SNAP_M for sn in snaps) else None


def _fit_loop(engine, pen, profile, start: Snap, lonlat, target, heading, deadline) -> tuple | None:
    """The core's loop rules (``routing.core.fit_loop``) on the CCH; ``deadline`` is only the safety net."""
    def route_through(vias: list[tuple[float, float]]) -> list | None:
        snaps = _snap_vias(engine, vias)
        return _route_loop(engine, pen, profile, [start, *snaps, start]) if snaps else None

    return fit_loop(route_through, lambda pieces: length_m(engine.graph, pieces), lonlat, target, heading,
                    give_up=lambda: time.monotonic() > deadline)


def plan_loops(engine: Engine, start: tuple[float, float], distance_m: float, profile: str = "bike", count: int = 1,
               seed: int = 0, green: bool = False, *,
               deadline_s: float = settings.PLANNER_DEADLINE_S) -> list[Loop]:
    """Up to ``count`` loops of about ``distance_m`` from ``start``, headed in different directions."""
    get_profile(profile)
    if not MIN_LOOP_M <= distance_m <= MAX_LOOP_M:
        raise ImpossibleTarget(f"a round trip is {MIN_LOOP_M / 1000:g} to {MAX_LOOP_M / 1000:g} km long; "
                               f"{distance_m / 1000:g} km was asked for")
    count = max(1, min(count, settings.LOOP_MAX))
    deadline = time.monotonic() + deadline_s
    snap = engine.snap([start], field="start")[0]
    cost = loop_costs(engine, profile, green)
    pen = Penalised(engine, cost)
    first = first_heading(seed)
    loops: list[Loop] = []
    fallback: list[tuple[float, Loop]] = []  # loops outside the tolerance, used only if nothing better comes
    hit = False
    for k in range(count * 3):  # extra headings in case some loops miss the length or repeat others
        if len(loops) == count:
            break
        if time.monotonic() > deadline:
            hit = True
            break
        heading = loop_heading(first, k, count)
        found = _fit_loop(engine, pen, profile, snap, start, distance_m, heading, deadline)
        if found is None:
            continue
        err, pieces, tries = found
        route = _to_route(engine, profile, pieces, start)
        if any(route.overlap_with(other.route) > settings.LOOP_MAX_OVERLAP for other in loops):
            continue
        loop = Loop(route, distance_m, math.degrees(heading) % 360, reused_share(engine.graph, pieces),
                    count_spurs(pieces), tries, hit or time.monotonic() > deadline)
        if err <= settings.LOOP_TOLERANCE:
            loops.append(loop)
        else:
            fallback.append((err, loop))
    if not loops and fallback:
        loops.append(min(fallback, key=lambda f: f[0])[1])
    if not loops and (hit or time.monotonic() > deadline):
        raise PlannerTimeout(f"no round trip of {distance_m / 1000:g} km was found from this start before the "
                             "time limit", field="start")
    if not loops:  # every heading and radius was tried: no retry will find one
        raise ImpossibleTarget(f"no round trip of {distance_m / 1000:g} km fits the basin's ways from this start: "
                               "a circle of that size runs off the map in every direction tried; ask for a shorter "
                               "one or start nearer the middle of the basin")
    return loops


def _to_route(engine: Engine, profile: str, pieces: list, start) -> Route:
    weights = engine.weights(profile)
    return build_route(engine.graph, weights, [Leg(pieces, 0).priced(weights.cost_ms)], [start, start], profile)
