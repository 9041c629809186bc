"""Helpers shared by the blueprints: the loaded service, request languages, validated inputs."""

from __future__ import annotations

import json
import re

from flask import current_app, g, request
from marshmallow import Schema, ValidationError, fields
from werkzeug.exceptions import RequestEntityTooLarge

from presentation import LANGUAGES
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
    """The token of an ``Authorization: Bearer …`` header (the scheme is case-insensitive, RFC 9110), or ``""``."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def language(explicit: str | None, default: str = "en") -> str:
    """``lang`` if given, else the best of Accept-Language, else ``default`` (English; French for printed sheets);
    422 naming ``lang`` for another language (a text in a language the client did not ask for is not an answer)."""
    if explicit is not None:  # ?lang= (empty) is a language asked for too, and not one of ours
        if explicit not in LANGUAGES:
            raise APIProblem(422, "Invalid Request", f"lang must be one of {', '.join(LANGUAGES)}", "lang")
        return explicit
    return request.accept_languages.best_match(LANGUAGES) or default


#: A JSON request body is at most this big (the largest valid one, a trip of 1,000 points, is under 64 KiB):
#: refused with 413 from its declared length, before it is read.
MAX_JSON_BYTES = 256 * 1024
#: Objects and arrays nest at most this deep in a JSON body (a trip's settings are the deepest valid ones).
MAX_JSON_DEPTH = 32


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def check_json_value(value, *, field: str = "body") -> None:
    """Refuse (400) what JSON parses but nothing downstream can hold: nesting deeper than MAX_JSON_DEPTH and
    strings with lone surrogates (``"\\ud800"``), which no UTF-8 encoder writes. Iterative, so a deep value
    cannot exhaust the stack."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise APIProblem(400, "Bad Request", f"the JSON nests deeper than {MAX_JSON_DEPTH} levels", field)
            children = item.items() if isinstance(item, dict) else ((None, v) for v in item)
            for key, child in children:
                if key is not None:
                    stack.append((key, depth))
                stack.append((child, depth + 1))
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise APIProblem(400, "Bad Request", "a string holds a lone UTF-16 surrogate, which is not text",
                                 field) from None


def parse_json(data: bytes, *, field: str = "body"):
    """Strict JSON: no NaN or Infinity (strict parsers refuse them, so they must never be stored), no nesting
    deeper than MAX_JSON_DEPTH; a 400 naming ``field`` otherwise."""
    try:
        value = json.loads(data or b"null", parse_constant=_refuse_constant)
    except RecursionError:
        raise APIProblem(400, "Bad Request", f"the JSON nests deeper than {MAX_JSON_DEPTH} levels", field) from None
    except ValueError as exc:
        raise APIProblem(400, "Bad Request", f"the body is not valid JSON: {exc}", field) from None
    check_json_value(value, field=field)
    return value


def json_body(max_bytes: int = MAX_JSON_BYTES) -> dict:
    """The request's JSON object: 413 when over ``max_bytes`` (from the declared length, before reading), 415 when
    the body is not declared as JSON, 400 when it does not parse or is not an object (rather than a misleading
    "points: Missing data")."""
    if not request.is_json:
        raise APIProblem(415, "Unsupported Media Type",
                         f"send the body as application/json, not {request.mimetype or 'no content type'}", "body")
    parsed = g.get("json_body")
    if parsed is not None and parsed[0] == max_bytes:  # parsed already in this request (a rate limit's cost)
        return parsed[1]
    request.max_content_length = max_bytes  # werkzeug refuses a longer declared length, or stops a chunked body
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise APIProblem(413, "Content Too Large", f"the body is over {max_bytes // 1024} KiB", "body") from None
    body = parse_json(data)
    if not isinstance(body, dict):
        raise APIProblem(400, "Bad Request", "the body must be a JSON object", "body")
    g.json_body = (max_bytes, body)
    return body


def load(schema: Schema, data) -> dict:
    """Validate with a marshmallow schema (a ValidationError becomes a 422 naming the field)."""
    return schema.load(data if data is not None else {})


def is_lonlat(lon: float, lat: float) -> bool:
    """Whether a pair is a longitude and a latitude in degrees (NaN is not)."""
    return -180 <= lon <= 180 and -90 <= lat <= 90


_LON = r"-?(180(\.0+)?|(1[0-7][0-9]|[0-9]{1,2})(\.[0-9]+)?)"
_LAT = r"-?(90(\.0+)?|[0-8]?[0-9](\.[0-9]+)?)"
#: A point in a query string, ``lon,lat`` in decimal degrees: what LonLatText accepts, and its OpenAPI pattern.
LONLAT_PATTERN = rf"^{_LON},{_LAT}$"
#: A box in a query string, ``minlon,minlat,maxlon,maxlat``: what BBoxText accepts (min at most max), and its pattern.
BBOX_PATTERN = rf"^{_LON},{_LAT},{_LON},{_LAT}$"


class PatternText(fields.Field):
    """A query-string value that must match ``pattern``, which /openapi.json states too, so the contract and the
    validation agree."""

    pattern = ""
    error = ""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.metadata = {"pattern": self.pattern, **self.metadata}

    def _deserialize(self, value, attr, data, **kwargs) -> tuple[float, ...]:
        if not isinstance(value, str) or not re.fullmatch(self.pattern, value):
            raise ValidationError(self.error)
        return tuple(float(v) for v in value.split(","))


class LonLatText(PatternText):
    """A point in a query string: ``lon,lat`` in degrees."""

    pattern = LONLAT_PATTERN
    error = "must be lon,lat in decimal degrees (lon in -180..180, lat in -90..90), such as 2.8037,50.4306"


class BBoxText(PatternText):
    """A box in a query string: ``minlon,minlat,maxlon,maxlat`` in degrees, min at most max (a line or a point is a
    box too: what it touches)."""

    pattern = BBOX_PATTERN
    error = "must be minlon,minlat,maxlon,maxlat in decimal degrees, such as 2.7,50.4,2.9,50.5"

    def _deserialize(self, value, attr, data, **kwargs) -> tuple[float, ...]:
        w, s, e, n = super()._deserialize(value, attr, data, **kwargs)
        if not (w <= e and s <= n):
            raise ValidationError("needs minlon <= maxlon and minlat <= maxlat")
        return w, s, e, n


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
