"""``GET /v1/isochrones?profile=…&start=lon,lat&minutes=10,20,30``: the area reachable within each time band."""

from __future__ import annotations

from flask import Blueprint, request
from marshmallow import Schema

from routing.planners.isochrone import isochrone
from routing.settings import ISO_MAX_MINUTES

from .common import LonLatText, MinutesList, load, service
from .places import profile_field
from .results import serve_result

bp = Blueprint("isochrones", __name__, url_prefix="/v1")


class IsochroneQuerySchema(Schema):
    profile = profile_field()
    start = LonLatText(required=True, metadata={
        "description": "where the areas are measured from: lon,lat in degrees, inside the basin",
        "example": "2.8037,50.4306"})
    minutes = MinutesList(load_default=lambda: [10.0, 20.0, 30.0], metadata={
        "description": f"1 to 6 time bands in minutes, comma-separated, each in (0, {ISO_MAX_MINUTES}]; "
                       "default 10,20,30", "pattern": r"^\d+(\.\d+)?(,\d+(\.\d+)?){0,5}$", "example": "10,20,30"})


def _isochrone(args: dict) -> dict:
    lon, lat = args["start"]
    return isochrone(service().engine, (lon, lat), max(args["minutes"]), args["profile"],
                     args["minutes"]).to_geojson()


@bp.get("/isochrones")
def get_isochrones():
    """The area reachable within each number of minutes, as GeoJSON polygons."""
    args = load(IsochroneQuerySchema(), request.args.to_dict())
    service()
    return serve_result("isochrones", args, lambda: _isochrone(args), request.args.get("lang"))
