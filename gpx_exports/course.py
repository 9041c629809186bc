"""What an export holds, whatever planned it: named parts of track, waypoints in km order and texts.

Every route-like result (a route, tour, stage plan, round trip, trail course or named circuit) is a
``Route`` plus planner facts; ``course`` turns that into one ``Course``, and the GPX and GeoJSON
writers serialise only this type. Its labels ("Départ", "Sommet du terril 74 – 188 m") are worded by
the presentation layer's ``Words`` given to ``course``; English unless told.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from presentation import Words, terril_number, words
from routing.planners.stages import Stage
from routing.planners.tour import Stop
from routing.route import Route, cumulative_distance, smoothed_climbs

from . import settings

#: The wording of a course when none is given.
ENGLISH = words("en")


@dataclass(frozen=True)
class Waypoint:
    """A named point of a course; ``kind`` is one of ``settings.WAYPOINT_TYPES`` and becomes the GPX ``type``."""

    lon: float
    lat: float
    name: str
    kind: str
    description: str = ""
    km: float | None = None
    ele: float | None = None
    comment: str | None = None
    symbol: str | None = None
    ref: str | None = None  # the catalogue id of the place, when it is one
    part: int = 0  # the part (0-based) the waypoint belongs to: a stage's lodging is on the day that ends there
    cutoff: datetime | None = None  # a race point's cut-off (start: the start time)
    label: str | None = None  # the short name a device shows (FIT course points); None: made from the kind
    services: tuple[str, ...] = ()  # an aid station's services, as the organiser names them

    @property
    def sym(self) -> str:
        """The device symbol: an explicit one, else the one of its kind."""
        return self.symbol or settings.WAYPOINT_TYPES[self.kind]


@dataclass
class Part:
    """One continuous stretch of a course (the whole course, or one stage)."""

    name: str
    coordinates: np.ndarray  # (n, 3) lon, lat, elevation
    instructions: list[dict] = field(default_factory=list)
    segment_starts: tuple[int, ...] = ()  # an uploaded track's own segments: where each after the first starts
    measure: np.ndarray | None = None  # metres along at each point, when not its own length (a thinned track's)

    @property
    def distance_m(self) -> float:
        """Great-circle length of the part, as galibot measures routes (an upload's jumps between its segments
        aside)."""
        return float(self.along_m()[-1]) if len(self.coordinates) > 1 else 0.0

    def along_m(self) -> np.ndarray:
        """Metres along the part at each point: a thinned part keeps the measure of the track it was thinned from,
        so its records' distances stay those of the course points' km."""
        return self.measure if self.measure is not None else along_m(self.coordinates, self.segment_starts)


@dataclass
class Course:
    """An exportable course: its texts, its parts and its waypoints, and the figures of the route."""

    kind: str
    name: str
    description: str
    parts: list[Part]
    waypoints: list[Waypoint]
    distance_m: float
    duration_s: float
    ascent_m: float
    descent_m: float
    data_version: str
    profile: str
    link: str | None = None
    version: str | None = None
    finish_cutoff: datetime | None = None  # a race's
    keywords: tuple[str, ...] = ()

    def coordinates(self) -> np.ndarray:
        """All parts joined (shared end points once)."""
        chunks = [p.coordinates if i == 0 else p.coordinates[1:] for i, p in enumerate(self.parts)]
        return np.vstack(chunks)

    def stretches(self) -> list[tuple[int, int]]:
        """Index ranges of ``coordinates()`` drawn as one line: the whole course, or an upload's own segments."""
        seams, offset = [], 0
        for i, p in enumerate(self.parts):
            seams += [offset + s - (i > 0) for s in p.segment_starts]
            offset += len(p.coordinates) - (i > 0)
        return list(zip([0, *seams], [*seams, offset]))

    def along_m(self) -> np.ndarray:
        """Metres along the course at each point of ``coordinates()``: the measure of every waypoint's km."""
        chunks, offset = [], 0.0
        for i, p in enumerate(self.parts):
            cum = p.along_m() + offset
            chunks.append(cum if i == 0 else cum[1:])
            offset = float(cum[-1])
        return np.concatenate(chunks)

    def bounds(self) -> tuple[float, float, float, float]:
        """min lon, min lat, max lon, max lat of the track and the waypoints."""
        pts = self.coordinates()[:, :2]
        if self.waypoints:
            pts = np.vstack([pts, [[w.lon, w.lat] for w in self.waypoints]])
        return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())

    def with_waypoints(self, extra: Iterable[Waypoint], **changes) -> Course:
        """A copy with more waypoints (kept in part and km order) and other fields changed."""
        merged = sorted([*self.waypoints, *extra], key=_km_key)
        return replace(self, waypoints=merged, **changes)

    def only_part(self, k: int) -> Course:
        """Part ``k`` (0-based) as a course of its own, its waypoints' km measured from its start (a stage's FIT
        course counts from that morning's start), its figures its own (the time by its share of the distance).
        Raises IndexError for a part it does not have."""
        offset = float(self.part_offsets_km()[k])
        waypoints = [replace(w, km=None if w.km is None else round(w.km - offset, 2), part=0)
                     for w in self.waypoints if w.part == k]
        part = self.parts[k]
        up, down, _, _ = smoothed_climbs(part.along_m(), part.coordinates[:, 2])
        share = part.distance_m / self.distance_m if self.distance_m else 1.0
        return replace(self, parts=[part], waypoints=waypoints, distance_m=part.distance_m, ascent_m=up,
                       descent_m=down, duration_s=self.duration_s * share)

    def part_offsets_km(self) -> np.ndarray:
        """Where each part starts and the last one ends, in km along the joined parts."""
        return part_offsets_km(self.parts)

    def part_at(self, km: float, *, closing: bool = False) -> int:
        """The part a km mark lies on; a ``closing`` mark (a finish, a night) on a boundary ends the part before.

        Marks are rounded to 10 m, so a mark up to END_TOLERANCE_KM past a boundary still counts as on it.
        """
        return part_at(self.part_offsets_km(), km, closing=closing)


def along_m(coords: np.ndarray, segment_starts: Sequence[int] = ()) -> np.ndarray:
    """Great-circle metres from the first point to each point of a line; the jump into each of an uploaded file's
    own segments (``segment_starts``) counts nothing, as the file draws no line there."""
    cum = cumulative_distance(coords)
    if not len(segment_starts):
        return cum
    steps = np.diff(cum)
    steps[np.asarray(segment_starts, dtype=int) - 1] = 0.0
    return np.concatenate([[0.0], np.cumsum(steps)])


def part_offsets_km(parts: Sequence[Part]) -> np.ndarray:
    """Where each of ``parts`` starts and the last one ends, in km along them joined."""
    return np.concatenate([[0.0], np.cumsum([p.distance_m for p in parts])]) / 1000


#: How far (km) a rounded mark may fall past the end of the part it closes.
END_TOLERANCE_KM = 0.006


def part_at(offsets_km: np.ndarray, km: float, *, closing: bool = False) -> int:
    """The index of the part ``[offsets[i], offsets[i+1]]`` holding ``km`` (see ``Course.part_at``)."""
    n = len(offsets_km) - 1
    if closing:
        return min(n - 1, int(np.searchsorted(offsets_km[1:], km - END_TOLERANCE_KM, side="left")))
    return max(0, min(n - 1, int(np.searchsorted(offsets_km[:-1], km + END_TOLERANCE_KM, side="right")) - 1))


def _km_key(w: Waypoint) -> tuple[int, float]:
    return w.part, w.km if w.km is not None else -1.0


def point_at(coords: np.ndarray, cum: np.ndarray, at_m: float) -> np.ndarray:
    """The (lon, lat, ele) point ``at_m`` metres along a line."""
    at_m = min(max(at_m, 0.0), float(cum[-1]))
    return np.array([np.interp(at_m, cum, coords[:, k]) for k in range(3)])


def cut(coords: np.ndarray, cum: np.ndarray, from_m: float, to_m: float) -> np.ndarray:
    """The stretch of a line between two distances along it, with interpolated ends."""
    inner = coords[(cum > from_m) & (cum < to_m)]
    return np.vstack([point_at(coords, cum, from_m), inner, point_at(coords, cum, to_m)])


def track_km(metres: float) -> float:
    """A distance along a track as a km mark, rounded down to 10 m so that a finish never falls past the end."""
    return float(np.floor(metres / 10.0 + 1e-9)) / 100.0


def end_waypoints(coords: np.ndarray, loop: bool, w: Words, *, part: int = 0, label: str = "",
          length_m: float | None = None) -> list[Waypoint]:
    """The start and finish of a stretch (one waypoint for a loop), at its first and last points; the finish's km is
    ``length_m`` when given (an upload's, whose jumps between segments count none), else the stretch's length.
    An end with no elevation (an upload outside the DEM) has none."""
    first, last = coords[0], coords[-1]
    km0 = float(cumulative_distance(coords)[-1]) if length_m is None else length_m
    if loop:
        return [Waypoint(first[0], first[1], w.say("start_finish") + label, "start", km=0.0, ele=_ele(first[2]),
                         part=part)]
    return [Waypoint(first[0], first[1], w.say("start") + label, "start", km=0.0, ele=_ele(first[2]), part=part),
            Waypoint(last[0], last[1], w.say("finish") + label, "finish", km=track_km(km0), ele=_ele(last[2]),
                     part=part)]


def _ele(z: float) -> float | None:
    return None if np.isnan(z) else float(z)


def poi_waypoints(route: Route, scale: float = 1.0, wording: Words = ENGLISH) -> list[Waypoint]:
    """The key places and useful POIs ``attach_pois`` found along the route, as waypoints at their km.

    Devices cap the waypoints of a course, so a cité or a pit shaft passed is left to the map; a
    terril passed is a POI, not a summit climbed. ``scale`` turns the route's metres into the track's. The
    comment lists the POI's themes by their labels in the wording's language.
    """
    return [Waypoint(p["lon"], p["lat"], p["name"], "poi", p.get("description") or "",
                     km=round(p["along_m"] * scale / 1000, 2), comment=", ".join(wording.theme(t) for t in p["themes"]),
                     symbol=settings.theme_symbol(p["themes"]), ref=p["id"])
            for p in route.pois if p.get("key") or set(p["themes"]) & settings.WAYPOINT_THEMES]


def km_along(coords: np.ndarray, lon: float, lat: float) -> float:
    """The km mark of the point of a line nearest to a place."""
    near = int(np.argmin(np.hypot((coords[:, 0] - lon) * np.cos(np.radians(lat)), coords[:, 1] - lat)))
    return round(float(cumulative_distance(coords[:near + 1])[-1]) / 1000, 2)


def stop_waypoints(stops: Sequence[Stop], km: Sequence[float | None], coords: np.ndarray,
                   scale: float = 1.0, wording: Words = ENGLISH) -> list[Waypoint]:
    """The stops of a tour or circuit, where the course reaches them (located on the line when not given).

    Given marks are in the route's metres; ``scale`` turns them into the track's.
    """
    km = list(km) + [None] * (len(stops) - len(km))
    return [Waypoint(s.lon, s.lat, s.name or wording.say("stop", number=i + 1), "stop",
                     km=round(k * scale, 2) if k is not None else km_along(coords, s.lon, s.lat), ref=s.id)
            for i, (s, k) in enumerate(zip(stops, km))]


def summit_waypoints(summits: Sequence[dict], scale: float = 1.0, wording: Words = ENGLISH) -> list[Waypoint]:
    """The terril summits a trail course or circuit climbs, in course order: "Sommet du terril 74 – 188 m"."""
    w, out = wording, []
    for s in summits:
        number = terril_number(s["number"])
        label = w.say("summit", number=number, height=w.metres(s["height_m"]))
        desc = w.say("summit_description", height=w.metres(s["height_m"]), relief=w.metres(s["relief_m"]),
                     number=number)
        desc = f"{s['name']} – {desc}" if s.get("name") else desc
        out.append(Waypoint(s["lon"], s["lat"], label, "summit", desc,
                            km=round(s["km"] * scale, 2), ele=s["height_m"], ref=f"terril-{s['number'].lower()}",
                            label=w.pick("device", "summit").format(number=number)))
    return out


def stage_parts(route: Route, stages: Sequence[Stage], name: str,
                wording: Words = ENGLISH) -> tuple[list[Part], list[Waypoint]]:
    """One part per stage, cut at the stages' marks, with its own start and finish, and the night's lodging.

    Stage marks are metres along the route's coordinates (as ``split_stages`` measures them), the track's own
    measure. Day ``d`` ends at its lodging, so the lodging waypoint belongs to part ``d - 1``.
    """
    coords = route.coordinates
    cum = cumulative_distance(coords)
    parts, ends, lodging = [], [], []
    offset = 0.0
    for k, st in enumerate(stages):
        stretch = cut(coords, cum, st.from_m, min(st.to_m, float(cum[-1])))
        day = wording.say("day", day=st.day)
        parts.append(Part(f"{name} – {day}", stretch))
        day_ends = end_waypoints(stretch, False, wording, part=k, label=f" – {day}")
        ends += [replace(w, km=round(offset + w.km, 2)) for w in day_ends]
        offset += float(cumulative_distance(stretch)[-1]) / 1000
        if st.lodging:
            lg = st.lodging
            lodging.append(Waypoint(lg["lon"], lg["lat"], lg["name"], "lodging",
                                    wording.say("night", day=st.day, detour=wording.metres(lg["detour_m"])),
                                    km=ends[-1].km, part=k, ref=lg.get("id")))
    return parts, ends + lodging


#: A POI waypoint this close to a stop or summit of the course is that stop (devices would show two flags).
SAME_PLACE_M = 150.0


def same_place(w: Waypoint, others: Sequence[Waypoint]) -> bool:
    """Whether a POI waypoint repeats a stop or summit: the same catalogue id, or within SAME_PLACE_M."""
    for o in others:
        if w.ref is not None and w.ref == o.ref:
            return True
        dx = (w.lon - o.lon) * 111_320 * np.cos(np.radians(w.lat))
        if np.hypot(dx, (w.lat - o.lat) * 110_540) <= SAME_PLACE_M and abs((w.km or 0) - (o.km or 0)) < 0.5:
            return True
    return False


def _with_poi_text(stop: Waypoint, pois: Sequence[Waypoint]) -> Waypoint:
    """A stop that is a POI along the route takes that POI's description and comment (one waypoint, not two)."""
    poi = next((p for p in pois if same_place(p, [stop])), None)
    if poi is None:
        return stop
    return replace(stop, description=stop.description or poi.description, comment=stop.comment or poi.comment,
                   ref=stop.ref or poi.ref)


def _course_ends(ends: list[Waypoint], day_ends: list[Waypoint], n_parts: int, w: Words) -> list[Waypoint]:
    """A staged course's ends: each day's start and finish, the first start and last finish named as the course's."""
    first, last = ends[0], ends[-1]
    out = []
    for e in day_ends:
        if e.kind == "start" and e.part == 0:
            e = replace(e, name=first.name)
        elif e.kind == "finish" and e.part == n_parts - 1 and first is not last:
            e = replace(e, name=last.name)
        out.append(e)
    if first is last:  # a staged loop: the last day's finish is the start
        out = [replace(e, name=w.say("start_finish")) if e.kind == "finish" and e.part == n_parts - 1 else e
               for e in out]
    return out


def course(route: Route, kind: str, name: str, description: str = "", *, loop: bool = False,
           stops: Sequence[Stop] = (), stop_km: Sequence[float] = (), summits: Sequence[dict] = (),
           stages: Sequence[Stage] | None = None, keywords: Sequence[str] = (), wording: Words = ENGLISH) -> Course:
    """The course of any planned result: its route, with its ends, stops, summits, POIs and stages, labelled in
    ``wording``'s language (the route's own texts, POI names and descriptions, are the caller's)."""
    if kind not in settings.COURSE_KINDS:
        raise ValueError(f"unknown course kind {kind!r}")
    coords = route.coordinates
    track_m = float(cumulative_distance(coords)[-1])
    scale = track_m / route.distance_m if route.distance_m else 1.0  # the route's metres → the track's
    parts = [Part(name, coords, route.instructions)]
    w = wording
    ends = end_waypoints(coords, loop, w)
    stop_wps = stop_waypoints(stops, stop_km, coords, scale, w)
    summit_wps = summit_waypoints(summits, scale, w)
    pois = poi_waypoints(route, scale, w)
    stop_wps = [_with_poi_text(w, pois) for w in stop_wps]
    pois = [w for w in pois if not same_place(w, [*summit_wps, *stop_wps])]
    others = [*stop_wps, *summit_wps, *pois]
    if stages:
        parts, day_ends = stage_parts(route, stages, name, w)
        ends = _course_ends(ends, day_ends, len(parts), w)
        offsets = part_offsets_km(parts)
        others = [replace(w, part=part_at(offsets, w.km)) for w in others]
    return Course(kind=kind, name=name, description=description, parts=parts,
                  waypoints=sorted([*ends, *others], key=_km_key), distance_m=route.distance_m,
                  duration_s=route.duration_s, ascent_m=route.ascent_m, descent_m=route.descent_m,
                  data_version=route.data_version, profile=route.profile,
                  keywords=("Bassin minier", "galibot", *keywords))
