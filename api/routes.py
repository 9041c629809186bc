"""``POST /v1/routes``: A→B (and vias) routes with alternatives and avoid areas, cached in Redis."""

from __future__ import annotations

import json

import shapely
from flask import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates

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


class RouteRequestSchema(Schema):
    profile = fields.String(load_default=DEFAULT_PROFILE, validate=validate.OneOf(list(PROFILES)))
    points = fields.List(
        Place(), required=True, validate=validate.Length(min=2, max=settings.MAX_ROUTE_POINTS),
        metadata={"description": "the start, up to 25 via points and the end, each [lon, lat] or a POI id"})
    alternatives = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=3))
    avoid = fields.Dict(load_default=None, allow_none=True,
                        metadata={"description": "a GeoJSON Polygon or MultiPolygon the route must not enter"})
    lang = fields.String(validate=validate.OneOf(LANGUAGES))

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
    routes = state.engine.route([(p.lon, p.lat) for p in places], args["profile"], args["alternatives"],
                                _avoid_geometry(args["avoid"]), names=[p.name for p in places])
    for r in routes:
        attach_pois(r, state.catalogue, CORRIDOR_M)
    if args["alternatives"] == 0:
        return route_feature(routes[0])
    return {"type": "FeatureCollection", "features": [route_feature(r) for r in routes],
            "total": {"routes": len(routes)}}


@bp.post("")
def post_route():
    """Compute a route (a Feature), or the best and its alternatives (a FeatureCollection)."""
    return cached_post("routes", RouteRequestSchema(), _compute)
