"""Helpers shared by the blueprints: the loaded service, request languages, validated inputs."""

from __future__ import annotations

import json

from flask import current_app, request
from marshmallow import Schema, ValidationError, fields

from routing.instructions import LANGUAGES
from routing.settings import ISO_MAX_MINUTES

from .errors import APIProblem
from .graph_state import GraphState

#: Redis socket timeouts (s). A dead Redis refuses at once; this bounds a hung one. 0.25 s was too short for a
#: trip write fsynced to the AOF on a loaded 2-core machine: acknowledged writes got 503s under load.
REDIS_TIMEOUT_S = 1.0


def service() -> GraphState:
    """The loaded graph, engine and catalogue, or a 503 while they load."""
    state: GraphState = current_app.extensions["galibot.graph"]
    if not state.ready:
        detail = state.error or "the routing graph is still loading; retry in a few seconds"
        raise APIProblem(503, "Service Unavailable", detail)
    return state


def bearer_token() -> str:
    """The token of an ``Authorization: Bearer …`` header, or an empty string."""
    auth = request.headers.get("Authorization", "")
    return auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""


def language(explicit: str | None) -> str:
    """``lang`` if given, else the best of Accept-Language, else English."""
    if explicit:
        return explicit
    return request.accept_languages.best_match(LANGUAGES) or "en"


def json_body() -> dict:
    """The request's JSON object: 415 when the body is not declared as JSON, 400 when it does not parse or is not
    an object (rather than a misleading "points: Missing data")."""
    if not request.is_json:
        raise APIProblem(415, "Unsupported Media Type",
                         f"send the body as application/json, not {request.mimetype or 'no content type'}", "body")
    try:
        body = json.loads(request.get_data(cache=True) or b"null")
    except ValueError as exc:
        raise APIProblem(400, "Bad Request", f"the body is not valid JSON: {exc}", "body") from None
    if not isinstance(body, dict):
        raise APIProblem(400, "Bad Request", "the body must be a JSON object", "body")
    return body


def load(schema: Schema, data) -> dict:
    """Validate with a marshmallow schema (a ValidationError becomes a 422 naming the field)."""
    return schema.load(data if data is not None else {})


def is_lonlat(lon: float, lat: float) -> bool:
    """Whether a pair is a longitude and a latitude in degrees (NaN is not)."""
    return -180 <= lon <= 180 and -90 <= lat <= 90


class LonLatText(fields.Field):
    """A point in a query string: ``lon,lat`` in degrees."""

    def _deserialize(self, value, attr, data, **kwargs) -> tuple[float, float]:
        try:
            lon, lat = (float(v) for v in str(value).split(","))
        except ValueError:
            raise ValidationError("must be lon,lat in degrees") from None
        if not is_lonlat(lon, lat):
            raise ValidationError("lon must be in -180..180 and lat in -90..90")
        return lon, lat


class MinutesList(fields.Field):
    """Time bands in a query string: ``10,20,30`` (minutes)."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[float]:
        try:
            minutes = sorted({float(v) for v in str(value).split(",")})
        except ValueError:
            raise ValidationError("must be minutes separated by commas, such as 10,20,30") from None
        if not minutes or len(minutes) > 6:
            raise ValidationError("give 1 to 6 time bands")
        if minutes[0] <= 0 or minutes[-1] > ISO_MAX_MINUTES:
            raise ValidationError(f"each band must be in (0, {ISO_MAX_MINUTES}] minutes")
        return minutes
