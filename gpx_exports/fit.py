"""Courses as FIT course files (file type ``course``), the format watches and bike computers navigate with.

A GPX's waypoints become saved locations on a Garmin, not course points, and Garmin Connect's GPX import puts
nearby ones at distance 0; Komoot, Ride with GPS and Garmin Connect export FIT courses, and so does galibot. The
file holds, in the order Garmin's course-file description gives: ``file_id`` (type course), ``course`` (name,
sport), a timer start ``event``, one ``lap`` (totals and ends), the ``record``s (position, altitude, distance, a
time at the planned pace), the ``course_point``s (start, finish, checkpoints, aid stations, summits, stops, POIs:
type, a name of at most ``settings.FIT_NAME_BYTES`` bytes, distance along the course) and a timer stop.

Distances are galibot's great-circle metres along the track, the measure of every waypoint's km, so a course
point's distance is its waypoint's km. Written with Garmin's own FIT SDK (its encoder: the format's owner keeps it
in step with the profile); the tests decode every file with fitdecode, an independent decoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from garmin_fit_sdk import Encoder, Profile

from presentation import Words

from . import settings
from .course import ENGLISH, Course, Waypoint
from .errors import ExportError


@dataclass(frozen=True)
class CoursePointOut:
    """A course point as written: its FIT type, device name, distance along the course, and the full name it had
    when that was cut to fit."""

    kind: str
    fit_type: str
    name: str
    distance_m: float
    full_name: str | None = None


@dataclass(frozen=True)
class FITCourse:
    """A written FIT course and what it holds."""

    data: bytes
    records: int
    distance_m: float
    course_points: list[CoursePointOut]


def fit_name(text: str, limit_bytes: int = settings.FIT_NAME_BYTES) -> str:
    """``text`` cut to ``limit_bytes - 1`` bytes of UTF-8 (the zero that ends a FIT string takes the last), at a
    character boundary, trailing spaces and dashes dropped."""
    raw = text.encode()
    if len(raw) < limit_bytes:
        return text
    return raw[:limit_bytes - 1].decode(errors="ignore").rstrip(" –-,")


def device_label(wp: Waypoint, w: Words, number: int) -> str:
    """The name a device shows for a waypoint, before any cut: an explicit label (a checkpoint's, an organiser's),
    a place's own name, else the short word of its kind ("Départ", "CP 3")."""
    if wp.label:
        return wp.label
    if wp.kind in ("start", "finish") or not wp.name:
        return w.pick("device", wp.kind, wp.kind).format(number=number)
    return wp.name


def _fit_type(wp: Waypoint) -> str:
    if wp.kind == "poi":
        return settings.FIT_SYMBOL_POINTS.get(wp.sym, settings.FIT_COURSE_POINTS["poi"])
    return settings.FIT_COURSE_POINTS.get(wp.kind, "generic")


def course_points(course: Course, w: Words) -> list[CoursePointOut]:
    """The course's waypoints as course points, in km order: a loop's one "Start / Finish" becomes a start at 0 and
    a finish at the end (a device announces both), km markers are left out."""
    out, counts = [], {}
    length_m = float(course.along_m()[-1])
    loop = not any(wp.kind == "finish" for wp in course.waypoints)
    for wp in course.waypoints:
        if wp.kind == "km":
            continue
        counts[wp.kind] = counts.get(wp.kind, 0) + 1
        full = device_label(wp, w, counts[wp.kind])
        name = fit_name(full)
        out.append(CoursePointOut(wp.kind, _fit_type(wp), name, float(wp.km or 0) * 1000,
                                  full if name != full else None))
    if loop and out:
        out.append(CoursePointOut("finish", settings.FIT_COURSE_POINTS["finish"], fit_name(w.pick("device", "finish")),
                                  length_m))
    return out


#: The FIT profile's message numbers.
MESG = Profile["mesg_num"]
#: Degrees to FIT semicircles.
SEMICIRCLES = 2**31 / 180


def _semi(deg: float) -> int:
    return int(round(deg * SEMICIRCLES))


def _records(enc: Encoder, coords: np.ndarray, cum: np.ndarray, start: datetime, pace_s_per_m: float) -> None:
    for (lon, lat, ele), d in zip(coords.tolist(), cum.tolist()):
        rec = {"timestamp": start + timedelta(seconds=round(d * pace_s_per_m)), "position_lat": _semi(lat),
               "position_long": _semi(lon), "distance": d}
        if not np.isnan(ele):
            rec["altitude"] = ele
        enc.on_mesg(MESG["RECORD"], rec)


def _course_points(enc: Encoder, points: list[CoursePointOut], coords: np.ndarray, cum: np.ndarray, start: datetime,
                   pace_s_per_m: float) -> None:
    for i, p in enumerate(points):
        at = min(max(p.distance_m, 0.0), float(cum[-1]))
        enc.on_mesg(MESG["COURSE_POINT"], {
            "message_index": i, "timestamp": start + timedelta(seconds=round(at * pace_s_per_m)),
            "position_lat": _semi(float(np.interp(at, cum, coords[:, 1]))),
            "position_long": _semi(float(np.interp(at, cum, coords[:, 0]))),
            "distance": at, "type": p.fit_type, "name": p.name})


def _header(enc: Encoder, course: Course, created: datetime, revision: int) -> None:
    enc.on_mesg(MESG["FILE_ID"], {"type": "course", "manufacturer": "development", "product": 0, "serial_number": 1,
                                  "number": revision, "time_created": created})
    enc.on_mesg(MESG["FILE_CREATOR"], {"software_version": 1})
    sport, sub = settings.FIT_SPORTS.get(course.profile, ("generic", "generic"))
    enc.on_mesg(MESG["COURSE"], {"name": fit_name(course.name, settings.FIT_COURSE_NAME_BYTES), "sport": sport,
                                 "sub_sport": sub})


def _lap(enc: Encoder, course: Course, coords: np.ndarray, cum: np.ndarray, start: datetime, end: datetime) -> None:
    elapsed = (end - start).total_seconds()
    enc.on_mesg(MESG["LAP"], {
        "timestamp": end, "start_time": start, "total_elapsed_time": elapsed, "total_timer_time": elapsed,
        "start_position_lat": _semi(coords[0, 1]), "start_position_long": _semi(coords[0, 0]),
        "end_position_lat": _semi(coords[-1, 1]), "end_position_long": _semi(coords[-1, 0]),
        "total_distance": float(cum[-1]), "total_ascent": round(course.ascent_m),
        "total_descent": round(course.descent_m)})


def to_fit(course: Course, *, start_time: datetime | None = None, pace_s_per_km: float | None = None,
           created: datetime | None = None, revision: int = 1, wording: Words = ENGLISH) -> FITCourse:
    """The course as one FIT course file: its parts joined in order, its waypoints as course points named in
    ``wording``'s language and cut to the device's limit.

    Record times follow ``pace_s_per_km`` (default: the course's own duration) from ``start_time`` (default: a race's
    start, else ``created``), so a device's virtual partner keeps the planned pace. ``revision`` goes into the
    ``file_id`` number (a race's version count). Raises ``ExportError`` for a course with no length.
    """
    created = created or datetime.now(UTC).replace(microsecond=0)
    coords, cum = course.coordinates(), course.along_m()
    if len(coords) < 2 or cum[-1] <= 0:
        raise ExportError("a FIT course needs a track with a length", field="format")
    start = start_time or next((wp.cutoff for wp in course.waypoints if wp.kind == "start" and wp.cutoff), created)
    pace = (pace_s_per_km / 1000 if pace_s_per_km
            else (course.duration_s / course.distance_m if course.distance_m and course.duration_s else 0.36))
    end = start + timedelta(seconds=round(float(cum[-1]) * pace))
    points = course_points(course, wording)
    enc = Encoder()
    _header(enc, course, created, revision)
    enc.on_mesg(MESG["EVENT"], {"timestamp": start, "event": "timer", "event_type": "start"})
    _lap(enc, course, coords, cum, start, end)
    _records(enc, coords, cum, start, pace)
    _course_points(enc, points, coords, cum, start, pace)
    enc.on_mesg(MESG["EVENT"], {"timestamp": end, "event": "timer", "event_type": "stop_disable_all"})
    return FITCourse(enc.close(), len(coords), float(cum[-1]), points)
