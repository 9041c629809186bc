"""Multi-stop tours: the best order to visit stops from a start, then the route through them."""

from __future__ import annotations

from dataclasses import dataclass

from .. import settings
from ..engine import Engine
from ..errors import InvalidStops
from ..profiles import get_profile
from ..progress import Progress, silent
from ..route import Route
from ..snap import Snap
from .matrix import cost_matrix
from .order import Order, solve_order


@dataclass
class Stop:
    """A place to visit: its lon/lat, and the id and name it was asked by (a POI, or a bare point)."""

    lon: float
    lat: float
    id: str | None = None
    name: str | None = None

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "lon": self.lon, "lat": self.lat}


@dataclass
class Tour:
    """A planned tour: the stops in visiting order, the route through them and the solver's proof."""

    route: Route
    start: Stop
    stops: list[Stop]  # in visiting order
    end: Stop | None
    loop: bool
    order: Order

    @property
    def stop_km(self) -> list[float]:
        """The km mark at which each stop is reached."""
        return self.route.leg_ends_km()[:len(self.stops)]

    def summary(self) -> dict:
        return {**self.route.summary(), "loop": self.loop, "optimal": self.order.optimal,
                "gap": round(self.order.gap, 4), "deadline_hit": self.order.safety_net_fired, "stops": [
                    {**s.as_dict(), "km": km} for s, km in zip(self.stops, self.stop_km)]}


def check_stops(stops: list[Stop]) -> None:
    """Refuse an empty stop list, more than MAX_TOUR_STOPS, and the same stop twice."""
    if not stops:
        raise InvalidStops("a tour needs at least one stop")
    if len(stops) > settings.MAX_TOUR_STOPS:
        raise InvalidStops(f"{len(stops)} stops; a tour may have at most {settings.MAX_TOUR_STOPS}")
    seen: dict[tuple, int] = {}
    for i, s in enumerate(stops):
        key = (s.id,) if s.id else (round(s.lon, 6), round(s.lat, 6))
        if key in seen:
            raise InvalidStops(f"stops[{i}] repeats stops[{seen[key]}] ({s.name or s.id or key})", field=f"stops[{i}]")
        seen[key] = i


def tour_snaps(engine: Engine, start: Stop, stops: list[Stop], profile: str = "bike",
               end: Stop | None = None) -> tuple[list[Stop], list[Snap]]:
    """(start, stops and end in that order, their snaps): what ``plan_tour`` checks before its solve.

    It costs milliseconds, so a server that hands the solve to a worker calls it first and refuses an impossible
    tour at once rather than through a failed job.

    Raises:
        UnknownProfile, InvalidStops, OutOfArea, TooFarFromRoad.
    """
    get_profile(profile)
    check_stops(stops)
    places = [start, *stops] + ([end] if end is not None else [])
    return places, engine.snap([(p.lon, p.lat) for p in places], field="stops")


def plan_tour(engine: Engine, start: Stop, stops: list[Stop], profile: str = "bike", end: Stop | None = None,
              loop: bool = True, *, time_limit_s: float = settings.TOUR_TIME_LIMIT_S,
              workers: int = 2, progress: Progress = silent) -> Tour:
    """Visit every stop once from ``start``, in the least-cost order; back to start, to ``end``, or ending anywhere.

    Orders of up to ``EXACT_STOPS`` stops are proven optimal; larger ones carry the solver's gap. ``progress`` is
    told each stage as it starts (``costs``, ``solving``, ``routing``) with the share of the work done before it.
    """
    places, snaps = tour_snaps(engine, start, stops, profile, end)
    points = [(p.lon, p.lat) for p in places]
    progress("costs", 0.02)
    matrix = cost_matrix(engine, snaps, profile)
    limit = time_limit_s if len(stops) > settings.EXACT_STOPS else max(time_limit_s, 10.0)
    progress("solving", 0.1)
    order = solve_order(matrix, loop=loop and end is None, end=len(places) - 1 if end is not None else None,
                        time_limit_s=limit, workers=workers, hint=len(stops) > settings.EXACT_STOPS)
    progress("routing", 0.95)
    seq = order.sequence + ([0] if loop and end is None else [])
    route = engine.route_through([snaps[i] for i in seq], [points[i] for i in seq], profile,
                                 names=[places[i].name for i in seq])
    visited = [places[i] for i in order.sequence[1:] if end is None or i != len(places) - 1]
    return Tour(route, start, visited, end, loop and end is None, order)
