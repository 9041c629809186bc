"""``/v1/races``: an organiser's own course turned into a race, never re-routed, published in versions.

``POST /v1/races`` takes a multipart upload: ``file``, the organiser's GPX (the truth), and ``race``, a JSON
object (``RaceSpecSchema``): title, version, start time, profile, the checkpoints and aid stations (each at a km,
a POI id or a ``[lon, lat]`` snapped to the course within 200 m, with its own name, cut-off and services, or
cut-offs by the pace rule), the finish cut-off. The course is analysed on the way in (terrils climbed, D+, share on
the graph, stretches off it) and the warnings come back in the response, worded. The race belongs to the signed
device token that created it; ``PUT /v1/races/<id>`` (that token only) publishes a new version with a new file, a
new spec, or both, and the id stays. Anyone with the link reads it: ``GET /v1/races/<id>`` (JSON) and
``/v1/races/<id>.gpx|.fit|.geojson|.csv|.pdf|.png`` (the file options of results apply: ``thin_to``, ``page``,
``lang``…), each file saying which version it is.
"""

from __future__ import annotations

import re
from datetime import datetime

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate

import gpx_exports as gx
from gpx_exports import settings as gpx_settings
from gpx_exports.fit import device_label, fit_name
from presentation import render_result, worded_warnings, words
from routing.profiles import PROFILES

from .common import language, load, parse_json, service
from .devices import signed_token
from .errors import APIProblem
from .places import Place
from .race_store import ID_PATTERN, NotOwner, RaceChanged, RaceQuota, RaceStore, StoredRace
from .results import (
    FORMATS,
    file_options,
    gpx_upload,
    make_file,
    public_url,
    reader_language,
    respond_file,
    results_code,
)

bp = Blueprint("races", __name__, url_prefix="/v1/races")
#: The formats of a race: its JSON and every file of a result.
RACE_FILES = ("gpx", "fit", "geojson", "csv", "pdf", "png", "svg")
#: The files a race links to (the elevation chart as SVG is the profile picture's other form).
LINKED = RACE_FILES[:-1]
STATION_KINDS = ("checkpoint", "aid-station")


class StationPlace(Place):
    """Where a station is: a km mark along the course, a POI id, or ``[lon, lat]``."""

    SCHEMA = {"oneOf": [{"type": "number", "minimum": 0, "description": "km along the course"},
                        *Place.SCHEMA["oneOf"]]}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not 0 <= value < 10_000:
                raise ValidationError("a km mark is a number from 0 to 9999")
            return float(value)
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError:
            raise ValidationError("a station is at a km mark (a number), a POI id or [lon, lat]") from None


#: Times are of these years (/openapi.json says it in words: a pattern beside the date-time format leaves the fuzzer
#: too few strings to try).
YEARS = "years 2000 to 2100"


def _plausible(when: datetime) -> None:
    if not 2000 <= when.year <= 2100:
        raise ValidationError("a time between the years 2000 and 2100")


class StationSchema(Schema):
    at = StationPlace(required=True)
    kind = fields.String(load_default="checkpoint", validate=validate.OneOf(STATION_KINDS))
    name = fields.String(load_default=None, validate=validate.Length(min=1, max=60), metadata={
        "description": f"the station's own name; devices show {gpx_settings.FIT_NAME_BYTES - 1} bytes of it (a "
                       "longer one is cut in FIT files, and the response warns)"})
    cutoff = fields.AwareDateTime(load_default=None, validate=_plausible, metadata={
        "description": f"ISO 8601 with a time zone, {YEARS}; else by the pace rule"})
    services = fields.List(fields.String(validate=validate.Length(min=1, max=40)), load_default=list,
                           validate=validate.Length(max=10), metadata={"description": "water, food, medical…"})


class RaceSpecSchema(Schema):
    """What the organiser says of the race, beside the course file."""

    title = fields.String(load_default=None, validate=validate.Length(min=1, max=120),
                          metadata={"description": "default: the GPX's name"})
    version = fields.String(load_default=None, validate=validate.Length(min=1, max=20), metadata={
        "description": "the version label the files carry; default 1, then the next number on each PUT"})
    start_time = fields.AwareDateTime(required=True, validate=_plausible,
                                      metadata={"description": f"ISO 8601 with a time zone, {YEARS}"})
    profile = fields.String(load_default="trail", validate=validate.OneOf(list(PROFILES)))
    checkpoints = fields.List(fields.Nested(StationSchema), load_default=list,
                              validate=validate.Length(max=gpx_settings.MAX_RACE_STATIONS))
    cutoff_s_per_km_effort = fields.Float(load_default=gpx_settings.CUTOFF_S_PER_KM_EFFORT, validate=validate.Range(
        min=gpx_settings.CUTOFF_S_PER_KM_EFFORT_RANGE[0], max=gpx_settings.CUTOFF_S_PER_KM_EFFORT_RANGE[1]),
        metadata={"description": "the pace rule: seconds per km-effort for the cut-offs not given"})
    finish_cutoff = fields.AwareDateTime(load_default=None, validate=_plausible, metadata={
        "description": f"ISO 8601 with a time zone, {YEARS}; else by the pace rule"})


class StationOutSchema(Schema):
    type = fields.String(required=True, metadata={"enum": ["start", *STATION_KINDS, "finish"]})
    name = fields.String(required=True)
    device_name = fields.String(required=True, metadata={"description": "the name a watch shows (FIT)"})
    km = fields.Float(required=True)
    cutoff = fields.String(allow_none=True, metadata={"description": "ISO 8601; the start's is the start time"})
    services = fields.List(fields.String())
    lon = fields.Float(required=True)
    lat = fields.Float(required=True)


class RaceOutSchema(Schema):
    """A race as anyone with its link reads it."""

    id = fields.String(required=True)
    version = fields.String(required=True)
    revision = fields.Integer(required=True, metadata={"description": "1 for the first version, then +1 per PUT"})
    published_at = fields.String(required=True)
    title = fields.String(required=True)
    profile = fields.String(required=True)
    start_time = fields.String(required=True)
    finish_cutoff = fields.String(allow_none=True)
    distance_m = fields.Float(required=True)
    duration_s = fields.Float(required=True)
    ascent_m = fields.Float(required=True)
    descent_m = fields.Float(required=True)
    runner = fields.Dict(required=True, metadata={"description": "km_effort, ITRA category, ascent_per_km, "
                                                                 "estimates_s by pace group"})
    stations = fields.List(fields.Nested(StationOutSchema), required=True)
    summits = fields.List(fields.Dict(), required=True)
    analysis = fields.Dict(required=True, metadata={"description": "as POST /v1/gpx/analyze, without geometry"})
    warnings = fields.List(fields.Dict(), required=True, metadata={
        "description": "what the organiser should know: a code (off_graph, segments, outside_area, no_elevation, "
                       "name_truncated), its figures, and text, the warning in the reader's language"})
    links = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    attribution = fields.String(required=True)
    data_version = fields.String(required=True)


def _store() -> RaceStore:
    return current_app.extensions["galibot.races"]


def _owner() -> str:
    """The device id of the request's signed token; 401 without one."""
    token = signed_token()
    if not token:
        raise APIProblem(401, "Unauthorized", "a race belongs to a device: send the token of POST /v1/devices as "
                                              "Authorization: Bearer <token>", "Authorization",
                         headers={"WWW-Authenticate": 'Bearer realm="galibot"'})
    return token.split(".")[1]


def _spec_json(required: bool) -> dict | None:
    text = request.form.get("race")
    if text is None:
        if required:
            raise APIProblem(422, "Invalid Request", "describe the race as the multipart field 'race' (JSON with at "
                                                     "least start_time)", "race")
        return None
    spec = parse_json(text.encode(), field="race")
    if not isinstance(spec, dict):
        raise APIProblem(400, "Bad Request", "the race is a JSON object (at least start_time)", "race")
    return spec


def _stations(spec: dict) -> list[gx.StationAt]:
    return [gx.StationAt(tuple(s["at"]) if isinstance(s["at"], list) else s["at"], s["kind"], s["name"],
                         s["cutoff"], tuple(s["services"]), f"checkpoints[{i}]")
            for i, s in enumerate(spec["checkpoints"])]


def _race_spec(doc: dict) -> gx.RaceSpec:
    """The race's spec as ``race_course`` takes it, from the stored race."""
    s = doc["spec"]
    stations = tuple(gx.Station(st["km"], st["kind"], st["name"], _time(st["cutoff"]), tuple(st["services"]),
                                st["field"]) for st in doc["stations"])
    return gx.RaceSpec(start_time=_time(s["start_time"]), version=doc["version"], stations=stations,
                       cutoff_s_per_km_effort=s["cutoff_s_per_km_effort"], finish_cutoff=_time(s["finish_cutoff"]))


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _compute(data: bytes, raw_spec: dict, version: str, lang: str) -> tuple[dict, tuple[dict, gx.Course]]:
    """The race to store, and its result and race course in ``lang``: the upload analysed and its stations placed;
    building the course checks it (a station past the finish or cut-offs that go backwards are refused here,
    before anything is stored), and the answer is worded from it."""
    spec = load(RaceSpecSchema(), raw_spec)
    state = service()
    track = gx.read_gpx(data)
    title = spec["title"] or track.name or "galibot"
    oc = gx.organiser_course(track, state.engine, state.elevation, state.catalogue, title=title,
                             profile=spec["profile"], stations=_stations(spec))
    stations = [{"km": st.km, "kind": st.kind, "name": st.name, "services": list(st.services), "field": st.field,
                 "cutoff": st.cutoff.isoformat() if st.cutoff else None} for st in oc.stations]
    doc = {"version": version, "result": oc.result, "stations": stations, "warnings": oc.warnings,
           "spec": {"start_time": spec["start_time"].isoformat(), "profile": spec["profile"], "title": title,
                    "cutoff_s_per_km_effort": spec["cutoff_s_per_km_effort"],
                    "finish_cutoff": spec["finish_cutoff"].isoformat() if spec["finish_cutoff"] else None,
                    "checkpoints": raw_spec.get("checkpoints") or []},
           "analysis": _analysis(oc.analysis)}
    return doc, _worded_race(doc, lang)  # raises ExportError naming the field


def _analysis(a: gx.TrackAnalysis) -> dict:
    out = a.as_dict(geometry=False)
    out.pop("elevation_profile")
    return out


def _links(race_id: str) -> dict:
    base = f"/v1/races/{race_id}"
    return {"self": base, **{ext: f"{base}.{ext}" for ext in LINKED}}


def _worded_race(doc: dict, lang: str, revision: int = 1) -> tuple[dict, gx.Course]:
    """A stored race's result rendered in ``lang`` and its race course (stations, cut-offs, version)."""
    w = words(lang)
    result = render_result(doc["result"], w, service().catalogue.find)
    result["properties"] = {**result["properties"], "revision": revision}
    return result, gx.race_course(gx.course_of_upload(result, w), _race_spec(doc), w)


def race_body(race: StoredRace, lang: str, worded: tuple[dict, gx.Course] | None = None) -> dict:
    """The race as JSON for a reader of ``lang`` (from ``worded``, its result and course in ``lang``, when made
    already): figures, stations with cut-offs, analysis, warnings, links."""
    result, course = worded or _worded_race(race.doc, lang, race.revision)
    props = result["features"][0]["properties"]
    w = words(lang)
    stations = [{"type": wp.kind, "name": wp.name, "device_name": fit_name(device_label(wp, w, 0)),
                 "km": wp.km, "cutoff": wp.cutoff.isoformat() if wp.cutoff else None, "services": list(wp.services),
                 "lon": round(wp.lon, 7), "lat": round(wp.lat, 7)}
                for wp in course.waypoints if wp.kind in ("start", "checkpoint", "aid-station", "finish")]
    return {"id": race.id, "version": race.version, "revision": race.revision, "published_at": race.published_at,
            "title": course.name, "profile": course.profile, "start_time": race.doc["spec"]["start_time"],
            "finish_cutoff": course.finish_cutoff.isoformat() if course.finish_cutoff else None,
            "distance_m": props["distance_m"], "duration_s": props["duration_s"], "ascent_m": props["ascent_m"],
            "descent_m": props["descent_m"],
            "runner": gx.runner_figures(props["distance_m"], props["ascent_m"]).as_dict(),
            "stations": stations, "summits": props["summits"], "analysis": race.doc["analysis"],
            "warnings": worded_warnings(race.doc["warnings"], w), "links": _links(race.id),
            "attribution": props["attribution"], "data_version": props["data_version"]}


def _answer(race: StoredRace, status: int, lang: str, worded: tuple[dict, gx.Course] | None = None) -> Response:
    resp = jsonify(RaceOutSchema().dump(race_body(race, lang, worded)))
    resp.status_code = status
    resp.headers["Location"] = f"/v1/races/{race.id}"
    resp.headers["ETag"] = f'"{race.id}.{race.revision}"'
    resp.vary.add("Accept-Language")
    return resp


@bp.post("")
def post_race():
    """A new race from the organiser's course (multipart ``file`` and ``race``): 201 with the race and its links."""
    owner = _owner()
    data = gpx_upload()
    raw = _spec_json(required=True)
    version = (raw.get("version") if isinstance(raw.get("version"), str) else None) or "1"
    lang = language(request.args.get("lang"))
    doc, worded = _compute(data, raw, version, lang)
    try:
        race = _store().create(owner, version, doc, data)
    except RaceQuota as exc:
        raise APIProblem(413, "Content Too Large", str(exc), "file") from None
    return _answer(race, 201, lang, worded)


def _next_version(current: str) -> str:
    return str(int(current) + 1) if current.isdigit() else f"{current}+1"


@bp.put("/<race_id>")
def put_race(race_id: str):
    """A new version of a race (its owner's token only): a new ``file``, a new ``race`` spec, or both; the id stays
    and the revision goes up by one. 409 for a version label already published."""
    owner = _owner()
    race = _get(race_id)
    if race.owner != owner:
        raise APIProblem(403, "Forbidden", "only the device token that created this race publishes its versions",
                         "Authorization")
    data = gpx_upload(required=False)
    raw = _spec_json(required=False)
    if data is None and raw is None:
        raise APIProblem(422, "Invalid Request", "send a new 'file', a new 'race' spec, or both", "file")
    raw = raw if raw is not None else {**race.doc["spec"], "version": None}
    version = (raw.get("version") if isinstance(raw.get("version"), str) else None) or _next_version(race.version)
    if version == race.version:
        raise APIProblem(409, "Conflict", f"version {version!r} is the one published; name the new one", "version")
    lang = language(request.args.get("lang"))
    doc, worded = _compute(data if data is not None else race.upload, {**raw, "version": version}, version, lang)
    try:
        race = _store().publish(race_id, owner, race.revision, version, doc,
                                data if data is not None else race.upload)
    except NotOwner as exc:
        raise APIProblem(403, "Forbidden", str(exc), "Authorization") from None
    except RaceChanged as exc:
        raise APIProblem(409, "Conflict", str(exc), "version") from None
    except RaceQuota as exc:
        raise APIProblem(413, "Content Too Large", str(exc), "file") from None
    return _answer(race, 200, lang, worded)


def _get(race_id: str) -> StoredRace:
    race = _store().get(race_id) if re.fullmatch(ID_PATTERN, race_id) else None
    if race is None:
        raise APIProblem(404, "Not Found", f"no race {race_id!r}", "id")
    return race


@bp.get("/<race_id>")
def get_race(race_id: str):
    """A race by its link: ``<id>`` (JSON) or ``<id>.gpx|.fit|.geojson|.csv|.pdf|.png|.svg`` (files, with the file
    options of results)."""
    race_id, _, ext = race_id.partition(".")
    ext = ext or (request.args.get("format") if request.args.get("format") in RACE_FILES else "")
    if ext and ext not in RACE_FILES:
        raise APIProblem(404, "Not Found", f"a race is <id> or <id>.{'|.'.join(RACE_FILES)}", "format")
    race = _get(race_id)
    if not ext:
        return _answer(race, 200, language(request.args.get("lang")))
    opts = file_options()
    opts["format"] = ext
    lang = reader_language(request.args.get("lang"), opts)
    key = gx.export_key("races", {"id": race.id, "revision": race.revision},
                        f"{service().graph.data_version}+{results_code()}")
    content, suffix, made = make_file(key, lambda w: _worded_race(race.doc, w.lang, race.revision), opts, lang,
                                      link=f"{public_url()}/v1/races/{race.id}")
    resp = respond_file(content, opts, not made, f"galibot-race-{race.id}-v{race.version}-{lang}.{ext}", key, suffix)
    resp.vary.add("Accept-Language")
    return resp


assert set(RACE_FILES) <= set(FORMATS)
