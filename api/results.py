"""Computed results as files: share links, GPX and GeoJSON downloads, and the analysis of uploaded GPX.

Every computed result is stored in the export store under the hash of its endpoint, parameters and
data version, so ``GET /v1/results/<key>`` re-serves it (and ``.gpx`` exports it) without the engine,
and the same export asked twice is written once. The stored result is language-neutral: the language
is not part of its key, only of its rendering (``presentation.render_result``), cached per language.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import orjson
import redis
from flask import Blueprint, Response, abort, current_app, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema
from werkzeug.exceptions import RequestEntityTooLarge

import api
import gpx_exports as gx
import poi_data
import presentation
import routing
from gpx_exports import settings as gpx_settings
from gpx_exports.sheet import PAGE_SIZES, SheetOptions, check_sheet, circuit_sheet, map_picture, profile_picture
from gpx_exports.writer import km_markers
from presentation import SHEET_LANGUAGE, Words, render_result, words
from routing.io import code_version
from routing.profiles import DEFAULT_PROFILE, PROFILES

from . import cache, jobs
from .common import PatternText, json_body, language, load, service
from .errors import APIProblem
from .places import commune_of
from .responses import AnalysisSchema, CourseCollectionSchema, dump_result

bp = Blueprint("results", __name__, url_prefix="/v1")
GPX_MIMETYPE = "application/gpx+xml"
#: Every format a result is delivered in, with its media type.
FORMATS = {"json": "application/geo+json", "geojson": "application/geo+json", "gpx": GPX_MIMETYPE,
           "pdf": "application/pdf", "png": "image/png", "svg": "image/svg+xml",
           "fit": gpx_settings.FIT_MIMETYPE, "csv": "text/csv"}
#: Formats that are files made from the result (the rest is the result itself).
FILE_FORMATS = ("gpx", "geojson", "pdf", "png", "svg", "fit", "csv")
#: Files a client saves (the rest are shown): served with a file name.
DOWNLOADS = ("gpx", "pdf", "fit", "csv")
#: The response header that reports how far a thinned track strays from the course (``thin_to``).
DEVIATION_HEADER = "Galibot-Thinning-Deviation-M"
KEY_PATTERN = "[0-9a-f]{32}"


#: Kilometre marks in a query string: non-negative decimals, comma-separated, at most MAX_STATIONS of them.
KM_MARKS_PATTERN = rf"^[0-9]{{1,4}}(\.[0-9]+)?(,[0-9]{{1,4}}(\.[0-9]+)?){{0,{gpx_settings.MAX_STATIONS - 1}}}$"


class KmList(PatternText):
    """Kilometre marks in a query string, ``10,25.5,40``, in order: non-negative, at most MAX_STATIONS of them (the
    pattern says both, in /openapi.json too)."""

    pattern = KM_MARKS_PATTERN
    error = f"a list of at most {gpx_settings.MAX_STATIONS} kilometre marks in 0..9999, such as 10,25.5,40"

    def _deserialize(self, value, attr, data, **kwargs) -> tuple[float, ...]:
        return tuple(sorted(super()._deserialize(value, attr, data, **kwargs)))


def _within(bounds: tuple[float, float]) -> validate.Range:
    """The library's bounds of an option, as a marshmallow validator (so /openapi.json shows them)."""
    return validate.Range(min=bounds[0], max=bounds[1])


def _plausible_start(when) -> None:
    if not 2000 <= when.year <= 2100:
        raise ValidationError("a start time between the years 2000 and 2100")


class FileOptionsSchema(Schema):
    """How a result is delivered: the format, and the GPX options devices and race organisers need."""

    format = fields.String(validate=validate.OneOf(list(FORMATS)),
                           metadata={"description": "json: the result; gpx: the course file; geojson: the course "
                                                    "(track and waypoints) for a map; pdf: the printable sheet "
                                                    "(French unless lang or Accept-Language says otherwise); png: "
                                                    "the map (or picture=profile, the elevation chart); svg: the "
                                                    "elevation chart; fit: a FIT course (course points for the "
                                                    "ends, checkpoints, aid stations, summits and stops); csv: the "
                                                    "table of the course's points (race=true: with cut-offs). Else "
                                                    "the Accept header decides"})
    page = fields.String(load_default="A4", validate=validate.OneOf(list(PAGE_SIZES)),
                         metadata={"description": "pdf: the page size (A5 is the folded booklet)"})
    picture = fields.String(load_default="map", validate=validate.OneOf(list(gpx_settings.PICTURES)),
                            metadata={"description": "png: the map or the elevation profile"})
    width = fields.Integer(load_default=None, validate=_within(gpx_settings.PICTURE_SIDE_RANGE),
                           metadata={"description": "png, svg: pixels wide"})
    height = fields.Integer(load_default=None, validate=_within(gpx_settings.PICTURE_SIDE_RANGE),
                            metadata={"description": "png, svg: pixels high"})
    rte = fields.Boolean(load_default=False, metadata={"description": "also write a <rte> of the turn points"})
    km_markers = fields.Float(load_default=None, validate=_within(gpx_settings.KM_MARKERS_RANGE),
                              metadata={"description": "a waypoint every N km"})
    timestamps = fields.Boolean(load_default=False)
    pace_s_per_km = fields.Float(load_default=None, validate=_within(gpx_settings.PACE_S_PER_KM_RANGE))
    start_time = fields.AwareDateTime(load_default=None, validate=_plausible_start,
                                      metadata={"description": "ISO 8601 with a time zone, years 2000 to 2100",
                                                "pattern": r"^(20[0-9]{2}|2100)-"})
    max_points = fields.Integer(load_default=None, validate=_within(gpx_settings.MAX_POINTS_RANGE))
    thin_to = fields.Integer(load_default=None, validate=_within(gpx_settings.THIN_TO_RANGE), metadata={
        "description": "gpx, fit: thin each track to at most N points (Douglas-Peucker, every course point kept); "
                       f"the largest deviation in metres is in the {DEVIATION_HEADER} header"})
    part = fields.Integer(load_default=None, validate=validate.Range(min=1),
                          metadata={"description": "only this part (1-based), e.g. one stage"})
    race = fields.Boolean(load_default=False, metadata={"description": "checkpoints, aid stations and cut-offs"})
    race_version = fields.String(load_default="1", validate=validate.Length(min=1, max=20))
    checkpoints_km = KmList(load_default=None)
    checkpoint_every_km = fields.Float(load_default=gpx_settings.CHECKPOINT_EVERY_KM,
                                       validate=validate.Range(min=gpx_settings.MIN_STATION_SPACING_KM, max=500))
    aid_stations_km = KmList(load_default=None)
    aid_every_km = fields.Float(load_default=gpx_settings.AID_EVERY_KM,
                                validate=validate.Range(min=gpx_settings.MIN_STATION_SPACING_KM, max=500))
    cutoff_s_per_km_effort = fields.Float(load_default=gpx_settings.CUTOFF_S_PER_KM_EFFORT,
                                          validate=_within(gpx_settings.CUTOFF_S_PER_KM_EFFORT_RANGE))
    race_pois = fields.Boolean(load_default=False, metadata={
        "description": "race files: keep the course's POIs, stops and nights (else start, checkpoints, aid "
                       "stations, summits and finish only)"})

    @validates_schema
    def _picture_fits(self, data: dict, **_) -> None:
        width, height = picture_size(data)
        if width * height > gpx_settings.PICTURE_MAX_PIXELS:
            raise ValidationError(f"a picture is at most {gpx_settings.PICTURE_MAX_PIXELS:,} pixels; "
                                  f"{width} × {height} is {width * height:,}", "width")

    @validates_schema
    def _race_needs_a_start(self, data: dict, **_) -> None:
        if data.get("race") and data.get("start_time") is None:
            raise ValidationError("a race file needs the start time (ISO 8601 with a time zone)", "start_time")


def picture_size(opts: dict) -> tuple[int, int]:
    """The asked picture size, the default filling what is not given (keeping the default's 4:3)."""
    dw, dh = gpx_settings.PICTURE_DEFAULT_PX
    width, height = opts.get("width"), opts.get("height")
    if width is None and height is None:
        return dw, dh
    if width is None:
        return max(gpx_settings.PICTURE_SIDE_RANGE[0], round(height * dw / dh)), height
    if height is None:
        return width, max(gpx_settings.PICTURE_SIDE_RANGE[0], round(width * dh / dw))
    return width, height


#: What every file option is when not given (a stored file's name only hashes the options that differ).
DEFAULT_FILE_OPTIONS = FileOptionsSchema().load({})
#: One instance, for every request: a schema instance copies its fields when made, which cost more than the load
#: on a cached route (marshmallow's loads do not change the instance).
FILE_OPTIONS = FileOptionsSchema(unknown=EXCLUDE)


def file_options() -> dict:
    """The validated delivery options; ``format`` falls back to the Accept header."""
    opts = load(FILE_OPTIONS, request.args.to_dict())  # the endpoint's own args share the query
    if opts.get("format") is None:
        offered = ["application/json", *(FORMATS[f] for f in FILE_FORMATS if f != "geojson")]
        best = request.accept_mimetypes.best_match(offered)
        chosen = next((f for f in FILE_FORMATS if f != "geojson" and FORMATS[f] == best), "json")
        opts["format"] = chosen if request.accept_mimetypes[best or "application/json"] else "json"
    return opts


def public_url() -> str:
    """The API's public base URL, from configuration (``GALIBOT_PUBLIC_URL``): links written into stored files are
    served to every later client, so they never come from a request's Host header."""
    return current_app.config["GALIBOT_PUBLIC_URL"].rstrip("/")


def _store() -> gx.ExportStore:
    return gx.ExportStore(service().cfg.export_dir, current_app.config["GALIBOT_EXPORT_MAX_BYTES"])


def links(key: str) -> dict:
    """Where a result can be fetched again: as JSON, GeoJSON, GPX, the printable sheet and the map picture."""
    base = f"/v1/results/{key}"
    return {"self": base, "geojson": f"{base}.geojson", "gpx": f"{base}.gpx", "pdf": f"{base}.pdf",
            "png": f"{base}.png"}


def results_code() -> str:
    """The version of the code that makes results and files: part of their key, so an upgrade recomputes them."""
    return code_version(*(Path(m.__file__).parent for m in (routing, poi_data, presentation, gx, api)))


def neutral_body(key: str, compute: Callable[[], dict]) -> tuple[bytes, bool, bool]:
    """(language-neutral JSON body, read from the store, worth caching) of a result: stored, else computed now."""
    body = _store().get(key, ".json")
    if body is not None:
        return body, True, True
    body, keep = computed_body(key, compute)
    store_body(key, body, keep=keep)
    return body, False, keep


def computed_body(key: str, compute: Callable[[], dict]) -> tuple[bytes, bool]:
    """(language-neutral JSON body, worth keeping) of a result computed now: in the request, or on a worker."""
    result = dump_result(compute())
    result["links"] = links(key)
    # a result cut by the wall clock is not what the same request gives on an idle machine: not kept
    return to_json(result), not (result.get("properties") or {}).get("deadline_hit")


def store_body(key: str, body: bytes, *, keep: bool) -> None:
    """Keep a computed body in the export store under its key (once: a stored one is left as it is)."""
    if keep:
        store_bytes(key, ".json", body)


def store_bytes(key: str, suffix: str, content: bytes) -> None:
    """Keep what a job made (a result, a file, an analysis) in the export store (once)."""
    _store().put(key, suffix, content)


def to_json(value) -> bytes:
    """Compact UTF-8 JSON of a result, by orjson: about ten times the standard library's speed on a route's
    arrays, the same numbers (shortest round-trip floats), numpy scalars and arrays as their values."""
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


def rendered(body: bytes, lang: str) -> bytes:
    """A stored result worded for a reader of ``lang``."""
    return to_json(render_result(orjson.loads(body), words(lang), service().catalogue.find))


def _rendering_key(key: str, lang: str) -> str:
    """Where Redis keeps a result's rendering in one language."""
    return f"{cache.result_key(key)}:{lang}"


def worded_body(key: str, neutral: bytes, lang: str) -> bytes:
    """A stored result's rendering in ``lang``: from Redis, else rendered now and kept there."""
    body = cache.get(_rendering_key(key, lang))
    if body is None:
        body = rendered(neutral, lang)
        cache.put(_rendering_key(key, lang), body)
    return body


def result_key(endpoint: str, params: dict) -> str:
    """A result's key: its endpoint and parameters, the data version and the code that makes results."""
    return gx.export_key(endpoint, params, f"{service().graph.data_version}+{results_code()}")


def result_body(key: str, compute: Callable[[], dict], lang: str) -> tuple[bytes, bool]:
    """(JSON body in ``lang``, served from a cache) of the result ``key``: from Redis, else the store, else
    computed."""
    body = cache.get(_rendering_key(key, lang))
    if body is not None:
        return body, True
    neutral, cached, keep = neutral_body(key, compute)
    body = rendered(neutral, lang)
    if keep:
        cache.put(_rendering_key(key, lang), body)
    return body, cached


def cached_post(endpoint: str, schema: Schema, compute: Callable[[dict], dict]) -> Response:
    """The shape of every computing POST: validate the body, serve from a cache or compute, word it for the reader.

    ``lang`` (in the body, else the query) is not passed to ``compute`` nor part of the key: one computation serves
    every language.
    """
    args = load(schema, json_body())
    explicit = args.pop("lang", None)
    service()
    return serve_result(endpoint, args, lambda: compute(args), explicit if explicit is not None
                        else request.args.get("lang"))


def reader_language(explicit: str | None, opts: dict) -> str:
    """The reader's language: ``lang``, else Accept-Language, else French for a printed sheet, English otherwise."""
    return language(explicit, SHEET_LANGUAGE if opts["format"] == "pdf" else "en")


def serve_result(endpoint: str, params: dict, compute: Callable[[], dict], explicit_lang: str | None) -> Response:
    """A computed result in the format asked for (JSON, GeoJSON, GPX, PDF, PNG or SVG), in the reader's language."""
    opts = file_options()
    lang = reader_language(explicit_lang, opts)
    key = result_key(endpoint, params)
    queued = _queued(key, endpoint, params, lang)
    if queued is not None:
        return queued
    body, cached = result_body(key, compute, lang)
    if opts["format"] in FILE_FORMATS:
        return _file(key, lambda: body, opts, cached, lang)
    return _in_language(cache.respond(body, "application/geo+json", cached))


def _queued(key: str, endpoint: str, params: dict, lang: str) -> Response | None:
    """``202 Accepted`` and the job, for a heavy request not computed yet; None to answer in the request.

    The planner's own checks run first, so an impossible request is refused at once. With Redis down, the
    request is computed in place, as without a queue.
    """
    heavy = jobs.heavy_job(endpoint, params)
    if heavy is None:
        return None
    if _store().has(key, ".json") or cache.get(_rendering_key(key, lang)) is not None:
        return None  # computed already (the store is a file check; Redis is asked only when it misses)
    heavy.check(params)
    result_links = {("result" if k == "self" else k): v for k, v in links(key).items()}
    return _submit_or_none(jobs.JobSpec(key, endpoint, "api.worker.compute", (endpoint, params, key), key, ".json",
                                        result_links))


def _submit_or_none(spec: jobs.JobSpec, *, new: bool = False) -> Response | None:
    """The job's ``202 Accepted`` (``new``: the caller knows there is none yet); None (compute in the request, as
    without a queue) when Redis is down."""
    try:
        return jobs.accepted(jobs.enqueue(spec)) if new else jobs.submit(spec)
    except redis.RedisError as exc:
        current_app.logger.warning("galibot: the job queue is unreachable (%s); computing in the request", exc)
        return None


def _in_language(resp: Response) -> Response:
    """The texts follow Accept-Language when no ``lang`` is given: shared caches must key on it."""
    resp.vary.add("Accept-Language")
    return resp


def _suffix(opts: dict, ext: str) -> str:
    """The stored file's suffix: ``.gpx``, or ``-<hash of the options>.gpx`` when options are set."""
    chosen = {k: v for k, v in opts.items() if k != "format" and v != DEFAULT_FILE_OPTIONS.get(k)}
    if not chosen:
        return f".{ext}"
    blob = json.dumps(chosen, sort_keys=True, default=str).encode()
    return f"-{hashlib.sha256(blob).hexdigest()[:12]}.{ext}"


def _course(result: dict, opts: dict, w: Words) -> gx.Course:
    course = gx.course_of_result(result, w)
    if not opts["race"]:
        return course
    spec = gx.RaceSpec(start_time=opts["start_time"], version=opts["race_version"],
                       checkpoints_km=opts["checkpoints_km"], checkpoint_every_km=opts["checkpoint_every_km"],
                       aid_stations_km=opts["aid_stations_km"], aid_every_km=opts["aid_every_km"],
                       cutoff_s_per_km_effort=opts["cutoff_s_per_km_effort"], all_waypoints=opts["race_pois"])
    return gx.race_course(course, spec, w)


#: What a file is made from, asked only when the file is not stored yet: the result as rendered for the reader and
#: the course to write, in the reader's wording.
FileSource = Callable[[Words], tuple[dict, gx.Course]]


def make_file(key: str, source: FileSource, opts: dict, lang: str, *, link: str) -> tuple[bytes, str, bool]:
    """(content, stored suffix, made now) of a file of a stored result: from the export store, else made by the
    format's maker from ``source`` in ``lang``, and kept there. A thinned track's deviation is kept beside it
    (``<suffix>.deviation``)."""
    ext = opts["format"]
    suffix = f"-{lang}{_suffix(opts, ext)}"
    content = _store().get(key, suffix)
    if content is not None:
        return content, suffix, False
    if ext in jobs.SLOW_FORMATS and jobs.queue_ready():
        return _drawn_by_a_worker(key, suffix, source, opts, lang, link=link), suffix, True
    w = words(lang)
    result, course = source(w)
    course.link = link  # never the request's Host: the file is shared
    if thinned(opts):
        course, deviation = gx.thin_course(course, opts["thin_to"])
        _store().put(key, f"{suffix}.deviation", f"{deviation:.1f}".encode())
    content = MAKERS[ext](key, result, course, opts, w)
    _store().put(key, suffix, content)
    return content, suffix, True


def _drawn_by_a_worker(key: str, suffix: str, source: FileSource, opts: dict, lang: str, *, link: str) -> bytes:
    """A slow file (the printed sheet, the map picture) that a worker drew: its bytes once the job is done, else
    the job's ``202 Accepted`` (raised, as Flask's ``abort`` does). The request makes what is quick (the worded
    result and its course) and sends it with the job, so a worker on another host needs nothing of this one's
    store; the job's link is this request again, then served from the store."""
    job_id = jobs.derived_id(key, suffix)
    try:
        job = jobs.existing(job_id)  # one read: drawn, being drawn (nothing to prepare again), or not asked yet
        content = jobs.made(job) if job is not None else None
    except redis.RedisError:
        job = content = None
    if content is not None:
        return content
    if job is not None:
        abort(jobs.accepted(job))
    result, course = source(words(lang))
    course.link = link
    if opts["format"] == "pdf":
        check_sheet(course, opts["page"])  # a sheet no page is made for is refused now, not by the job
    here = request.path if request.method == "GET" else f"/v1/results/{key}.{opts['format']}"
    query = request.args.to_dict(flat=False)
    query.setdefault("lang", [lang])  # a language chosen by Accept-Language is kept in the link
    spec = jobs.JobSpec(job_id, request.endpoint or "", "api.worker.draw", (opts["format"], key, result, course,
                                                                            opts, lang),
                        key, suffix, {"file": f"{here}?{urlencode(query, doseq=True)}"})
    answer = _submit_or_none(spec, new=True)
    if answer is None:  # the queue went away: drawn here
        content = MAKERS[opts["format"]](key, result, course, opts, words(lang))
        store_bytes(key, suffix, content)
        return content
    abort(answer)


def _file(key: str, worded: Callable[[], bytes], opts: dict, cached: bool, lang: str) -> Response:
    """The result as a file: GPX with the GPX options, GeoJSON for the app's map, the PDF sheet, a picture, a FIT
    course or the CSV table. Each is made once and kept in the export store; ``worded`` gives the result in
    ``lang``, asked only then."""
    def source(w: Words) -> tuple[dict, gx.Course]:
        result = orjson.loads(worded())
        return result, _course(result, opts, w)

    content, suffix, made = make_file(key, source, opts, lang, link=f"{public_url()}/v1/results/{key}")
    cached = cached and not made
    return _in_language(respond_file(content, opts, cached, f"galibot-{key[:12]}{suffix}", key, suffix))


def thinned(opts: dict) -> bool:
    """Whether the file asked for is a thinned track (its deviation is kept beside it)."""
    return bool(opts["thin_to"]) and opts["format"] in ("gpx", "fit")


def respond_file(content: bytes, opts: dict, cached: bool, filename: str, key: str, suffix: str) -> Response:
    """A stored file as a response: its media type, a file name for downloads, and a thinned track's deviation (read
    only for a thinned track)."""
    ext = opts["format"]
    resp = cache.respond(content, FORMATS[ext], cached)
    if ext in DOWNLOADS:
        resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    deviation = _store().get(key, f"{suffix}.deviation") if thinned(opts) else None
    if deviation is not None:
        resp.headers[DEVIATION_HEADER] = deviation.decode()
    return resp


def _pdf(key: str, result: dict, course: gx.Course, opts: dict, w: Words) -> bytes:
    ends = course.coordinates()[[0, -1]]
    start, end = commune_of(float(ends[0, 0]), float(ends[0, 1])), commune_of(float(ends[1, 0]), float(ends[1, 1]))
    sheet_opts = SheetOptions(service().cfg.tiles_dir, f"{course.link}.gpx", page=opts["page"],
                              start_commune=start, end_commune=end, graph=service().graph)
    return circuit_sheet(result, course, w, sheet_opts).pdf


def _png(key: str, result: dict, course: gx.Course, opts: dict, w: Words) -> bytes:
    width, height = picture_size(opts)
    if opts["picture"] == "profile":
        return profile_picture(result, course, w, width_px=width, height_px=height)
    return map_picture(result, course, w, service().cfg.tiles_dir, width_px=width, height_px=height,
                       graph=service().graph)


def _svg(key: str, result: dict, course: gx.Course, opts: dict, w: Words) -> bytes:
    width, height = picture_size(opts)
    return profile_picture(result, course, w, width_px=width, height_px=height, fmt="svg")


def _geojson(key: str, result: dict, course: gx.Course, opts: dict, w: Words) -> bytes:
    if opts["km_markers"]:
        course = course.with_waypoints(km_markers(course, opts["km_markers"]))
    return json.dumps(CourseCollectionSchema().dump(gx.course_geojson(course)), ensure_ascii=False).encode()


def _gpx(key: str, result: dict, course: gx.Course, opts: dict, w: Words) -> bytes:
    gpx_opts = gx.GPXOptions(route=opts["rte"], km_markers=opts["km_markers"], timestamps=opts["timestamps"],
                             pace_s_per_km=opts["pace_s_per_km"], start_time=opts["start_time"],
                             max_points=opts["max_points"], part=opts["part"] - 1 if opts["part"] else None)
    return gx.to_gpx(course, gpx_opts, wording=w).encode()


def _fit(key: str, result: dict, course: gx.Course, opts: dict, w: Words) -> bytes:
    """The FIT course: one part (``part``) or a course whose parts follow one another (stages); several routes
    (alternatives, loops) each need their own file."""
    if opts["part"]:
        gx.GPXOptions(part=opts["part"] - 1).parts(course)  # the same refusal as GPX for a part that does not exist
        course = course.only_part(opts["part"] - 1)
    elif len(course.parts) > 1 and not (result.get("properties") or {}).get("stages"):
        raise gx.ExportError(f"this result holds {len(course.parts)} routes; a FIT course is one: ask one with "
                             f"part=1..{len(course.parts)}", field="part")
    revision = int((result.get("properties") or {}).get("revision") or 1)
    return gx.to_fit(course, start_time=opts["start_time"], pace_s_per_km=opts["pace_s_per_km"], revision=revision,
                     wording=w).data


def _csv(key: str, result: dict, course: gx.Course, opts: dict, w: Words) -> bytes:
    return gx.to_csv(course, w).encode()


#: How each file format is made from a stored result: (key, rendered result, its course, options, wording).
MAKERS: dict[str, Callable[[str, dict, gx.Course, dict, Words], bytes]] = {
    "gpx": _gpx, "geojson": _geojson, "pdf": _pdf, "png": _png, "svg": _svg, "fit": _fit, "csv": _csv}


@bp.get("/results/<name>")
def get_result(name: str):
    """A result computed earlier, by its share link: ``<key>`` (or ``.json``) as computed, ``<key>.gpx`` as GPX
    and ``<key>.geojson`` as the course for the app's map (track and waypoints), both with the file options."""
    key, _, ext = name.partition(".")
    if not re.fullmatch(KEY_PATTERN, key) or ext not in ("", *FORMATS):
        raise APIProblem(404, "Not Found", f"no result {name!r}: a result is <key>[.{'|.'.join(FORMATS)}]", "key")
    neutral = _store().get(key, ".json")
    if neutral is None:
        raise APIProblem(404, "Not Found", f"no result {key}; results are kept per data version", "key")
    opts = file_options()
    if ext in FILE_FORMATS:
        opts["format"] = ext
    lang = reader_language(request.args.get("lang"), opts)
    if opts["format"] in FILE_FORMATS:  # a stored file is served without wording the result again
        return _file(key, lambda: worded_body(key, neutral, lang), opts, True, lang)
    return _in_language(cache.respond(worded_body(key, neutral, lang), "application/geo+json", True))


class AnalyzeSchema(Schema):
    profile = fields.String(load_default=DEFAULT_PROFILE, validate=validate.OneOf(list(PROFILES)))
    snap = fields.Boolean(load_default=True, metadata={"description": "also return the track snapped to the graph"})


def gpx_upload(*, required: bool = True) -> bytes | None:
    """The bytes of the multipart field ``file`` (at most MAX_GPX_BYTES + 1, so read_gpx names an over-size one): a
    413 for a body over the declared limit, a 422 when it is missing and ``required``, else None."""
    try:  # MAX_CONTENT_LENGTH refuses a larger declared body before the form is read
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        raise APIProblem(413, "Content Too Large", f"a GPX upload is at most {gpx_settings.MAX_GPX_BYTES // 2**20} "
                                                   "MiB", "file") from None
    if upload is None:
        if required:
            raise APIProblem(422, "Invalid Request", "upload the GPX as the multipart field 'file'", "file")
        return None
    return upload.stream.read(gpx_settings.MAX_GPX_BYTES + 1)


@bp.post("/gpx/analyze")
def analyze_gpx():
    """Check a GPX drawn elsewhere: length, ascent on the DEM, share on the graph, terrils, POIs, snapped track.

    The analysis is kept under the key of the upload's bytes and options (``GET /v1/gpx/analyses/<key>``); a large
    upload on a server with a queue is analysed by a worker (``202 Accepted``, the job at Location)."""
    service()
    data = gpx_upload()
    form = load(AnalyzeSchema(), request.form.to_dict())
    key = result_key("gpx/analyze", {"sha256": hashlib.sha256(data).hexdigest(), **form})
    body = _store().get(key, ANALYSIS_SUFFIX)
    if body is None and len(data) > jobs.JOB_GPX_BYTES and jobs.queue_ready():
        spec = jobs.JobSpec(key, "results.analyze_gpx", "api.worker.analyse", (data, form), key, ANALYSIS_SUFFIX,
                            {"result": f"/v1/gpx/analyses/{key}"})
        queued = _submit_or_none(spec)
        if queued is not None:
            return queued
    stored = body is not None
    if body is None:
        body = analysis_body(data, form)
        store_bytes(key, ANALYSIS_SUFFIX, body)
    resp = cache.respond(body, "application/json", stored)
    resp.headers["Content-Location"] = f"/v1/gpx/analyses/{key}"  # where it is kept, to read again
    return resp


#: Where an analysis is kept in the export store, beside the results.
ANALYSIS_SUFFIX = ".analysis.json"


def analysis_body(data: bytes, form: dict) -> bytes:
    """The analysis of a GPX upload as JSON: in the request, or on a worker."""
    state = service()
    track = gx.read_gpx(data)
    result = gx.analyse(track, state.engine, state.elevation, state.catalogue, form["profile"], form["snap"])
    return to_json(ANALYSIS.dump(result.as_dict(geometry=form["snap"])))


#: The analysis schema, made once.
ANALYSIS = AnalysisSchema()


@bp.get("/gpx/analyses/<key>")
def get_analysis(key: str):
    """An analysis made earlier (the link of a finished analysis job), kept per data version like the results."""
    body = _store().get(key, ANALYSIS_SUFFIX) if re.fullmatch(KEY_PATTERN, key) else None
    if body is None:
        raise APIProblem(404, "Not Found", f"no analysis {key!r}; analyses are kept per data version", "key")
    return cache.respond(body, "application/json", True)
