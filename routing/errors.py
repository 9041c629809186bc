"""Typed errors of the routing library; the CLI and the API map them to messages and statuses."""

from __future__ import annotations


class GalibotError(Exception):
    """Base of every error galibot raises on purpose; its message is meant for the user.

    ``field`` names the offending input (a class default, or given per error), for the API's problem+json.
    """

    field: str | None = None

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        if field is not None:
            self.field = field


class DataError(GalibotError):
    """A data file or directory is missing, unreadable or corrupt; the message names it."""


class BBoxError(GalibotError):
    """A bounding box is malformed or lies outside the data."""


class EmptyGraphError(GalibotError):
    """The build produced no routable edges."""


class RoutingError(GalibotError):
    """A routing request that cannot be answered."""


class UnknownProfile(RoutingError):
    """The profile name is not one of profiles.toml."""

    field = "profile"


class OutOfArea(RoutingError):
    """A point lies outside the area the graph covers."""

    field = "points"


class TooFarFromRoad(RoutingError):
    """A point is farther than the snapping limit from any way."""

    field = "points"


class TooManyPoints(RoutingError):
    """More via points than a request may carry."""

    field = "points"


class InvalidAvoid(RoutingError):
    """An avoid polygon is malformed, or covers a point of the route."""

    field = "avoid"


class NoRoute(RoutingError):
    """No route joins the points under the request's constraints."""


class PlanningError(RoutingError):
    """A planning request that cannot be answered as asked."""


class InvalidStops(PlanningError):
    """Too many stops, duplicated stops, or too few to plan anything."""

    field = "stops"


class ImpossibleTarget(PlanningError):
    """A target distance, duration or count that no plan can meet (e.g. 20 terrils in 2 km)."""

    field = "distance_m"


class InvalidStageLength(PlanningError):
    """A daily distance or duration of zero or less, or longer than the tour."""

    field = "daily_distance_m"


class PlannerTimeout(PlanningError):
    """A planner found nothing within its time limit."""


class CircuitError(PlanningError):
    """A named circuit cannot be resolved or routed; the message names the waypoint."""

    field = "circuit"
