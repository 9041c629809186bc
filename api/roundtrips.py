"""``POST /v1/roundtrips``: up to 3 loops of a length or a duration from a start, reproducible with a seed."""

from __future__ import annotations

from flask import Blueprint
from marshmallow import Schema, fields, validate, validates_schema

from presentation import LANGUAGES
from routing import settings
from routing.planners.loops import MAX_LOOP_M, MIN_LOOP_M, plan_loops

from .common import service
from .places import Place, collection, length_m, one_length, planned_feature, profile_field, request_fields, stop
from .results import cached_post

MIN_KM, MAX_KM = MIN_LOOP_M / 1000, MAX_LOOP_M / 1000

bp = Blueprint("roundtrips", __name__, url_prefix="/v1")


class RoundTripSchema(Schema):
    profile = profile_field()
    start = Place(required=True)
    distance_km = fields.Float(load_default=None, allow_none=True, validate=validate.Range(
        min=MIN_KM, max=MAX_KM, error=f"a round trip is {MIN_KM:g} to {MAX_KM:g} km long, not {{input}} km"),
                               metadata={"description": f"the loop's length, {MIN_KM:g} to {MAX_KM:g} km"})
    duration_min = fields.Float(load_default=None, allow_none=True,
                                validate=validate.Range(min=0, max=24 * 60, min_inclusive=False),
                                metadata={"description": "instead of distance_km: minutes at the profile's flat "
                                                         f"speed, for a loop of {MIN_KM:g} to {MAX_KM:g} km"})
    seed = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=2**31 - 1))
    count = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=settings.LOOP_MAX))
    green = fields.Boolean(load_default=False, metadata={"description": "prefer cavaliers and the EV5"})
    lang = fields.String(validate=validate.OneOf(LANGUAGES))

    @validates_schema
    def _one_target(self, data: dict, **_) -> None:
        one_length(data)


def _target_m(args: dict) -> float:
    """The loop length asked for (a 422 naming ``duration_min`` when a duration makes a length out of range)."""
    return length_m(args, lo_m=MIN_LOOP_M, hi_m=MAX_LOOP_M, what="a round trip")


def _roundtrips(args: dict) -> dict:
    start = stop(args["start"], "start")
    target = "distance_km" if args["distance_km"] is not None else "duration_min"
    with request_fields(distance_m=target):
        loops = plan_loops(service().engine, (start.lon, start.lat), _target_m(args), args["profile"],
                           args["count"], args["seed"], args["green"])
    return collection([planned_feature(lp.route, **{k: v for k, v in lp.summary().items()
                                                    if k in ("target_m", "length_error", "reused_share", "spurs")})
                        for lp in loops], kind="roundtrip", seed=args["seed"], count=len(loops),
                      deadline_hit=any(lp.deadline_hit for lp in loops))


#: The request schema, made once (see results.FILE_OPTIONS).
ROUNDTRIP_REQUEST = RoundTripSchema()


@bp.post("/roundtrips")
def post_roundtrips():
    """Up to 3 loops of a target length from a start, reproducible with ``seed``."""
    return cached_post("roundtrips", ROUNDTRIP_REQUEST, _roundtrips)
