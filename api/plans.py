"""Planner endpoints: ``/v1/tours``, ``/v1/roundtrips``, ``/v1/trails``, ``/v1/isochrones`` and ``/v1/circuits``.

Every planned result is a GeoJSON FeatureCollection of ordinary route Features (as ``/v1/routes``
returns), with the planner's own facts in ``properties``; results are cached in Redis like routes.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from flask import Blueprint, request
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from gpx_exports import route_feature
from poi_data import UnknownPOI, attach_pois
from routing import settings
from routing.instructions import LANGUAGES
from routing.planners.isochrone import isochrone
from routing.planners.loops import plan_loops
from routing.planners.stages import split_stages
from routing.planners.tour import Stop, plan_tour
from routing.planners.trail import plan_trail
from routing.profiles import DEFAULT_PROFILE, PROFILES, get_profile

from .common import LonLatText, MinutesList, language, load, service
from .errors import APIProblem
from .results import cached_post, serve_result
from .routes import CORRIDOR_M

bp = Blueprint("plans", __name__, url_prefix="/v1")


class Place(fields.Field):
    """A place: ``[lon, lat]`` or the id of a catalogue POI (kept as given; resolved by ``_stop``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value:
            return value
        if (isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value)
                and -180 <= value[0] <= 180 and -90 <= value[1] <= 90):
            return [float(value[0]), float(value[1])]
        raise ValidationError("a place is [lon, lat] (degrees) or a POI id")


def _profile(default: str = DEFAULT_PROFILE) -> fields.String:
    return fields.String(load_default=default, validate=validate.OneOf(list(PROFILES)))


def _positive(most: float) -> validate.Range:
    return validate.Range(min=0, max=most, min_inclusive=False)


class TourSchema(Schema):
    profile = _profile()
    start = Place(required=True)
    stops = fields.List(Place(), required=True, validate=validate.Length(min=1, max=settings.MAX_TOUR_STOPS),
                        metadata={"description": "[lon, lat] or POI ids, in any order: the planner orders them"})
    return_to_start = fields.Boolean(load_default=True)
    end = Place(load_default=None, allow_none=True,
                metadata={"description": "a fixed end when not returning to the start (else the end is free)"})
    daily_km = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=1, max=500),
                            metadata={"description": "cut the tour into days of about this length near lodging"})
    lang = fields.String(validate=validate.OneOf(LANGUAGES))


class RoundTripSchema(Schema):
    profile = _profile()
    start = Place(required=True)
    distance_km = fields.Float(load_default=None, allow_none=True, validate=_positive(500))
    duration_min = fields.Float(load_default=None, allow_none=True, validate=_positive(24 * 60),
                                metadata={"description": "instead of distance_km: minutes at the profile's flat speed"})
    seed = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))
    count = fields.Integer(load_default=1, validate=validate.Range(min=1, max=settings.LOOP_MAX))
    green = fields.Boolean(load_default=False, metadata={"description": "prefer cavaliers and the EV5"})
    lang = fields.String(validate=validate.OneOf(LANGUAGES))

    @validates_schema
    def _one_target(self, data: dict, **_) -> None:
        if (data.get("distance_km") is None) == (data.get("duration_min") is None):
            raise ValidationError("give exactly one of distance_km and duration_min", "distance_km")


class TrailSchema(Schema):
    start = Place(required=True)
    finish = Place(load_default=None, allow_none=True)
    distance_km = fields.Float(required=True, validate=_positive(500))
    terrils = fields.Integer(required=True, validate=validate.Range(min=1, max=40),
                             metadata={"description": "how many distinct terril summits to climb"})
    via = fields.List(Place(), load_default=list, validate=validate.Length(max=10))
    profile = _profile("trail")
    lang = fields.String(validate=validate.OneOf(LANGUAGES))


class IsochroneQuerySchema(Schema):
    profile = _profile()
    start = LonLatText(required=True)
    minutes = MinutesList(load_default=lambda: [10.0, 20.0, 30.0])


def _stop(place, field: str) -> Stop:
    """A Stop from ``[lon, lat]`` or a POI id (404 naming the field if the id is unknown)."""
    if isinstance(place, list):
        return Stop(place[0], place[1])
    try:
        p = service().catalogue.get(place)
    except UnknownPOI as exc:
        raise APIProblem(404, "Not Found", str(exc), field) from None
    return Stop(p["lon"], p["lat"], p["id"], p["name"])


def _feature(route, lang: str, **extra) -> dict:
    route = dataclasses.replace(route)  # a copy: circuits' routes are shared between requests
    attach_pois(route, service().catalogue, CORRIDOR_M, lang)
    feature = route_feature(route)
    feature["properties"].update(extra)
    return feature


def _collection(features: list[dict], **extra) -> dict:
    return {"type": "FeatureCollection", "features": features, "properties": extra}


def _tour(args: dict, lang: str) -> dict:
    state = service()
    start = _stop(args["start"], "start")
    stops = [_stop(p, f"stops[{i}]") for i, p in enumerate(args["stops"])]
    if args["end"] is not None and args["return_to_start"]:
        raise APIProblem(422, "Invalid Request", "a tour with an end does not return to its start; "
                         "set return_to_start to false", "end")
    end = _stop(args["end"], "end") if args["end"] is not None else None
    tour = plan_tour(state.engine, start, stops, args["profile"], end, args["return_to_start"], lang,
                     workers=state.cfg.workers)
    extra = {k: v for k, v in tour.summary().items() if k in ("optimal", "gap", "stops")}
    extra["return_to_start"] = tour.loop
    if args["daily_km"] is not None:
        lodging = [Stop(p["lon"], p["lat"], p["id"], p["name"]) for p in state.catalogue.by_theme("lodging")]
        stages = split_stages(state.engine, tour.route, lodging, args["daily_km"] * 1000)
        extra["stages"] = [s.as_dict() for s in stages]
    return _collection([_feature(tour.route, lang)], kind="tour", **extra)


def _target_m(args: dict) -> float:
    """The loop length asked for: ``distance_km``, or ``duration_min`` at the profile's speed on the flat."""
    if args["distance_km"] is not None:
        return args["distance_km"] * 1000
    flat_kmh = float(get_profile(args["profile"]).speed_kmh(np.zeros(1))[0])
    return args["duration_min"] / 60 * flat_kmh * 1000


def _roundtrips(args: dict, lang: str) -> dict:
    start = _stop(args["start"], "start")
    loops = plan_loops(service().engine, (start.lon, start.lat), _target_m(args), args["profile"], args["count"],
                       args["seed"], args["green"], lang)
    return _collection([_feature(lp.route, lang, **{k: v for k, v in lp.summary().items()
                                                    if k in ("target_m", "length_error", "reused_share", "spurs")})
                        for lp in loops], kind="roundtrip", seed=args["seed"], count=len(loops))


def _trail(args: dict, lang: str) -> dict:
    state = service()
    course = plan_trail(state.engine, _stop(args["start"], "start"), args["distance_km"] * 1000, args["terrils"],
                        args["profile"], _stop(args["finish"], "finish") if args["finish"] else None,
                        [_stop(p, f"via[{i}]") for i, p in enumerate(args["via"])], lang,
                        workers=state.cfg.workers)
    return _collection([_feature(course.route, lang, summits=course.summits, target_m=course.target_m)],
                       kind="trail", terrils=len(course.summits), optimal=course.optimal)


def _isochrone(args: dict) -> dict:
    lon, lat = args["start"]
    return isochrone(service().engine, (lon, lat), max(args["minutes"]), args["profile"],
                     args["minutes"]).to_geojson()


@bp.post("/tours")
def post_tour():
    """Visit stops in the best order (proven optimal up to 10 stops), optionally cut into days near lodging."""
    return cached_post("tours", TourSchema(), _tour)


@bp.post("/roundtrips")
def post_roundtrips():
    """Up to 3 loops of a target length from a start, reproducible with ``seed``."""
    return cached_post("roundtrips", RoundTripSchema(), _roundtrips)


@bp.post("/trails")
def post_trail():
    """A trail-running course over N terril summits within a distance budget."""
    return cached_post("trails", TrailSchema(), _trail)


@bp.get("/isochrones")
def get_isochrones():
    """The area reachable within each number of minutes, as GeoJSON polygons."""
    args = load(IsochroneQuerySchema(), request.args.to_dict())
    service()
    return serve_result("isochrones", args, lambda: _isochrone(args))


def _circuits():
    state = service()
    if state.circuits is None:
        raise APIProblem(503, "Service Unavailable", state.circuits_error or "the named circuits are being routed")
    return state.circuits


@bp.get("/circuits")
def list_circuits():
    """The named circuits, without geometry."""
    lang = language(request.args.get("lang"))
    return {"circuits": [c.summary(lang) for c in _circuits().values()]}


@bp.get("/circuits/<circuit_id>")
def get_circuit(circuit_id: str):
    """One named circuit as a route Feature with its texts and sources (``format=gpx`` for the GPX)."""
    circuits = _circuits()
    if circuit_id not in circuits:
        raise APIProblem(404, "Not Found", f"no circuit {circuit_id!r}; see /v1/circuits", "circuit_id")
    lang = language(request.args.get("lang"))
    return serve_result("circuits", {"id": circuit_id, "lang": lang, "circuits": service().circuits_version},
                        lambda: _circuit(circuits[circuit_id], lang))


def _circuit(c, lang: str) -> dict:
    summary = c.summary(lang)
    summary["circuit_kind"] = summary.pop("kind")
    return _collection([_feature(c.route, lang)], kind="circuit", **summary)
