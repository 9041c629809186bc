"""Race files for organisers: checkpoints and aid stations with cut-off times, start, finish and a version.

Cut-offs follow the km-effort of the course up to each point (ITRA: one km-effort per km plus one
per 100 m of ascent), so a checkpoint after a chain of terrils gets the time its climbing costs.
The spacing and the cut-off pace are the organiser's; the defaults are only defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from presentation import Words
from routing.route import cumulative_climbs, smoothed_climbs
from routing.settings import CLIMB_HYSTERESIS_M

from . import settings
from .course import ENGLISH, Course, Waypoint, point_at
from .effort import runner_figures
from .errors import ExportError


@dataclass(frozen=True)
class Station:
    """A checkpoint or aid station the organiser placed: its km on the course, and optionally its own name, cut-off
    and services. ``field`` names it in errors (``checkpoints[2]``)."""

    km: float
    kind: str = "checkpoint"  # or "aid-station"
    name: str | None = None
    cutoff: datetime | None = None  # None: by the pace rule
    services: tuple[str, ...] = ()
    field: str = "checkpoints"


@dataclass(frozen=True)
class RaceSpec:
    """Where the checkpoints and aid stations are and how long runners have to reach them."""

    start_time: datetime
    version: str = "1"
    checkpoints_km: tuple[float, ...] | None = None  # explicit; else every ``checkpoint_every_km``
    checkpoint_every_km: float = settings.CHECKPOINT_EVERY_KM
    aid_stations_km: tuple[float, ...] | None = None  # explicit; else every ``aid_every_km``
    aid_every_km: float | None = settings.AID_EVERY_KM
    cutoff_s_per_km_effort: float = settings.CUTOFF_S_PER_KM_EFFORT
    all_waypoints: bool = False  # keep the course's POIs, stops and nights too (else only what a runner needs)
    stations: tuple[Station, ...] | None = None  # placed one by one (an organiser's own course); else by spacing
    finish_cutoff: datetime | None = None  # None: by the pace rule

    def check(self, length_km: float) -> None:
        """Refuse marks off the course and spacings that make no sense, naming the field."""
        for name in ("checkpoints_km", "aid_stations_km"):
            for k in getattr(self, name) or ():
                if not 0 < k < length_km:
                    raise ExportError(f"{name}: {k:g} km is not on the course (0–{length_km:.1f} km)", field=name)
        least = settings.MIN_STATION_SPACING_KM
        if self.checkpoint_every_km < least:
            raise ExportError(f"checkpoint_every_km must be at least {least:g}", field="checkpoint_every_km")
        if self.aid_every_km is not None and self.aid_every_km < least:
            raise ExportError(f"aid_every_km must be at least {least:g}", field="aid_every_km")
        for name in ("checkpoints_km", "aid_stations_km"):
            if len(getattr(self, name) or ()) > settings.MAX_STATIONS:
                raise ExportError(f"{name}: at most {settings.MAX_STATIONS} marks", field=name)
        for st in self.stations or ():
            if not 0 < st.km < length_km:
                raise ExportError(f"{st.field}: km {st.km:g} is not on the course (0–{length_km:.2f} km)",
                                  field=f"{st.field}.at")
        lo, hi = settings.CUTOFF_S_PER_KM_EFFORT_RANGE
        if not lo <= self.cutoff_s_per_km_effort <= hi:
            raise ExportError(f"cutoff_s_per_km_effort must be between {lo:g} and {hi:g} s",
                              field="cutoff_s_per_km_effort")


class EffortProfile:
    """Distance, ascent and km-effort at any point along a course."""

    def __init__(self, course: Course) -> None:
        self.coords = course.coordinates()
        self.cum = course.along_m()
        grids, ups, downs = [], [], []
        up0 = down0 = 0.0
        for lo, hi in course.stretches():  # an upload's segments each on its own: a jump between two climbs nothing
            if hi - lo < 2:
                continue
            cum = self.cum[lo:hi] - self.cum[lo]
            _, _, grid, smooth = smoothed_climbs(cum, known_elevation(cum, self.coords[lo:hi, 2]))
            up, down = cumulative_climbs(smooth, CLIMB_HYSTERESIS_M)
            grids.append(grid + self.cum[lo])
            ups.append(up + up0)
            downs.append(down + down0)
            up0, down0 = float(ups[-1][-1]), float(downs[-1][-1])
        self.grid, self.ascent, self.descent = np.concatenate(grids), np.concatenate(ups), np.concatenate(downs)

    def climbed(self, km: float) -> tuple[float, float]:
        """Smoothed ascent and descent (m) from the start to ``km``."""
        at = km * 1000
        return float(np.interp(at, self.grid, self.ascent)), float(np.interp(at, self.grid, self.descent))

    @property
    def length_km(self) -> float:
        """The course length along its coordinates."""
        return float(self.cum[-1]) / 1000

    def km_effort(self, km: float) -> float:
        """Km-effort from the start to ``km``: distance plus smoothed ascent over KM_EFFORT_ASCENT_M."""
        return km + float(np.interp(km * 1000, self.grid, self.ascent)) / settings.KM_EFFORT_ASCENT_M


def known_elevation(cum: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Elevations with the points the DEM does not cover (an upload leaving the SRTM tiles) interpolated between
    their known neighbours, and held flat past the last one: such stretches count no climb."""
    known = ~np.isnan(z)
    if known.all() or not known.any():
        return np.nan_to_num(z)
    return np.interp(cum, cum[known], z[known])


#: What a race file keeps of its course unless the organiser asks for all: its ends, summits and km markers (the
#: checkpoints and aid stations are the race's own). Tourist POIs, a tour's stops and nights are for other files.
RACE_KINDS = frozenset({"start", "finish", "summit", "km"})


def _marks(explicit: tuple[float, ...] | None, every: float | None, length_km: float) -> list[float]:
    if explicit is not None:
        return sorted(explicit)
    if not every:
        return []
    return [float(k) for k in np.arange(every, length_km - every / 4, every)]


def _station(effort: EffortProfile, spec: RaceSpec, st: Station, number: int, part: int, w: Words) -> Waypoint:
    """A checkpoint or aid station: "Ravitaillement 2 – km 48,5" (or the organiser's name), its km-effort and cut-off
    (the organiser's, else by the pace rule), and the short name a device shows.

    The comment keeps the cut-off as ISO 8601 (what a timing system reads), after the word for it.
    """
    km = st.km
    x, y, z = point_at(effort.coords, effort.cum, km * 1000)
    cutoff = st.cutoff or spec.start_time + timedelta(
        seconds=round(effort.km_effort(km) * spec.cutoff_s_per_km_effort))
    label = st.name or w.say(st.kind, number=number, km=w.mark(km))
    text = w.say("station_description", label=label, km=w.mark(km), effort=w.number(effort.km_effort(km), 1),
                 time=w.time(cutoff), moment=w.moment(cutoff))
    device = st.name or w.pick("device", st.kind).format(number=number)
    return Waypoint(float(x), float(y), label, st.kind, text, km=round(km, 2), ele=float(z),
                    comment=w.say("cutoff", cutoff=cutoff.isoformat()), part=part, cutoff=cutoff, label=device,
                    services=st.services)


def _spaced(spec: RaceSpec, length_km: float) -> list[Station]:
    """The stations of a spec given by spacing or by lists of km."""
    cps = _marks(spec.checkpoints_km, spec.checkpoint_every_km, length_km)
    aids = _marks(spec.aid_stations_km, spec.aid_every_km, length_km)
    return ([Station(k, "checkpoint", field="checkpoints_km") for k in cps]
            + [Station(k, "aid-station", field="aid_stations_km") for k in aids])


def _numbered(stations: list[Station]) -> list[tuple[Station, int]]:
    """Each station with its number among its kind, in km order."""
    counts: dict[str, int] = {}
    out = []
    for st in sorted(stations, key=lambda s: s.km):
        counts[st.kind] = counts.get(st.kind, 0) + 1
        out.append((st, counts[st.kind]))
    return out


def check_cutoffs(stations: list[Waypoint], sources: dict[int, Station], start: datetime,
                  finish_cutoff: datetime) -> None:
    """Refuse cut-offs that go backwards in time along the course, or fall before the start, naming the station the
    organiser set (``checkpoints[3].cutoff``) or ``finish_cutoff``."""
    previous, previous_field = start, "start_time"
    for wp in sorted(stations, key=lambda s: s.km or 0):
        src = sources[id(wp)]
        if wp.cutoff < previous or wp.cutoff <= start:
            blame = f"{src.field}.cutoff" if src.cutoff is not None else previous_field
            raise ExportError(f"{blame}: the cut-off at km {wp.km:g} ({wp.cutoff.isoformat()}) is not after the one "
                              f"before it ({previous.isoformat()}); cut-offs must go forward along the course",
                              field=blame)
        previous, previous_field = wp.cutoff, f"{src.field}.cutoff" if src.cutoff is not None else previous_field
    if finish_cutoff < previous or finish_cutoff <= start:
        raise ExportError(f"finish_cutoff: {finish_cutoff.isoformat()} is not after the last station's cut-off "
                          f"({previous.isoformat()})", field="finish_cutoff")


def race_course(course: Course, spec: RaceSpec, wording: Words = ENGLISH) -> Course:
    """The course with numbered checkpoints and aid stations, their cut-offs, and the race version, worded in
    ``wording``'s language. Raises ``ExportError`` naming the field for a station off the course or cut-offs that
    go backwards."""
    w = wording
    effort = EffortProfile(course)
    spec.check(effort.length_km)
    placed = list(spec.stations) if spec.stations is not None else _spaced(spec, effort.length_km)
    stations, sources = [], {}
    for st, number in _numbered(placed):
        wp = _station(effort, spec, st, number, course.part_at(st.km), w)
        stations.append(wp)
        sources[id(wp)] = st
    finish_cutoff = spec.finish_cutoff or spec.start_time + timedelta(
        seconds=round(effort.km_effort(effort.length_km) * spec.cutoff_s_per_km_effort))
    check_cutoffs(stations, sources, spec.start_time, finish_cutoff)
    rules = w.say("race_description", start=w.moment(spec.start_time), finish=w.moment(finish_cutoff),
                  minutes=w.say("minutes", minutes=w.number(spec.cutoff_s_per_km_effort / 60)))
    runner = runner_figures(course.distance_m, course.ascent_m)
    figures = w.say("race_figures", effort=w.number(runner.km_effort, 1), category=runner.category,
                    per_km=w.metres(runner.ascent_per_km))
    text = f"{course.description}\n{rules}\n{figures}".strip()
    first_start = next((w for w in course.waypoints if w.kind == "start"), None)
    last_finish = next((w for w in reversed(course.waypoints) if w.kind == "finish"), None)
    ends = [_end(e, spec, finish_cutoff, w, closes=last_finish is None) for e in (first_start, last_finish)
            if e is not None]
    kept = [e for e in course.waypoints if e is not first_start and e is not last_finish
            and (spec.all_waypoints or e.kind in RACE_KINDS)]
    return replace(course, waypoints=kept).with_waypoints([*stations, *ends], kind="race", version=spec.version,
                                                          description=text, finish_cutoff=finish_cutoff)


def _end(e: Waypoint, spec: RaceSpec, finish_cutoff: datetime, w: Words, *, closes: bool = False) -> Waypoint:
    """The start with the start time, the finish with the finish cut-off; a loop's one "Start / Finish" (``closes``)
    with both, so the finish cut-off is on a waypoint and not only in the metadata. Comments keep ISO 8601."""
    start, cutoff = spec.start_time.isoformat(), finish_cutoff.isoformat()
    if e.kind == "start" and closes:
        return replace(e, description=w.say("start_cutoff", start=w.moment(spec.start_time),
                                            cutoff=w.moment(finish_cutoff)),
                       comment=w.say("start_cutoff", start=start, cutoff=cutoff), cutoff=spec.start_time)
    if e.kind == "start":
        return replace(e, description=w.say("start_at", start=w.moment(spec.start_time)),
                       comment=w.say("start_at", start=start), cutoff=spec.start_time)
    return replace(e, description=w.say("finish_cutoff", cutoff=w.moment(finish_cutoff)),
                   comment=w.say("cutoff", cutoff=cutoff), cutoff=finish_cutoff)
