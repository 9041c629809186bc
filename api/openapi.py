"""``GET /openapi.json`` and ``GET /docs``: the OpenAPI 3 contract, generated from the views' marshmallow schemas.

Each operation names the schemas its view validates with (request body, query) and the shape of
what it answers; apispec's marshmallow plugin turns them into JSON Schema. The docs page is plain
HTML rendered from the same document, so it works offline.
"""

from __future__ import annotations

import html
from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Response, jsonify
from marshmallow import INCLUDE, Schema, fields, validate

from gpx_exports.network import NETWORK_KINDS
from presentation import LANGUAGES
from routing import __version__
from routing.profiles import PROFILES

from . import (
    bundles,
    common,
    devices,
    health,
    isochrones,
    jobs,
    pois,
    races,
    results,
    roundtrips,
    routes,
    tours,
    trails,
    trips,
)
from .circuits import ThemedCircuitSchema
from .responses import (
    AnalysisSchema,
    CircuitListSchema,
    CourseCollectionSchema,
    IsochroneCollectionSchema,
    POIChangesSchema,
    POICollectionSchema,
    POIFeatureSchema,
    RouteCollectionSchema,
    RouteFeatureSchema,
    ThemeListSchema,
)

bp = Blueprint("openapi", __name__)

PROBLEM = "application/problem+json"
GEOJSON = "application/geo+json"
GPX = "application/gpx+xml"


class ProblemSchema(Schema):
    """RFC 9457 problem details, with the offending field and line where there is one."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    field = fields.String()
    line = fields.Integer()
    errors = fields.Dict()


#: The API's own fields and the OpenAPI type they read from (a place is left open: [lon, lat] or a POI id).
CUSTOM_FIELDS = ((common.LonLatText, "string", None), (common.BBoxText, "string", None),
                 (common.MinutesList, "string", None), (results.KmList, "string", None),
                 (trips.BasinPoint, "array", None))

ERRORS = {
    400: "bad input", 401: "no device token from POST /v1/devices", 403: "another device's race",
    404: "unknown id",
    409: "a version that is behind or ahead of the stored one (with `server_copy`), or a race version already "
         "published",
    410: "deleted (a tombstone), or a feed cursor older than the feed keeps",
    412: "If-Match does not match the stored version (with `server_copy`)",
    413: "the body is over the endpoint's limit, or a token's trip or race quota is full",
    415: "the body is not declared as application/json",
    416: "the Range lies past the end of the file", 422: "invalid input, named in `field`",
    429: "rate limited; see Retry-After",
    503: "the graph is loading, a planner ran out of time, or the trip store is down (Retry-After)",
}


def _responses(ok: str | type[Schema], codes: tuple[int, ...], gpx: bool = False, media: str = GEOJSON) -> dict:
    out: dict = {}
    if isinstance(ok, str):
        out["200"] = {"description": ok, "content": {"text/html": {"schema": {"type": "string"}}}}
    else:
        content = {media: {"schema": ok}}
        if gpx:
            content[GPX] = {"schema": {"type": "string"}}
            content["text/csv"] = {"schema": {"type": "string"}}
            content["application/vnd.ant.fit"] = {"schema": {"type": "string", "format": "binary"}}
            content.update({media_type: {"schema": {"type": "string", "format": "binary"}}
                            for media_type in ("application/pdf", "image/png")})
            content["image/svg+xml"] = {"schema": {"type": "string"}}
        out["200"] = {"description": "the result", "content": content}
    if gpx:
        out["304"] = {"description": "not modified (If-None-Match)"}
    for code in codes:
        out[str(code)] = {"description": ERRORS[code], "content": {PROBLEM: {"schema": "ProblemSchema"}}}
    out["414"] = SERVER_LIMIT
    return out


def _json(schema, codes: tuple[int, ...], status: str = "200", extra: dict | None = None) -> dict:
    """Responses of a JSON operation: ``status`` with ``schema``, the problems of ``codes``, and ``extra``."""
    out = {status: {"description": "the result", "content": {"application/json": {"schema": schema}}}}
    out.update(extra or {})
    for code in codes:
        out[str(code)] = {"description": ERRORS[code], "content": {PROBLEM: {"schema": "ProblemSchema"}}}
    out["414"] = SERVER_LIMIT
    return out


def _query(schema: Schema | type[Schema]) -> list[dict]:
    return [{"in": "query", "schema": schema}]


def _path(name: str, description: str) -> dict:
    return {"in": "path", "name": name, "required": True, "schema": {"type": "string"}, "description": description}


PLANNED = (400, 404, 415, 422, 429, 503)
#: A route result is one Feature (a route) or a FeatureCollection of them; a stored result may also be areas.
ROUTE_RESULT = {"anyOf": [RouteFeatureSchema, RouteCollectionSchema, CourseCollectionSchema]}
ANY_RESULT = {"anyOf": [RouteFeatureSchema, RouteCollectionSchema, CourseCollectionSchema, IsochroneCollectionSchema]}
#: The server in front refuses a request line over 4 KiB itself, before the app.
SERVER_LIMIT = {"description": "request line over 4 KiB (nginx answers, before the app; gunicorn alone answers HTML)",
                "content": {PROBLEM: {"schema": "ProblemSchema"}, "text/html": {"schema": {"type": "string"}}}}


#: The language of the texts (else Accept-Language, else English).
LANG_PARAMETER = {"in": "query", "name": "lang", "required": False,
                  "schema": {"type": "string", "enum": list(LANGUAGES)},
                  "description": "the language of names, descriptions and instructions; else Accept-Language"}


#: Conditional requests on a trip: the ETag of its last read or write.
IF_MATCH = {"in": "header", "name": "If-Match", "required": False,
            "schema": {"type": "string", "pattern": trips.IF_MATCH_RE.pattern},
            "description": "the trip's ETag: the write applies only to that version (else 412); * for any"}
IF_NONE_MATCH = {"in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"},
                 "description": "the trip's ETag: 304 while it has not changed"}

#: OpenAPI links: what a client does next with a response, so a stateful client (and schemathesis) can chain
#: operations on one trip: write it, read it, write it again from its ETag, delete it, read the tombstone.
_SAME_TRIP = {"trip_id": "$request.path.trip_id"}
TRIP_LINKS = {
    "ReadTrip": {"operationId": "getTrip", "parameters": _SAME_TRIP},
    "ReadTripUnchanged": {"operationId": "getTrip",
                          "parameters": {**_SAME_TRIP, "header.If-None-Match": "$response.header.ETag"}},
    "ReplaceTrip": {"operationId": "putTrip",
                    "parameters": {**_SAME_TRIP, "header.If-Match": "$response.header.ETag"}},
    "DeleteTrip": {"operationId": "deleteTrip",
                   "parameters": {**_SAME_TRIP, "header.If-Match": "$response.header.ETag"}},
}
TRIP_GONE_LINKS = {"ReadTombstone": {"operationId": "getTrip", "parameters": _SAME_TRIP},
                   "DeleteAgain": {"operationId": "deleteTrip", "parameters": _SAME_TRIP},
                   "Recreate": {"operationId": "putTrip", "parameters": _SAME_TRIP}}
#: The links of each operation's answers, by operation id and status: the trip chain above, the next page of a
#: list or feed, one item of a list.
LINKS = {
    ("putTrip", "201"): TRIP_LINKS, ("putTrip", "200"): TRIP_LINKS,
    ("getTrip", "200"): {k: TRIP_LINKS[k] for k in ("ReplaceTrip", "DeleteTrip", "ReadTripUnchanged")},
    ("deleteTrip", "204"): TRIP_GONE_LINKS,
    ("listTrips", "200"): {"NextPage": {"operationId": "listTrips", "parameters": {"after": "$response.body#/next"}}},
    ("tripChanges", "200"): {"MoreChanges": {"operationId": "tripChanges",
                                             "parameters": {"cursor": "$response.body#/cursor"}}},
    ("createRace", "201"): {"ReadRace": {"operationId": "getRace", "parameters": {"race_id": "$response.body#/id"}},
                            "PublishVersion": {"operationId": "publishRace",
                                               "parameters": {"race_id": "$response.body#/id"}}},
    ("listPois", "200"): {"OnePoi": {"operationId": "getPoi",
                                     "parameters": {"poi_id": "$response.body#/features/0/id"}}},
    ("listCircuits", "200"): {"OneCircuit": {"operationId": "getCircuit",
                                             "parameters": {"circuit_id": "$response.body#/circuits/0/id"}}},
}
#: Each operation's id, by path and method (links name their target by it).
OPERATION_IDS = {
    ("/v1/health", "get"): "health", ("/v1/pois", "get"): "listPois", ("/v1/pois/{poi_id}", "get"): "getPoi",
    ("/v1/routes", "post"): "planRoute", ("/v1/tours", "post"): "planTour",
    ("/v1/roundtrips", "post"): "planRoundTrips", ("/v1/trails", "post"): "planTrail",
    ("/v1/isochrones", "get"): "isochrones", ("/v1/circuits", "get"): "listCircuits",
    ("/v1/circuits", "post"): "planThemedCircuit",
    ("/v1/circuits/{circuit_id}", "get"): "getCircuit", ("/v1/results/{name}", "get"): "getResult",
    ("/v1/gpx/analyze", "post"): "analyzeGpx", ("/v1/gpx/analyses/{key}", "get"): "getAnalysis",
    ("/v1/bundles", "get"): "listBundles",
    ("/v1/bundles/{region}/manifest.json", "get"): "getManifest",
    ("/v1/bundles/{region}/{name}", "get"): "getBundleFile", ("/v1/pois/changes", "get"): "poiChanges",
    ("/v1/devices", "post"): "newDevice", ("/v1/trips", "get"): "listTrips",
    ("/v1/trips/changes", "get"): "tripChanges", ("/v1/trips/{trip_id}", "get"): "getTrip",
    ("/v1/trips/{trip_id}", "put"): "putTrip", ("/v1/trips/{trip_id}", "delete"): "deleteTrip",
    ("/v1/races", "post"): "createRace", ("/v1/races/{race_id}", "put"): "publishRace",
    ("/v1/races/{race_id}", "get"): "getRace",
    ("/v1/tiles/{z}/{x}/{y}.mvt", "get"): "getTile", ("/v1/tiles/tiles.json", "get"): "getTileJson",
    ("/v1/tiles/style.json", "get"): "getMapStyle", ("/v1/pois/themes", "get"): "listThemes",
    ("/v1/network/{kind}.geojson", "get"): "getNetwork", ("/v1/jobs/{job_id}", "get"): "getJob",
}


def _with_ids_and_links(ops: dict[str, dict]) -> dict[str, dict]:
    """Every operation with its ``operationId``, and its answers with the links of ``LINKS``."""
    for path, methods in ops.items():
        for method, op in methods.items():
            op["operationId"] = OPERATION_IDS[(path, method)]
            for status, response in op["responses"].items():
                if (op["operationId"], status) in LINKS:
                    response["links"] = LINKS[(op["operationId"], status)]
    return ops


def _body(schema) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _post(summary: str, schema, codes: tuple[int, ...] = PLANNED) -> dict:
    """A planner's POST: a JSON body, the file options, a route result (GeoJSON or GPX)."""
    return {"post": {"summary": summary, "parameters": _query(results.FileOptionsSchema), "requestBody": _body(schema),
                     "responses": _responses(ROUTE_RESULT, codes, gpx=True)}}


#: Why each kind of request may be queued.
QUEUED_BECAUSE = {
    "planner": "the result is not computed yet",
    "file": "a printed sheet or map picture (format=pdf or png) not drawn yet",
    "analysis": f"an upload over {jobs.JOB_GPX_BYTES // 1024} KiB not analysed yet",
}


def _queued(op: dict, *why: str) -> dict:
    """An operation that a server with a job queue answers ``202 Accepted`` when ``why`` (api/jobs.py)."""
    for method in op.values():
        method["responses"]["202"] = {
            "description": f"queued (a server with RQ workers, as make run starts): "
                           f"{' or '.join(QUEUED_BECAUSE[w] for w in why)}; a worker makes it; poll the job at "
                           f"Location, whose links lead to it once done",
            "headers": {"Location": {"schema": {"type": "string"}, "description": "the job: /v1/jobs/<id>"},
                        "Retry-After": {"schema": {"type": "integer"}, "description": "seconds before asking"}},
            "content": {"application/json": {"schema": jobs.JobSchema}}}
    return op


def operations() -> dict[str, dict]:
    """Every path and method of the API with its parameters, body and responses."""
    return _with_ids_and_links({**core_operations(), **offline_operations(), **race_operations()})


def _race_upload(required: list[str]) -> dict:
    """The multipart body of a race: the course file and the race spec, a JSON part (``RaceSpec``)."""
    return {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": required,
                   "properties": {"file": {"type": "string", "format": "binary",
                                           "description": "the course as GPX (a track or a route)"},
                                  "race": {"$ref": "#/components/schemas/RaceSpec"}}},
        "encoding": {"race": {"contentType": "application/json"}}}}}


def race_operations() -> dict[str, dict]:
    """An organiser's own course as a race: create, publish versions, read it and its files."""
    auth = [{"bearer": []}]
    files = {results.FORMATS[ext]: {"schema": {"type": "string", "format": "binary"}}
             for ext in races.RACE_FILES if ext != "geojson"}  # the GeoJSON course has its own schema
    race = {"application/json": {"schema": races.RaceOutSchema}}
    ops = {
        "/v1/races": {"post": {
            "summary": "A race from the organiser's own GPX (never re-routed): checkpoints, cut-offs, warnings",
            "security": auth, "requestBody": _race_upload(["file", "race"]),
            "responses": _json(races.RaceOutSchema, (400, 401, 404, 413, 422, 429, 503), "201")}},
        "/v1/races/{race_id}": {"put": {
            "summary": "Publish a new version of a race (its owner's token only): a new file, spec, or both",
            "security": auth, "parameters": [_path("race_id", "the id of POST /v1/races")],
            "requestBody": _race_upload([]),
            "responses": _json(races.RaceOutSchema, (400, 401, 403, 404, 409, 413, 422, 429, 503))}, "get": {
            "summary": "A race: <id> (JSON) or <id>.gpx|.fit|.geojson|.csv|.pdf|.png|.svg with the file options",
            "parameters": [_path("race_id", "<id>, or <id>.<format> for a file"), *_query(results.FileOptionsSchema)],
            "responses": {"200": {"description": "the race or its file",
                                  "content": {**race, GEOJSON: {"schema": CourseCollectionSchema}, **files}},
                          "304": {"description": "not modified (If-None-Match)"},
                          **{str(c): {"description": ERRORS[c], "content": {PROBLEM: {"schema": "ProblemSchema"}}}
                             for c in (400, 404, 422, 429, 503)}, "414": SERVER_LIMIT}}},
    }
    _queued({"get": ops["/v1/races/{race_id}"]["get"]}, "file")  # the sheet and the map of a race
    return ops


def offline_operations() -> dict[str, dict]:
    """Bundles, POI deltas and trip sync: what the offline app needs."""
    not_modified = {"304": {"description": "not modified (If-None-Match)"}}
    binary = {"schema": {"type": "string", "format": "binary"}}
    trip_id = {**_path("trip_id", "a UUID the client generated for the trip"),
               "schema": {"type": "string", "format": "uuid"}}
    auth = [{"bearer": []}]
    stored = {"description": "the stored trip, with its ETag", "content": {
        "application/json": {"schema": trips.TripOutSchema}}}
    mvt = {"application/vnd.mapbox-vector-tile": binary}
    problems = {str(c): {"description": ERRORS[c], "content": {PROBLEM: {"schema": "ProblemSchema"}}}
                for c in (404, 503)}
    return {
        "/v1/tiles/{z}/{x}/{y}.mvt": {"get": {
            "summary": "A basemap vector tile (gzip MVT, OpenMapTiles layers), zooms 8 to 14; 204 outside the area",
            "parameters": [_path("z", "zoom, 8 to 14"), _path("x", "tile column"), _path("y", "tile row")],
            "responses": {"200": {"description": "the tile", "content": mvt},
                          "204": {"description": "no tile here: outside the served area (draw empty land)"},
                          **not_modified, **problems, "414": SERVER_LIMIT}}},
        "/v1/network/{kind}.geojson": {"get": {
            "summary": "The greenways, cavaliers or EuroVelo 5 as one GeoJSON MultiLineString, for a map overlay",
            "parameters": [{**_path("kind", "what to draw"),
                            "schema": {"type": "string", "enum": list(NETWORK_KINDS)}}],
            "responses": {"200": {"description": "a FeatureCollection of one Feature (its km in properties)",
                                  "content": {GEOJSON: {"schema": {"type": "object"}}}},
                          **not_modified, **problems, "414": SERVER_LIMIT}}},
        "/v1/tiles/tiles.json": {"get": {"summary": "The basemap's TileJSON 3.0",
                                         "responses": _json({"type": "object"}, (503,), extra=not_modified)}},
        "/v1/tiles/style.json": {"get": {
            "summary": "The MapLibre style of the basemap on this server's tiles (needs no glyphs or sprites)",
            "responses": _json({"type": "object"}, (503,), extra=not_modified)}},
        "/v1/bundles": {"get": {"summary": "The regions and their current bundles",
                                "responses": _json(bundles.BundleListSchema, ())}},
        "/v1/bundles/{region}/manifest.json": {"get": {
            "summary": "A bundle's manifest: versions, build time, files with size, sha256 and media type",
            "parameters": [_path("region", "see /v1/bundles")],
            "responses": _json({"type": "object"}, (404,), extra=not_modified)}},
        "/v1/bundles/{region}/{name}": {"get": {
            "summary": "A bundle file: ETag = sha256, immutable, Range to resume (206)",
            "parameters": [_path("region", "see /v1/bundles"), _path("name", "a file name of the manifest")],
            "responses": {
                "200": {"description": "the file", "content": {"application/gzip": binary, GPX: binary}},
                "206": {"description": "the requested range", "content": {"application/gzip": binary, GPX: binary}},
                **not_modified,
                "404": {"description": ERRORS[404], "content": {PROBLEM: {"schema": "ProblemSchema"}}},
                "416": {"description": ERRORS[416]}, "414": SERVER_LIMIT}}},
        "/v1/pois/changes": {"get": {
            "summary": "POIs added, changed and removed (tombstones) since a catalogue version",
            "parameters": _query(pois.ChangesQuerySchema),
            "responses": _json(POIChangesSchema, (404, 409, 422, 503))}},
        "/v1/devices": {"post": {
            "summary": "A new device token, signed by the server: trips and per-client limits need one",
            "responses": _json(devices.DeviceSchema, (429,), "201")}},
        "/v1/trips": {"get": {"summary": "The caller's trips, a page at a time (by id)", "security": auth,
                              "parameters": _query(trips.TripListQuerySchema),
                              "responses": _json(trips.TripListSchema, (401, 422, 503))}},
        "/v1/trips/changes": {"get": {
            "summary": "The change feed of the caller's trips after a cursor (tombstones included)",
            "security": auth, "parameters": _query(trips.TripChangesQuerySchema),
            "responses": _json(trips.TripChangesSchema, (401, 410, 422, 503))}},
        "/v1/trips/{trip_id}": {
            "get": {"summary": "One trip", "security": auth, "parameters": [trip_id, IF_NONE_MATCH],
                    "responses": _json(trips.TripOutSchema, (400, 401, 404, 410, 503), extra=not_modified)},
            "put": {"summary": "Create or replace a trip (idempotent; If-Match or a body version for concurrency)",
                    "security": auth, "parameters": [trip_id, IF_MATCH],
                    "requestBody": _body(trips.TripSchema),
                    "responses": _json(trips.TripOutSchema, (400, 401, 409, 412, 413, 415, 422, 503), "201",
                                       extra={"200": stored})},
            "delete": {"summary": "Delete a trip, leaving a tombstone", "security": auth,
                       "parameters": [trip_id, IF_MATCH],
                       "responses": {"204": {"description": "deleted (or already)"},
                                     **{str(c): {"description": ERRORS[c],
                                                 "content": {PROBLEM: {"schema": "ProblemSchema"}}}
                                        for c in (400, 401, 404, 412, 503)}, "414": SERVER_LIMIT}}},
    }


def _kept_at(responses: dict, where: str) -> dict:
    """The answers of an operation whose 200 says where it is kept (``Content-Location``)."""
    responses["200"]["headers"] = {"Content-Location": {"schema": {"type": "string"}, "description": where}}
    return responses


def core_operations() -> dict[str, dict]:
    """Health, POIs, routes, planners, circuits, results and GPX analysis."""
    files, post = _query(results.FileOptionsSchema), _post
    return {
        "/v1/health": {"get": {"summary": "Service state, data version, graph size and Redis state",
                               "responses": {"200": {"description": "ready", "content": {
                                   "application/json": {"schema": health.HealthSchema}}},
                                   "503": {"description": "loading or failed", "content": {
                                       "application/json": {"schema": health.HealthSchema}}},
                                   "414": SERVER_LIMIT}}},
        "/v1/pois": {"get": {"summary": "POIs by theme, bbox, distance and text, as GeoJSON with a total",
                             "parameters": _query(pois.POIQuerySchema),
                             "responses": _responses(POICollectionSchema, (400, 422, 503), media="application/json")}},
        "/v1/pois/themes": {"get": {"summary": "The POI themes with their labels by language and their POI counts",
                                    "responses": _json(ThemeListSchema, (503,))}},
        "/v1/pois/{poi_id}": {"get": {"summary": "One POI",
                                      "parameters": [_path("poi_id", "a catalogue id"), LANG_PARAMETER],
                                      "responses": _responses(POIFeatureSchema, (404, 422, 503),
                                                              media="application/json")}},
        "/v1/routes": _queued(post("A to B (and vias) with alternatives and avoid areas", routes.RouteRequestSchema,
                                   (400, 404, 415, 422, 503)), "file"),
        "/v1/tours": _queued(post("Visit stops in the best order, optionally in days ending near lodging",
                                  tours.TourSchema), "planner", "file"),
        "/v1/roundtrips": _queued(post("Up to 3 loops of a length or duration from a start",
                                       roundtrips.RoundTripSchema), "file"),
        "/v1/trails": _queued(post("A trail-running course over N terril summits", trails.TrailSchema), "planner",
                              "file"),
        "/v1/jobs/{job_id}": {"get": {
            "summary": "A queued request: its status and progress, then its result's links or its problem",
            "parameters": [{**_path("job_id", "from the Location of a 202 answer"),
                            "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}}],
            "responses": _json(jobs.JobSchema, (404, 503))}},
        "/v1/isochrones": {"get": {"summary": "The area reachable within each number of minutes",
                                   "parameters": _query(isochrones.IsochroneQuerySchema),
                                   "responses": _responses(IsochroneCollectionSchema, (400, 422, 429, 503))}},
        "/v1/circuits": {"get": {"summary": "The named circuits, without geometry",
                                 "parameters": [LANG_PARAMETER],
                                 "responses": _responses(CircuitListSchema, (422, 503), media="application/json")},
                         **_queued(_post("A themed circuit: the most valuable POIs of some themes within a budget",
                                         ThemedCircuitSchema), "file")},
        "/v1/circuits/{circuit_id}": _queued({"get": {
            "summary": "One named circuit (format=gpx, race=true for a race file)",
            "parameters": [_path("circuit_id", "see /v1/circuits"), LANG_PARAMETER, *files],
            "responses": _responses({"anyOf": [RouteCollectionSchema, CourseCollectionSchema]}, (400, 404, 422, 503),
                                    gpx=True)}}, "file"),
        "/v1/results/{name}": _queued({"get": {
            "summary": "A result computed earlier: <key>, <key>.geojson or <key>.gpx (with the GPX options)",
            "parameters": [_path("name", "the key from a result's links"), *files],
            "responses": _responses(ANY_RESULT, (400, 404, 422, 429, 503), gpx=True)}}, "file"),
        "/v1/gpx/analyze": _queued({"post": {
            "summary": "Check a GPX drawn elsewhere against the graph and the DEM",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"},
                               "profile": {"type": "string", "enum": list(PROFILES)},
                               "snap": {"type": "boolean"}}}}}},
            "responses": _kept_at(_responses(AnalysisSchema, (400, 413, 422, 429, 503), media="application/json"),
                                  "/v1/gpx/analyses/<key>: the analysis kept, to read again")}},
            "analysis"),
        "/v1/gpx/analyses/{key}": {"get": {
            "summary": "An analysis made earlier: the result link of an analysis job",
            "parameters": [{**_path("key", "from the job's result link"),
                            "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}}],
            "responses": _json(AnalysisSchema, (404, 503))}},
    }


def _exclusive_bounds(converter, field: fields.Field, ret: dict, **kwargs) -> dict:
    """OpenAPI 3.0's ``exclusiveMinimum``/``exclusiveMaximum`` for a Range that excludes its bound (apispec writes
    the bound alone, which would tell clients that 0 km is a valid distance)."""
    out = {}
    for v in field.validators:
        if isinstance(v, validate.Range):
            if v.min is not None and not v.min_inclusive:
                out["exclusiveMinimum"] = True
            if v.max is not None and not v.max_inclusive:
                out["exclusiveMaximum"] = True
    return out


@cache
def document() -> dict:
    """The OpenAPI 3 document (built once per process)."""
    marshmallow = MarshmallowPlugin()
    spec = APISpec(title="galibot", version=__version__, openapi_version="3.0.3", plugins=[marshmallow],
                   info={"description": "Route planning for the Bassin minier: routes, tours, round trips, trail "
                                        "courses, isochrones, named circuits, POIs and GPX. Data © OpenStreetMap "
                                        "contributors (ODbL), Mission Bassin Minier (Etalab 2.0), SRTM."})
    for field_class, openapi_type, openapi_format in CUSTOM_FIELDS:
        marshmallow.map_to_openapi_type(field_class, openapi_type, openapi_format)
    marshmallow.converter.add_attribute_function(_exclusive_bounds)
    spec.components.schema("ProblemSchema", schema=ProblemSchema)
    spec.components.schema("RaceSpec", schema=races.RaceSpecSchema)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "description": "one token per device or user; it scopes the trips"})
    for path, ops in operations().items():
        spec.path(path=path, operations=ops)
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI 3 document."""
    return jsonify(document())


def _body_fields(doc: dict, op: dict) -> str:
    """The request body of an operation as its media type and fields (required ones in bold), for the docs page."""
    body = op.get("requestBody")
    if not body:
        return ""
    media, content = next(iter(body["content"].items()))
    schema = content["schema"]
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    required = set(schema.get("required", []))
    names = [f"<b>{html.escape(n)}</b>" if n in required else html.escape(n) for n in schema.get("properties", {})]
    return f"<code>{html.escape(media)}</code>: " + ", ".join(names)


@bp.get("/docs")
def docs_page():
    """A readable page of the same document (no JavaScript, no network)."""
    doc = document()
    rows = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            params = ", ".join(f"<code>{html.escape(p['name'])}</code>" for p in op.get("parameters", []))
            codes = ", ".join(op["responses"])
            rows.append(f"<tr><td><b>{method.upper()}</b> <code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(op.get('summary', ''))}</td><td>{params}</td>"
                        f"<td>{_body_fields(doc, op)}</td><td>{codes}</td></tr>")
    page = (f"<!doctype html><meta charset=utf-8><title>galibot API</title><h1>galibot API {doc['info']['version']}"
            f"</h1><p>{html.escape(doc['info']['description'])}</p><p>Machine-readable: "
            f"<a href='/openapi.json'>/openapi.json</a>. Errors are application/problem+json.</p>"
            f"<table border=1 cellpadding=4><tr><th>operation</th><th>what</th><th>parameters</th>"
            f"<th>request body</th><th>statuses</th></tr>{''.join(rows)}</table>")
    return Response(page, mimetype="text/html")
