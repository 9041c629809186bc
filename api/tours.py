"""``POST /v1/tours``: visit stops in the best order, optionally cut into days that end near lodging."""

from __future__ import annotations

from flask import Blueprint
from marshmallow import Schema, fields, validate

from presentation import LANGUAGES
from routing import settings
from routing.planners.stages import split_stages
from routing.planners.tour import Stop, plan_tour, tour_snaps

from .common import service
from .errors import APIProblem
from .jobs import HEAVY, Heavy, job_progress
from .places import Place, collection, planned_feature, profile_field, request_fields, stop
from .results import cached_post

bp = Blueprint("tours", __name__, url_prefix="/v1")


class TourSchema(Schema):
    profile = profile_field()
    start = Place(required=True)
    stops = fields.List(Place(), required=True, validate=validate.Length(min=1, max=settings.MAX_TOUR_STOPS),
                        metadata={"description": "[lon, lat] or POI ids, in any order: the planner orders them"})
    return_to_start = fields.Boolean(load_default=True)
    end = Place(load_default=None, allow_none=True,
                metadata={"description": "a fixed end when not returning to the start (else the end is free)"})
    daily_km = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=1, max=500),
                            metadata={"description": "cut the tour into days of about this length near lodging"})
    lang = fields.String(validate=validate.OneOf(LANGUAGES))


def _places(args: dict) -> tuple[Stop, list[Stop], Stop | None]:
    """(start, stops, end or None) of the request."""
    start = stop(args["start"], "start")
    stops = [stop(p, f"stops[{i}]") for i, p in enumerate(args["stops"])]
    if args["end"] is not None and args["return_to_start"]:
        raise APIProblem(422, "Invalid Request", "a tour with an end does not return to its start; "
                         "set return_to_start to false", "end")
    return start, stops, stop(args["end"], "end") if args["end"] is not None else None


def _check(args: dict) -> None:
    """Refuse at once what the planner would refuse before its solve (before a worker takes the request)."""
    start, stops, end = _places(args)
    tour_snaps(service().engine, start, stops, args["profile"], end)


def _tour(args: dict) -> dict:
    state = service()
    start, stops, end = _places(args)
    tour = plan_tour(state.engine, start, stops, args["profile"], end, loop=args["return_to_start"],
                     time_limit_s=settings.TOUR_REQUEST_LIMIT_S, workers=state.cfg.workers,
                     progress=job_progress())
    extra = {k: v for k, v in tour.summary().items() if k in ("optimal", "gap", "stops", "deadline_hit")}
    extra["return_to_start"] = tour.loop
    if args["daily_km"] is not None:
        lodging = [Stop(p["lon"], p["lat"], p["id"], p["name"])
                   for p in state.catalogue.by_theme("lodging")]
        with request_fields(daily_distance_m="daily_km"):
            stages = split_stages(state.engine, tour.route, lodging, args["daily_km"] * 1000)
        extra["stages"] = [s.as_dict() for s in stages]
    return collection([planned_feature(tour.route)], kind="tour", **extra)


#: The request schema, made once (see results.FILE_OPTIONS).
TOUR_REQUEST = TourSchema()
#: With a queue, a tour of more than JOB_STOPS stops is a job: its order takes the solver's whole budget.
JOB_STOPS = 12
HEAVY["tours"] = Heavy(_tour, lambda params: len(params["stops"]) > JOB_STOPS, check=_check)


@bp.post("/tours")
def post_tour():
    """Visit stops in the best order (proven optimal up to 10 stops), optionally cut into days near lodging."""
    return cached_post("tours", TOUR_REQUEST, _tour)
