"""Courses as GPX 1.1 that devices accept: one ``<trk>`` with elevation, ``<wpt>``s, full metadata.

Everything device-specific is an option and off by default: a ``<rte>`` of turn points (some Garmin
units want one; most are confused by a route and a track together), km markers, time stamps at a
planned pace (virtual partners), and splitting for devices that cap the points of a track.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import gpxpy.gpx as G
import numpy as np

from presentation import Words, instruction_text

from . import settings
from .course import ENGLISH, Course, Part, Waypoint, part_at, point_at
from .errors import ExportError


@dataclass(frozen=True)
class GPXOptions:
    """What a device needs beyond the plain track; every option is off unless asked for."""

    route: bool = False  # also write a <rte> of the turn points
    km_markers: float | None = None  # a waypoint every N km
    timestamps: bool = False  # time stamps on the track points
    pace_s_per_km: float | None = None  # the planned pace; None: the profile's own speed model
    start_time: datetime | None = None  # first time stamp; None: the export time
    max_points: int | None = None  # split each track into <trk>s of at most N points
    per_part: bool = False  # one file per stage
    part: int | None = None  # only this part (0-based), e.g. one stage of a tour

    def check(self) -> None:
        """Refuse options that cannot be honoured, naming the option."""
        bounds = (("km_markers", settings.KM_MARKERS_RANGE), ("pace_s_per_km", settings.PACE_S_PER_KM_RANGE),
                  ("max_points", settings.MAX_POINTS_RANGE))
        for name, (lo, hi) in bounds:
            value = getattr(self, name)
            if value is not None and not lo <= value <= hi:
                raise ExportError(f"{name} must be between {lo:g} and {hi:g}", field=name)

    def parts(self, course: Course) -> list[int]:
        """The indices of the parts to write."""
        if self.part is None:
            return list(range(len(course.parts)))
        if not 0 <= self.part < len(course.parts):
            raise ExportError(f"part {self.part + 1} does not exist; this course has {len(course.parts)}",
                              field="part")
        return [self.part]


def _ext(tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.Element(f"{{{settings.NAMESPACE}}}{tag}", attrs)
    el.text = text
    return el


def _metadata(gpx: G.GPX, course: Course, created: datetime, w: Words) -> None:
    gpx.creator = settings.CREATOR
    gpx.name = course.name
    gpx.description = _description(course, w)
    gpx.author_name = settings.CREATOR
    gpx.author_link, gpx.author_link_text = settings.HOME, "galibot"
    gpx.copyright_author = settings.COPYRIGHT_AUTHOR
    gpx.copyright_year = str(settings.COPYRIGHT_YEAR)
    gpx.copyright_license = settings.ODBL_URL
    gpx.link = course.link or settings.LICENCES[0][1]
    gpx.link_text = course.name if course.link else settings.LICENCES[0][0]
    gpx.time = created
    gpx.keywords = ", ".join(course.keywords)
    gpx.nsmap["galibot"] = settings.NAMESPACE
    ext = [_ext("licence", text, href=href) for text, href in settings.LICENCES]
    ext.append(_ext("data", data_version=course.data_version, profile=course.profile, kind=course.kind))
    if course.version:
        ext.append(_ext("course", version=course.version))
    gpx.metadata_extensions.extend(ext)


def _description(course: Course, w: Words) -> str:
    """The course's own text, its figures, its version and the data licences, in ``w``'s language."""
    lines = [course.description] if course.description else []
    lines.append(w.say("figures", distance=w.km(course.distance_m), ascent=w.metres(course.ascent_m),
                       descent=w.metres(course.descent_m), profile=w.pick("profiles", course.profile, course.profile)))
    if course.version:
        lines.append(w.say("course_version", version=course.version))
    lines.append(w.say("data", licences="; ".join(text for text, _ in settings.LICENCES)))
    return "\n".join(lines)


def _point(cls, lon: float, lat: float, ele: float | None, when: datetime | None = None):
    return cls(latitude=round(float(lat), 7), longitude=round(float(lon), 7),
               elevation=None if ele is None or np.isnan(ele) else round(float(ele), 1), time=when)


def _waypoint(w: Waypoint) -> G.GPXWaypoint:
    wpt = _point(G.GPXWaypoint, w.lon, w.lat, w.ele)
    wpt.name, wpt.description, wpt.symbol, wpt.type, wpt.comment = w.name, w.description or None, w.sym, w.kind, \
        w.comment
    return wpt


def _times(cum: np.ndarray, course: Course, opts: GPXOptions, start: datetime) -> list:
    """A time per point at the planned pace (else the profile's mean speed); each part (a day) starts at ``start``."""
    if not opts.timestamps:
        return [None] * len(cum)
    pace = opts.pace_s_per_km or (course.duration_s / (course.distance_m / 1000) if course.distance_m else 0)
    return [start + timedelta(seconds=round(float(d) / 1000 * pace, 1)) for d in cum]


def _chunks(n: int, size: int | None) -> list[tuple[int, int]]:
    """Index ranges of at most ``size`` points that share their end points, so the split track has no gap."""
    if not size or n <= size:
        return [(0, n)]
    out, lo = [], 0
    while lo < n - 1:
        hi = min(lo + size, n)
        out.append((lo, hi))
        lo = hi - 1
    return out


def _tracks(part: Part, course: Course, opts: GPXOptions, start: datetime) -> list[G.GPXTrack]:
    times = _times(part.along_m(), course, opts, start)
    ranges = _chunks(len(part.coordinates), opts.max_points)
    tracks = []
    for k, (lo, hi) in enumerate(ranges):
        name = part.name if len(ranges) == 1 else f"{part.name} ({k + 1}/{len(ranges)})"
        trk = G.GPXTrack(name=name)
        trk.type = course.kind
        points = [_point(G.GPXTrackPoint, x, y, z, t)
                  for (x, y, z), t in zip(part.coordinates[lo:hi].tolist(), times[lo:hi])]
        for a, b in _segments(part, lo, hi):
            seg = G.GPXTrackSegment()
            seg.points = points[a - lo:b - lo]
            trk.segments.append(seg)
        tracks.append(trk)
    return tracks


def _segments(part: Part, lo: int, hi: int) -> list[tuple[int, int]]:
    """The file's own segments of an uploaded track within points ``lo..hi`` (one segment for a planned one), so
    the GPX written is the geometry uploaded, with no line drawn across a gap between two segments."""
    cuts = [s for s in part.segment_starts if lo < s < hi]
    return list(zip([lo, *cuts], [*cuts, hi]))


def _route(part: Part, course: Course, w: Words) -> G.GPXRoute:
    """The turn points of a part as a <rte> (the instructions' locations), named in ``w``'s language."""
    rte = G.GPXRoute(name=part.name)
    rte.type = course.kind
    first, last = part.coordinates[0], part.coordinates[-1]
    stops = [(first[0], first[1], w.say("start"))]
    stops += [(i["location"][0], i["location"][1], instruction_text(i, w)) for i in part.instructions
              if i["type"] not in ("depart", "arrive")]
    stops.append((last[0], last[1], w.say("finish")))
    for lon, lat, text in stops:
        pt = _point(G.GPXRoutePoint, lon, lat, None)
        pt.name = text[:60]
        rte.points.append(pt)
    return rte


def km_markers(course: Course, every_km: float) -> list[Waypoint]:
    """A waypoint every ``every_km`` km along the whole course, on the part it falls on."""
    coords, cum = course.coordinates(), course.along_m()
    marks = np.arange(every_km, cum[-1] / 1000, every_km)
    if len(marks) > settings.MAX_KM_MARKERS:
        raise ExportError(f"km_markers={every_km:g} would write {len(marks):,} markers on {cum[-1] / 1000:.1f} km; "
                          f"at most {settings.MAX_KM_MARKERS:,}, so at least every "
                          f"{cum[-1] / 1000 / settings.MAX_KM_MARKERS:.2f} km", field="km_markers")
    offsets = course.part_offsets_km()  # once: each part's length is a pass over its points
    out = []
    for k in marks:
        x, y, z = point_at(coords, cum, k * 1000)
        out.append(Waypoint(float(x), float(y), f"km {k:g}", "km", km=round(float(k), 2), ele=float(z),
                            part=part_at(offsets, float(k))))
    return out


def _document(course: Course, indices: list[int], opts: GPXOptions, created: datetime, w: Words) -> G.GPX:
    """A GPX of the parts ``indices`` of a course, with the waypoints that lie on them."""
    gpx = G.GPX()
    _metadata(gpx, course, created, w)
    start = opts.start_time or created
    extra = km_markers(course, opts.km_markers) if opts.km_markers else []
    wanted = set(indices)
    gpx.waypoints = [_waypoint(w) for w in course.with_waypoints(extra).waypoints if w.part in wanted]
    for i in indices:
        part = course.parts[i]
        if opts.route:
            gpx.routes.append(_route(part, course, w))
        gpx.tracks.extend(_tracks(part, course, opts, start))
    gpx.bounds = _bounds(gpx)
    return gpx


def _bounds(gpx: G.GPX) -> G.GPXBounds:
    """The extent of everything in the file: track, route and waypoints (gpxpy's own covers tracks only)."""
    pts = [*gpx.waypoints, *(p for r in gpx.routes for p in r.points),
           *(p for t in gpx.tracks for s in t.segments for p in s.points)]
    lats, lons = [p.latitude for p in pts], [p.longitude for p in pts]
    return G.GPXBounds(min(lats), max(lats), min(lons), max(lons))


def to_gpx(course: Course, opts: GPXOptions = GPXOptions(), created: datetime | None = None, *,
           wording: Words = ENGLISH) -> str:
    """The course as one GPX 1.1 document; the texts it writes itself (figures, licences, turn points) are in
    ``wording``'s language."""
    opts.check()
    created = created or datetime.now(UTC).replace(microsecond=0)
    return _document(course, opts.parts(course), opts, created, wording).to_xml(version="1.1")


def to_gpx_files(course: Course, opts: GPXOptions = GPXOptions(), created: datetime | None = None, *,
                 wording: Words = ENGLISH) -> list[tuple[str, str]]:
    """(file name, GPX) pairs: one per part when ``per_part`` is set, else the one document."""
    opts.check()
    created = created or datetime.now(UTC).replace(microsecond=0)
    if not opts.per_part or len(course.parts) == 1:
        return [(f"{_slug(course.name)}.gpx", to_gpx(course, opts, created, wording=wording))]
    files = []
    for k in range(len(course.parts)):
        xml = _document(course, [k], opts, created, wording).to_xml(version="1.1")
        files.append((f"{_slug(course.name)}-{k + 1:02d}.gpx", xml))
    return files


def _slug(text: str) -> str:
    keep = "".join(c.lower() if c.isalnum() else "-" for c in text)
    return "-".join(filter(None, keep.split("-")))[:60] or "course"
