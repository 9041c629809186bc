"""``POST /v1/routes``: A→B (and vias) routes with alternatives and avoid areas, cached in Redis."""

from __future__ import annotations

import json

import shapely
from flask import Blueprint
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates

from gpx_exports import route_feature
from poi_data import attach_pois
from presentation import LANGUAGES
from routing import settings
from routing.errors import InvalidAvoid
from routing.profiles import DEFAULT_PROFILE, PROFILES

from .common import service
from .places import CORRIDOR_M, Place, stop
from .results import cached_post

bp = Blueprint("routes", __name__, url_prefix="/v1/routes")
#: The parts of a route a client may leave out (``details``), the costly ones: maneuvers, POIs, the profile.
DETAILS = ("instructions", "pois", "elevation_profile")


class RouteRequestSchema(Schema):
    profile = fields.String(load_default=DEFAULT_PROFILE, validate=validate.OneOf(list(PROFILES)))
    points = fields.List(
        Place(), required=True, validate=validate.Length(min=2, max=settings.MAX_ROUTE_POINTS),
        metadata={"description": "the start, up to 25 via points and the end, each [lon, lat] or a POI id"})
    alternatives = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=3))
    avoid = fields.Dict(load_default=None, allow_none=True,
                        metadata={"description": "a GeoJSON Polygon or MultiPolygon the route must not enter"})
    lang = fields.String(validate=validate.OneOf(LANGUAGES))
    details = fields.List(fields.String(validate=validate.OneOf(DETAILS)), load_default=list(DETAILS),
                          metadata={"description": "the route's details to compute: instructions, pois and "
                                                   "elevation_profile (all by default); live re-routing asks for "
                                                   "none ([]), for the line and the figures only"})

    @post_load
    def _details_in_order(self, data: dict, **_) -> dict:
        """The details as a set in one order: the same request is one cache entry however they are listed."""
        data["details"] = [d for d in DETAILS if d in data["details"]]
        return data

    @validates("avoid")
    def _avoid(self, value: dict | None, **_) -> None:
        if value is not None and value.get("type") not in ("Polygon", "MultiPolygon"):
            raise ValidationError("must be a GeoJSON Polygon or MultiPolygon")


def _avoid_geometry(value: dict | None) -> shapely.Geometry | None:
    if value is None:
        return None
    try:
        return shapely.from_geojson(json.dumps(value))
    except (shapely.errors.GEOSException, ValueError) as exc:
        raise InvalidAvoid(f"the avoid area is not valid GeoJSON: {exc}") from None


def _compute(args: dict) -> dict:
    state = service()
    places = [stop(p, f"points[{i}]") for i, p in enumerate(args["points"])]
    details = args["details"]
    routes = state.engine.route([(p.lon, p.lat) for p in places], args["profile"], args["alternatives"],
                                _avoid_geometry(args["avoid"]), names=[p.name for p in places],
                                instructions="instructions" in details)
    if "pois" in details:
        for r in routes:
            attach_pois(r, state.catalogue, CORRIDOR_M)
    features = [_with_details(route_feature(r), details) for r in routes]
    if args["alternatives"] == 0:
        return features[0]
    return {"type": "FeatureCollection", "features": features, "total": {"routes": len(routes)}}


def _with_details(feature: dict, details: list[str]) -> dict:
    """The Feature without the details the client left out (absent, not empty: an empty list means none found)."""
    for name in DETAILS:
        if name not in details:
            del feature["properties"][name]
    return feature


#: The request schema, made once (see results.FILE_OPTIONS).
ROUTE_REQUEST = RouteRequestSchema()


@bp.post("")
def post_route():
    """Compute a route (a Feature), or the best and its alternatives (a FeatureCollection)."""
    return cached_post("routes", ROUTE_REQUEST, _compute)
