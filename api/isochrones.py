"""``GET /v1/isochrones?profile=…&start=lon,lat&minutes=10,20,30``: the area reachable within each time band."""

from __future__ import annotations

from flask import Blueprint, request
from marshmallow import Schema

from routing.planners.isochrone import isochrone

from .common import LonLatText, MinutesList, load, service
from .places import profile_field
from .results import serve_result

bp = Blueprint("isochrones", __name__, url_prefix="/v1")


class IsochroneQuerySchema(Schema):
    profile = profile_field()
    start = LonLatText(required=True)
    minutes = MinutesList(load_default=lambda: [10.0, 20.0, 30.0])


def _isochrone(args: dict) -> dict:
    lon, lat = args["start"]
    return isochrone(service().engine, (lon, lat), max(args["minutes"]), args["profile"],
                     args["minutes"]).to_geojson()


@bp.get("/isochrones")
def get_isochrones():
    """The area reachable within each number of minutes, as GeoJSON polygons."""
    args = load(IsochroneQuerySchema(), request.args.to_dict())
    service()
    return serve_result("isochrones", args, lambda: _isochrone(args))
