"""Multi-day stages (itinérance): cut a route into days that end near lodging."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .. import geo, settings
from ..engine import Engine
from ..errors import InvalidStageLength, RoutingError
from ..route import Route, cumulative_distance, smoothed_climbs
from .pieces import length_m
from .tour import Stop


@dataclass
class Stage:
    """One day: where it starts and ends along the route, its figures, and the lodging it ends at."""

    day: int
    from_m: float
    to_m: float
    ascent_m: float
    descent_m: float
    lodging: dict | None  # id, name, lon, lat, detour_m (one way, on the graph), or None

    @property
    def distance_m(self) -> float:
        return self.to_m - self.from_m

    def as_dict(self) -> dict:
        return {"day": self.day, "from_km": round(self.from_m / 1000, 2), "to_km": round(self.to_m / 1000, 2),
                "distance_m": round(self.distance_m, 1), "ascent_m": round(self.ascent_m, 1),
                "descent_m": round(self.descent_m, 1), "lodging": self.lodging}


class LodgingFinder:
    """Lodging near a stretch of route, with the exact detour to it on the graph."""

    def __init__(self, engine: Engine, lodging: list[Stop], profile: str, max_detour_m: float) -> None:
        self.engine, self.lodging, self.profile, self.max_detour_m = engine, lodging, profile, max_detour_m
        x, y = geo.to_metric(np.array([s.lon for s in lodging]), np.array([s.lat for s in lodging]))
        self.tree = cKDTree(np.column_stack([x, y])) if lodging else None

    def candidates(self, xy: np.ndarray, pos: np.ndarray, target: float) -> list[tuple[float, int, int]]:
        """(score, route vertex, lodging index) by closeness to the planned end plus the crow-fly detour."""
        if self.tree is None or not len(xy):
            return []
        best: dict[int, tuple[float, int, int]] = {}
        for v, near in enumerate(self.tree.query_ball_point(xy, self.max_detour_m)):
            for j in near:
                crow = float(np.hypot(*(self.tree.data[j] - xy[v])))
                score = abs(pos[v] - target) + 2 * crow
                if j not in best or score < best[j][0]:
                    best[j] = (score, v, j)
        return sorted(best.values())

    def detour_m(self, lon: float, lat: float, stop: Stop) -> float | None:
        """Metres from the route to the lodging on the graph (None if unreachable)."""
        try:
            a, b = self.engine.snap([(lon, lat), (stop.lon, stop.lat)])
        except RoutingError:
            return None
        leg = self.engine.leg(a, b, self.profile)
        return None if leg is None else length_m(self.engine.graph, leg.pieces)


def split_stages(engine: Engine, route: Route, lodging: list[Stop], daily_distance_m: float | None = None,
                 daily_duration_s: float | None = None, max_detour_m: float = settings.STAGE_MAX_DETOUR_M,
                 tries: int = 15) -> list[Stage]:
    """Cut ``route`` into days of about the daily distance (or duration), each ending near lodging if one is close.

    The number of days is the route's length over the daily distance, rounded; each day aims at an
    even share of what is left, and ends at the lodging that best combines closeness to that
    point and a short way off the route (``max_detour_m``, one way). A day with no lodging in
    reach ends at its planned point with ``lodging`` None.
    """
    daily = _daily_metres(route, daily_distance_m, daily_duration_s)
    coords = route.coordinates
    pos = cumulative_distance(coords)
    x, y = geo.to_metric(coords[:, 0], coords[:, 1])
    xy = np.column_stack([x, y])
    finder = LodgingFinder(engine, lodging, route.profile, max_detour_m)
    stages, start, total = [], 0.0, float(pos[-1])
    days = max(1, int(round(total / daily)))
    while len(stages) < days - 1:
        target = start + (total - start) / (days - len(stages))  # even days over what is left
        window = np.flatnonzero((pos >= target - settings.STAGE_EARLY_SHARE * daily)
                                & (pos <= target + settings.STAGE_LATE_SHARE * daily))
        end_m, stay = _choose_lodging(finder, coords, xy, pos, window, target, tries)
        stages.append(_stage(len(stages) + 1, pos, coords, start, end_m, stay))
        start = end_m
    stages.append(_stage(len(stages) + 1, pos, coords, start, total, None))
    return stages


def _daily_metres(route: Route, daily_distance_m: float | None, daily_duration_s: float | None) -> float:
    if daily_distance_m is None and daily_duration_s is None:
        raise InvalidStageLength("give a daily distance or a daily duration")
    if daily_distance_m is not None:
        if not daily_distance_m > 0:
            raise InvalidStageLength(f"the daily distance must be positive, not {daily_distance_m:g} m")
        return float(daily_distance_m)
    if not daily_duration_s > 0:
        raise InvalidStageLength(f"the daily duration must be positive, not {daily_duration_s:g} s",
                                 field="daily_duration_s")
    return float(daily_duration_s) * route.distance_m / max(route.duration_s, 1e-9)


def _choose_lodging(finder: LodgingFinder, coords, xy, pos, window, target: float,
                    tries: int) -> tuple[float, dict | None]:
    """Where the day ends (m along the route) and the lodging there, or the planned end with none."""
    for _, v, j in finder.candidates(xy[window], pos[window], target)[:tries]:
        vertex = window[v]
        stop = finder.lodging[j]
        detour = finder.detour_m(float(coords[vertex, 0]), float(coords[vertex, 1]), stop)
        if detour is not None and detour <= finder.max_detour_m:
            return float(pos[vertex]), {**stop.as_dict(), "detour_m": round(detour, 1)}
    return target, None


def _stage(day: int, pos: np.ndarray, coords: np.ndarray, start: float, end: float, lodging: dict | None) -> Stage:
    inside = (pos >= start) & (pos <= end)
    up, down, _, _ = smoothed_climbs(pos[inside] - start, coords[inside, 2])
    return Stage(day, start, end, up, down, lodging)
