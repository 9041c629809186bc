"""``/v1/trips``: trips the app saved offline, synced later; scoped to the bearer token that wrote them.

``PUT /v1/trips/<uuid>`` is idempotent (the id is the client's, a replay is a no-op) and takes
``If-Match`` (or a ``version`` in the body) for optimistic concurrency: a stale write gets 412 (409 for
a body version) with the server's copy. ``DELETE`` leaves a tombstone. ``GET /v1/trips/changes``
is the change feed a device reads from its last cursor.
"""

from __future__ import annotations

import re
import uuid

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate
from werkzeug.routing import BaseConverter

from routing.profiles import PROFILES
from routing.settings import DATA_BBOX

from .common import bearer_token, json_body, load
from .devices import signed_token
from .errors import APIProblem, problem
from .trip_store import (
    CURSOR_RE,
    FEED_MAX_ENTRIES,
    FEED_PAGE_MAX,
    FEED_RETENTION_S,
    LIST_PAGE_MAX,
    MAX_BYTES_PER_TOKEN,
    MAX_TRIPS_PER_TOKEN,
    CursorExpired,
    TripStore,
    WriteResult,
    namespace,
)

bp = Blueprint("trips", __name__, url_prefix="/v1/trips")


class TripIdConverter(BaseConverter):
    """A trip id in a path: any segment but ``changes``, so ``/v1/trips/changes`` is the feed for every method
    (an OPTIONS there does not advertise a trip's PUT and DELETE). A non-UUID id is then a 400 naming it."""

    regex = r"(?!changes$)[^/]+"


@bp.record_once
def _register_converter(state) -> None:
    state.app.url_map.converters["trip_id"] = TripIdConverter

#: A trip body larger than this is refused before it is read (413).
MAX_TRIP_BYTES = 64 * 1024
MAX_TRIP_POINTS = 1000


#: How OpenAPI describes a point (the field checks more: numbers, not booleans, inside the basin).
PAIR_SCHEMA = {"items": {"type": "number"}, "minItems": 2, "maxItems": 2, "example": [2.8043729, 50.4306149]}


class BasinPoint(fields.Field):
    """``[lon, lat]`` in degrees, inside the basin's data area."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[float]:
        if (not isinstance(value, list | tuple) or len(value) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
            raise ValidationError("must be [lon, lat] in degrees")
        lon, lat = float(value[0]), float(value[1])
        w, s, e, n = DATA_BBOX
        if not (w <= lon <= e and s <= lat <= n):
            raise ValidationError(f"({lon:g}, {lat:g}) lies outside the basin, lon {w:g}..{e:g}, lat {s:g}..{n:g}")
        return [lon, lat]


class TripSchema(Schema):
    """What the app stores for a trip: the itinerary, its settings, notes and progress."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    profile = fields.String(required=True, validate=validate.OneOf(list(PROFILES)))
    points = fields.List(BasinPoint(metadata=PAIR_SCHEMA), required=True,
                         validate=validate.Length(min=1, max=MAX_TRIP_POINTS),
                         metadata={"description": "[[lon, lat], …] inside the basin"})
    notes = fields.String(load_default="", validate=validate.Length(max=20_000))
    settings = fields.Dict(keys=fields.String(), load_default=dict, metadata={"description": "planner settings"})
    progress = fields.Dict(keys=fields.String(), load_default=dict,
                           metadata={"description": "where the user is on the trip (free-form)"})
    version = fields.Integer(strict=True, validate=validate.Range(min=0), load_only=True,
                             metadata={"description": "the server version this edit starts from (or If-Match)"})


class TripOutSchema(Schema):
    id = fields.String(required=True)
    name = fields.String()
    profile = fields.String()
    points = fields.List(fields.List(fields.Float()))
    notes = fields.String()
    settings = fields.Dict()
    progress = fields.Dict()
    version = fields.Integer(required=True)
    deleted = fields.Boolean(required=True)
    updated_at = fields.String(required=True)
    etag = fields.String()


class TripListSchema(Schema):
    trips = fields.List(fields.Nested(TripOutSchema), required=True)
    next = fields.String(required=True, allow_none=True,
                         metadata={"description": "pass it as `after` for the next page; null on the last"})


class TripListQuerySchema(Schema):
    after = fields.String(load_default="", validate=validate.Length(max=36),
                          metadata={"description": "the `next` of the page before"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=LIST_PAGE_MAX))


class TripChangesSchema(Schema):
    changes = fields.List(fields.Nested(TripOutSchema), required=True)
    cursor = fields.String(required=True, metadata={"description": "pass it back to read what follows"})
    more = fields.Boolean(required=True)


class TripChangesQuerySchema(Schema):
    cursor = fields.String(load_default="0", validate=validate.Regexp(CURSOR_RE, error="not a cursor of this feed"))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=FEED_PAGE_MAX))


def _store() -> TripStore:
    return current_app.extensions["galibot.trips"]


def _owner() -> str:
    """The caller's namespace; 401 without a device token the server issued (``POST /v1/devices``)."""
    token = signed_token()
    if not token:
        detail = "this bearer token was not issued by this server" if bearer_token() else "trips need a bearer token"
        raise APIProblem(401, "Unauthorized", f"{detail}: get a device token from POST /v1/devices and send it as "
                                              "Authorization: Bearer <token>", "Authorization",
                         headers={"WWW-Authenticate": 'Bearer realm="galibot trips"'})
    return namespace(token)


def _trip_id(trip_id: str) -> str:
    """The canonical form of a client-generated UUID; 400 naming the id otherwise."""
    try:
        return str(uuid.UUID(trip_id))
    except ValueError:
        raise APIProblem(400, "Bad Request", f"{trip_id[:64]!r} is not a UUID (the client generates one per trip)",
                         "trip_id") from None


def _with_etag(body: dict, status: int, etag: str | None) -> Response:
    resp = jsonify(TripOutSchema().dump(body))
    resp.status_code = status
    if etag:
        resp.set_etag(etag)
    return resp


def _conflict(result: WriteResult, status: int, detail: str, field: str) -> Response:
    """412 or 409 with the server's copy, so the app can merge."""
    server = result.trip.as_dict() if result.trip else None
    return problem(status, "Precondition Failed" if status == 412 else "Conflict", detail, field, server_copy=server)


@bp.get("")
def list_trips():
    """The caller's live trips, a page at a time, by id."""
    ns = _owner()
    args = load(TripListQuerySchema(), request.args.to_dict())
    trips, after = _store().list(ns, args["after"], args["limit"])
    return TripListSchema().dump({"trips": [t.as_dict() for t in trips], "next": after})


@bp.get("/changes")
def trip_changes():
    """Trips created, updated or deleted after ``cursor`` (tombstones included), in the order of their last change."""
    ns = _owner()
    args = load(TripChangesQuerySchema(), request.args.to_dict())
    try:
        trips, cursor, more = _store().changes(ns, args["cursor"], args["limit"])
    except CursorExpired as exc:
        kept = f"the feed keeps {FEED_RETENTION_S // 86400} days and {FEED_MAX_ENTRIES:,} changes"
        return problem(410, "Gone", f"{kept}; the changes after this cursor are gone: list the trips again "
                                    "(GET /v1/trips), then read the feed from `cursor`", "cursor", cursor=exc.floor)
    return TripChangesSchema().dump({"changes": [t.as_dict() for t in trips], "cursor": cursor, "more": more})


@bp.get("/<trip_id:trip_id>")
def get_trip(trip_id: str):
    """One trip of the caller, with its ETag; 410 once deleted, 404 if the caller never stored it."""
    ns, trip_id = _owner(), _trip_id(trip_id)
    trip = _store().get(ns, trip_id)
    if trip is None:
        raise APIProblem(404, "Not Found", f"no trip {trip_id} for this token", "trip_id")
    if trip.deleted:
        raise APIProblem(410, "Gone", f"trip {trip_id} was deleted (version {trip.version})", "trip_id")
    if request.if_none_match.contains(trip.etag):
        resp = Response(status=304)
        resp.set_etag(trip.etag)
        return resp
    return _with_etag(trip.as_dict(), 200, trip.etag)


#: What If-Match may hold here: ``*``, one strong entity tag (RFC 9110; ours are never empty), or nothing, as
#: /openapi.json states.
IF_MATCH_RE = re.compile(r'^(\*|"[\x21\x23-\x7e]+")?$')


def _if_match() -> str | None:
    """The If-Match tag (a single strong tag or ``*``), or None without the header; 400 naming ``If-Match`` for
    anything else, which would otherwise parse as no condition and let a stale write through."""
    raw = request.headers.get("If-Match", "").strip()
    if not raw:  # an empty field lists no tag (RFC 9110's #entity-tag): no condition, as without it
        return None
    if not IF_MATCH_RE.match(raw):
        raise APIProblem(400, "Bad Request", 'If-Match takes one strong ETag, such as "1.e3c300205050b1c1", or *',
                         "If-Match")
    return "*" if request.if_match.star_tag else next(iter(request.if_match))


@bp.put("/<trip_id:trip_id>")
def put_trip(trip_id: str):
    """Create or replace a trip: 201 created, 200 updated or unchanged (a replay), 412/409 when stale."""
    ns, trip_id = _owner(), _trip_id(trip_id)
    content = load(TripSchema(), json_body(MAX_TRIP_BYTES))
    base = content.pop("version", None)
    result = _store().put(ns, trip_id, content, _if_match(), base)
    if result.outcome == "precondition":
        return _conflict(result, 412, "If-Match does not match the stored trip; it was changed elsewhere",
                         "If-Match")
    if result.outcome == "quota_count":
        raise APIProblem(413, "Content Too Large", f"this token holds {MAX_TRIPS_PER_TOKEN} trips, its most; delete "
                                                   "some first", "trip_id")
    if result.outcome == "quota_bytes":
        raise APIProblem(413, "Content Too Large", f"this token's trips would pass {MAX_BYTES_PER_TOKEN // 2**20} MiB, "
                                                   "its most; delete some first", "body")
    if result.outcome in ("behind", "ahead"):
        word = "behind" if result.outcome == "behind" else "ahead of"
        stored = result.trip.version if result.trip else 0  # a trip never stored is at version 0
        return _conflict(result, 409, f"version {base} is {word} the stored version {stored}", "version")
    return _with_etag(result.trip.as_dict(), 201 if result.outcome == "created" else 200, result.trip.etag)


@bp.delete("/<trip_id:trip_id>")
def delete_trip(trip_id: str):
    """Delete a trip (a tombstone stays in the feed): 204, also when it was already deleted; 412 when stale."""
    ns, trip_id = _owner(), _trip_id(trip_id)
    result = _store().delete(ns, trip_id, _if_match())
    if result.outcome == "missing":
        raise APIProblem(404, "Not Found", f"no trip {trip_id} for this token", "trip_id")
    if result.outcome == "precondition":
        return _conflict(result, 412, "If-Match does not match the stored trip; it was changed elsewhere",
                         "If-Match")
    return Response(status=204)
