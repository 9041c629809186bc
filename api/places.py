"""What the planner endpoints share: places given as [lon, lat] or POI ids, and planned results as GeoJSON.

Every planned result is a GeoJSON FeatureCollection of ordinary route Features (as ``/v1/routes``
returns), with the planner's own facts in ``properties``; results are cached like routes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from marshmallow import ValidationError, fields, validate

from gpx_exports import route_feature
from poi_data import UnknownPOI, attach_pois
from poi_data.build import CommuneFinder
from routing.errors import GalibotError
from routing.planners.tour import Stop
from routing.profiles import DEFAULT_PROFILE, PROFILES, get_profile

from .common import is_lonlat, service
from .errors import APIProblem

#: POIs within this distance of a route are listed along it.
CORRIDOR_M = 150.0


class Place(fields.Field):
    """A place: ``[lon, lat]`` or the id of a catalogue POI (kept as given; resolved by ``stop``)."""

    #: How /openapi.json describes it.
    SCHEMA = {"oneOf": [{"type": "string", "minLength": 1, "description": "a POI id, such as louvre-lens"},
                        {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
                         "description": "[lon, lat] in degrees"}]}

    def __init__(self, **kwargs) -> None:
        kwargs["metadata"] = {**self.SCHEMA, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value:
            return value
        if (isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value)
                and is_lonlat(*value)):
            return [float(value[0]), float(value[1])]
        raise ValidationError("a place is [lon, lat] (degrees) or a POI id")


def profile_field(default: str = DEFAULT_PROFILE) -> fields.String:
    """The ``profile`` field every planner takes, limited to the profiles of profiles.toml."""
    return fields.String(load_default=default, validate=validate.OneOf(list(PROFILES)))


@contextmanager
def request_fields(**names: str) -> Iterator[None]:
    """Name the request's own fields in the planners' errors: ``distance_m`` in a planner is ``distance_km`` here.

    The planners work in metres and know nothing of the API; a client must read the field it sent.
    """
    try:
        yield
    except GalibotError as exc:
        if exc.field in names:
            exc.field = names[exc.field]
        raise


def positive(most: float) -> validate.Range:
    """A length or duration: more than zero, at most ``most``."""
    return validate.Range(min=0, max=most, min_inclusive=False)


def one_length(data: dict) -> None:
    """A schema check: exactly one of ``distance_km`` and ``duration_min`` (a 422 naming ``distance_km``)."""
    if (data.get("distance_km") is None) == (data.get("duration_min") is None):
        raise ValidationError("give exactly one of distance_km and duration_min", "distance_km")


def length_m(args: dict, *, lo_m: float, hi_m: float, what: str) -> float:
    """The length asked for: ``distance_km``, or ``duration_min`` at the profile's speed on the flat, which must
    make ``lo_m`` to ``hi_m`` (a 422 naming ``duration_min`` otherwise; ``what`` names the result in it)."""
    if args["distance_km"] is not None:
        return args["distance_km"] * 1000
    flat_kmh = float(get_profile(args["profile"]).speed_kmh(np.zeros(1))[0])
    target = args["duration_min"] / 60 * flat_kmh * 1000
    if not lo_m <= target <= hi_m:
        raise APIProblem(422, "Invalid Request", f"duration_min: {args['duration_min']:g} min of {args['profile']} "
                         f"is {target / 1000:.1f} km; {what} is {lo_m / 1000:g} to {hi_m / 1000:g} km long",
                         "duration_min")
    return target


def stop(place, field: str) -> Stop:
    """A Stop from ``[lon, lat]`` or a POI id (404 naming the field if the id is unknown)."""
    if isinstance(place, list):
        return Stop(place[0], place[1])
    try:
        p = service().catalogue.get(place)
    except UnknownPOI as exc:
        raise APIProblem(404, "Not Found", str(exc), field) from None
    return Stop(p["lon"], p["lat"], p["id"], p["name"])


@lru_cache(maxsize=1)
def _communes(mbm_dir: str) -> CommuneFinder:
    """The MBM commune polygons, read once per process (CommuneFinder reads only ``mbm_dir`` of its settings)."""
    return CommuneFinder(SimpleNamespace(mbm_dir=Path(mbm_dir)), [])


def commune_of(lon: float, lat: float) -> str | None:
    """The MBM commune a point lies in (a sheet's header names where a course starts and ends), or None."""
    return _communes(str(service().cfg.mbm_dir))(np.array([lon]), np.array([lat]))[0]


def planned_feature(route, **extra) -> dict:
    """A planner's route as the route Feature ``/v1/routes`` returns, with its POIs and the planner's figures."""
    route = dataclasses.replace(route)  # a copy: circuits' routes are shared between requests
    attach_pois(route, service().catalogue, CORRIDOR_M)
    feature = route_feature(route)
    feature["properties"].update(extra)
    return feature


def collection(features: list[dict], **extra) -> dict:
    """Planned routes with the planner's facts in ``properties``."""
    return {"type": "FeatureCollection", "features": features, "properties": extra}
