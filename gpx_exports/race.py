"""Race files for organisers: checkpoints and aid stations with cut-off times, start, finish and a version.

Cut-offs follow the km-effort of the course up to each point (ITRA: one km-effort per km plus one
per 100 m of ascent), so a checkpoint after a chain of terrils gets the time its climbing costs.
The spacing and the cut-off pace are the organiser's; the defaults are only defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from routing.route import cumulative_distance, smoothed_climbs

from . import settings
from .course import Course, Waypoint, point_at
from .errors import ExportError


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
        lo, hi = settings.CUTOFF_S_PER_KM_EFFORT_RANGE
        if not lo <= self.cutoff_s_per_km_effort <= hi:
            raise ExportError(f"cutoff_s_per_km_effort must be between {lo:g} and {hi:g} s",
                              field="cutoff_s_per_km_effort")


class EffortProfile:
    """Distance, ascent and km-effort at any point along a course."""

    def __init__(self, course: Course) -> None:
        self.coords = course.coordinates()
        self.cum = cumulative_distance(self.coords)
        _, _, grid, z = smoothed_climbs(self.cum, self.coords[:, 2])
        rises = np.concatenate([[0.0], np.clip(np.diff(z), 0, None)])
        self.grid, self.ascent = grid, np.cumsum(rises)

    @property
    def length_km(self) -> float:
        """The course length along its coordinates."""
        return float(self.cum[-1]) / 1000

    def km_effort(self, km: float) -> float:
        """Km-effort from the start to ``km``: distance plus smoothed ascent over KM_EFFORT_ASCENT_M."""
        return km + float(np.interp(km * 1000, self.grid, self.ascent)) / settings.KM_EFFORT_ASCENT_M


def _marks(explicit: tuple[float, ...] | None, every: float | None, length_km: float) -> list[float]:
    if explicit is not None:
        return sorted(explicit)
    if not every:
        return []
    return [float(k) for k in np.arange(every, length_km - every / 4, every)]


def _station(effort: EffortProfile, spec: RaceSpec, km: float, kind: str, number: int, part: int) -> Waypoint:
    x, y, z = point_at(effort.coords, effort.cum, km * 1000)
    cutoff = spec.start_time + timedelta(seconds=round(effort.km_effort(km) * spec.cutoff_s_per_km_effort))
    label = "CP" if kind == "checkpoint" else "Aid"
    when = cutoff.strftime("%H:%M")
    return Waypoint(float(x), float(y), f"{label}{number} km {km:.1f}", kind,
                    f"{'Checkpoint' if kind == 'checkpoint' else 'Aid station'} {number} at km {km:.1f} "
                    f"({effort.km_effort(km):.1f} km-effort); cut-off {when} ({cutoff.isoformat()})",
                    km=round(km, 2), ele=float(z), comment=f"cut-off {cutoff.isoformat()}", part=part)


def race_course(course: Course, spec: RaceSpec) -> Course:
    """The course with numbered checkpoints and aid stations, their cut-offs, and the race version."""
    effort = EffortProfile(course)
    spec.check(effort.length_km)
    stations = [_station(effort, spec, k, "checkpoint", i, course.part_at(k))
                for i, k in enumerate(_marks(spec.checkpoints_km, spec.checkpoint_every_km, effort.length_km), 1)]
    stations += [_station(effort, spec, k, "aid-station", i, course.part_at(k))
                 for i, k in enumerate(_marks(spec.aid_stations_km, spec.aid_every_km, effort.length_km), 1)]
    finish_cutoff = spec.start_time + timedelta(
        seconds=round(effort.km_effort(effort.length_km) * spec.cutoff_s_per_km_effort))
    text = (f"{course.description}\nStart {spec.start_time.isoformat()}; finish cut-off {finish_cutoff.isoformat()}. "
            f"Cut-offs at {spec.cutoff_s_per_km_effort / 60:.0f} min per km-effort "
            f"(km + ascent/{settings.KM_EFFORT_ASCENT_M:.0f} m).").strip()
    first_start = next((w for w in course.waypoints if w.kind == "start"), None)
    last_finish = next((w for w in reversed(course.waypoints) if w.kind == "finish"), None)
    ends = [_end(w, spec, finish_cutoff, closes=last_finish is None) for w in (first_start, last_finish)
            if w is not None]
    kept = [w for w in course.waypoints if w is not first_start and w is not last_finish]
    return replace(course, waypoints=kept).with_waypoints([*stations, *ends], kind="race", version=spec.version,
                                                          description=text)


def _end(w: Waypoint, spec: RaceSpec, finish_cutoff: datetime, *, closes: bool = False) -> Waypoint:
    """The start with the start time, the finish with the finish cut-off; a loop's one "Start / Finish" (``closes``)
    with both, so the finish cut-off is on a waypoint and not only in the metadata."""
    if w.kind == "start" and closes:
        return replace(w, description=f"Start {spec.start_time.isoformat()}; finish cut-off "
                       f"{finish_cutoff.isoformat()}",
                       comment=f"start {spec.start_time.isoformat()}; cut-off {finish_cutoff.isoformat()}")
    if w.kind == "start":
        return replace(w, description=f"Start {spec.start_time.isoformat()}",
                       comment=f"start {spec.start_time.isoformat()}")
    return replace(w, description=f"Finish; cut-off {finish_cutoff.isoformat()}",
                   comment=f"cut-off {finish_cutoff.isoformat()}")
