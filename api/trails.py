"""``POST /v1/trails``: a trail-running course over N terril summits within a distance budget."""

from __future__ import annotations

from flask import Blueprint
from marshmallow import Schema, fields, validate

from gpx_exports import runner_figures
from presentation import LANGUAGES
from routing import settings
from routing.planners.tour import Stop
from routing.planners.trail import plan_trail, trail_candidates

from .common import service
from .jobs import HEAVY, Heavy, job_progress
from .places import Place, collection, planned_feature, positive, profile_field, request_fields, stop
from .results import cached_post

bp = Blueprint("trails", __name__, url_prefix="/v1")


class TrailSchema(Schema):
    start = Place(required=True)
    finish = Place(load_default=None, allow_none=True)
    distance_km = fields.Float(required=True, validate=positive(500))
    terrils = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=40),
                             metadata={"description": "how many distinct terril summits to climb"})
    via = fields.List(Place(), load_default=list, validate=validate.Length(max=10))
    profile = profile_field("trail")
    lang = fields.String(validate=validate.OneOf(LANGUAGES))


def _stops(args: dict) -> tuple[Stop, Stop | None, list[Stop]]:
    """(start, finish or None, via) of the request."""
    finish = stop(args["finish"], "finish") if args["finish"] else None
    return stop(args["start"], "start"), finish, [stop(p, f"via[{i}]") for i, p in enumerate(args["via"])]


def _check(args: dict) -> None:
    """Refuse at once what the planner would refuse before its search (before a worker takes the request)."""
    start, finish, via = _stops(args)
    with request_fields(distance_m="distance_km"):
        trail_candidates(service().engine, start, args["distance_km"] * 1000, args["terrils"],
                         profile=args["profile"], finish=finish, via=via)


def _trail(args: dict) -> dict:
    state = service()
    start, finish, via = _stops(args)
    with request_fields(distance_m="distance_km"):
        course = plan_trail(state.engine, start, args["distance_km"] * 1000, args["terrils"], args["profile"],
                            finish, via, time_limit_s=settings.TRAIL_REQUEST_LIMIT_S, workers=state.cfg.workers,
                            progress=job_progress())
    runner = runner_figures(course.route.distance_m, course.route.ascent_m).as_dict()
    return collection([planned_feature(course.route, summits=course.summits, target_m=course.target_m)],
                      kind="trail", terrils=len(course.summits), optimal=course.optimal,
                      deadline_hit=course.deadline_hit, runner=runner)


#: The request schema, made once (see results.FILE_OPTIONS).
TRAIL_REQUEST = TrailSchema()
#: A trail course holds a core for seconds: with a queue, an uncached one is a job.
HEAVY["trails"] = Heavy(_trail, check=_check)


@bp.post("/trails")
def post_trail():
    """A trail-running course over N terril summits within a distance budget."""
    return cached_post("trails", TRAIL_REQUEST, _trail)
