"""Every error leaves the API as application/problem+json (RFC 9457), from this one place."""

from __future__ import annotations

from flask import Flask, Response, json
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from gpx_exports.errors import (
    EmptyGPX,
    ExportError,
    GPXError,
    GPXTooLarge,
    InvalidGPX,
    NotACourse,
    OutsideBasin,
    TrackTooLong,
)
from poi_data.errors import POIQueryError, UnknownPOI
from poi_data.versions import UnknownVersion, VersionAhead
from routing.errors import (
    BBoxError,
    CircuitError,
    DataError,
    EmptyGraphError,
    GalibotError,
    PlannerTimeout,
    RoutingError,
)

from .trip_store import StoreUnavailable

PROBLEM_TYPE = "https://galibot.example/problems/"

#: The HTTP status of each family of library errors; an error takes the status of its nearest listed ancestor
#: (so a new routing or planning error is a 422 without being listed), and anything else is a 400.
STATUS_OF: dict[type, int] = {
    BBoxError: 400, DataError: 503, EmptyGraphError: 422, POIQueryError: 400, UnknownPOI: 404,
    UnknownVersion: 404, VersionAhead: 409,
    RoutingError: 422, PlannerTimeout: 503, CircuitError: 503,
    GPXError: 400, GPXTooLarge: 413, EmptyGPX: 422, InvalidGPX: 422, OutsideBasin: 422, TrackTooLong: 422,
    NotACourse: 422,
    ExportError: 422,
}


def status_of(exc: GalibotError) -> int:
    return next((STATUS_OF[k] for k in type(exc).__mro__ if k in STATUS_OF), 400)


def _first_field(messages, prefix: str = "") -> tuple[str, str]:
    """The dotted path and message of the first error in marshmallow's nested messages."""
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        if not prefix:
            path = str(key)
        else:
            path = f"{prefix}[{key}]" if isinstance(key, int) else f"{prefix}.{key}"
        return _first_field(value, path)
    if isinstance(messages, list) and messages and not isinstance(messages[0], str):
        return _first_field(messages[0], prefix)
    return prefix, "; ".join(messages) if isinstance(messages, list) else str(messages)


def _string_keys(messages, keep_ints: bool = False):
    """marshmallow's messages with string keys (a field a client named oddly may come back as None); list
    indices stay integers with ``keep_ints``, so the offending field reads ``points[1][1]``."""
    if isinstance(messages, dict):
        return {k if keep_ints and isinstance(k, int) else str(k): _string_keys(v, keep_ints)
                for k, v in messages.items()}
    if isinstance(messages, list):
        return [_string_keys(v, keep_ints) for v in messages]
    return messages


class APIProblem(Exception):
    """An error raised by a view: status, short title, detail and the offending field."""

    def __init__(self, status: int, title: str, detail: str = "", field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.field = status, title, detail, field
        self.headers = headers or {}


def problem(status: int, title: str, detail: str = "", field: str | None = None, **extra) -> Response:
    """A problem+json response."""
    body = {"type": PROBLEM_TYPE + title.lower().replace(" ", "-"), "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if field:
        body["field"] = field
    body.update(extra)
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")


def problem_fields(exc: APIProblem | GalibotError) -> dict:
    """The problem a refusal answers (status, title, detail, field, and a GPX error's line): what the handlers
    send, and what a job that met the refusal on a worker reports."""
    if isinstance(exc, APIProblem):
        return {"status": exc.status, "title": exc.title, "detail": exc.detail, "field": exc.field}
    fields = {"status": status_of(exc), "title": type(exc).__name__, "detail": str(exc),
              "field": getattr(exc, "field", None)}
    if getattr(exc, "line", None):
        fields["line"] = exc.line
    return fields


def register_error_handlers(app: Flask) -> None:
    """Map APIProblem, library errors, HTTP errors and anything unexpected to problem+json."""

    @app.errorhandler(APIProblem)
    def _api_problem(exc: APIProblem) -> Response:
        resp = problem(**problem_fields(exc))
        resp.headers.update(exc.headers)
        return resp

    @app.errorhandler(StoreUnavailable)
    def _store_down(exc: StoreUnavailable) -> Response:
        resp = problem(503, "Service Unavailable", str(exc))
        resp.headers["Retry-After"] = "5"
        return resp

    @app.errorhandler(GalibotError)
    def _library(exc: GalibotError) -> Response:
        return problem(**problem_fields(exc))

    @app.errorhandler(ValidationError)
    def _invalid(exc: ValidationError) -> Response:
        field, message = _first_field(_string_keys(exc.messages, keep_ints=True))
        return problem(422, "Invalid Request", f"{field}: {message}", field, errors=_string_keys(exc.messages))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        if (exc.code or 500) >= 500:  # Flask wraps what failed outside a view (an after_request hook) in a 500
            cause = getattr(exc, "original_exception", None) or exc
            app.logger.error("internal error", exc_info=(type(cause), cause, cause.__traceback__))
            return problem(500, "Internal Server Error", "an unexpected error occurred; it has been logged")
        resp = problem(exc.code, exc.name, exc.description or "")
        for name, value in exc.get_headers():  # Allow of a 405, Content-Range of a 416, WWW-Authenticate…
            if name.lower() != "content-type":
                resp.headers[name] = value
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unhandled error")
        return problem(500, "Internal Server Error", "an unexpected error occurred; it has been logged")
