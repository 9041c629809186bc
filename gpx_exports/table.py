"""The race's points as a CSV table, for the timing company and the volunteers.

One line per point of the race, in course order: the start, the checkpoints, the aid stations, the summits and
the finish (a loop's finish gets its own line, at the end). The columns are ``settings.CSV_COLUMNS``, stable
identifiers a timing system maps once; numbers use a dot and no grouping, cut-offs are ISO 8601 with their
offset, and services are separated by "; ". Names are in the file's language.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from presentation import Words

from . import settings
from .course import ENGLISH, Course, Waypoint
from .race import EffortProfile

#: The kinds of waypoint the table lists (tourist POIs, km markers and nights are for other files).
TABLE_KINDS = ("start", "checkpoint", "aid-station", "summit", "stop", "finish")


def _services(wp: Waypoint, w: Words) -> str:
    if wp.services:
        return "; ".join(wp.services)
    defaults = {"checkpoint": "checkpoint_services", "aid-station": "aid_services"}
    key = defaults.get(wp.kind)
    return w.table["sheet"][key] if key else ""


def race_rows(course: Course, wording: Words = ENGLISH) -> list[dict]:
    """The table's rows as dicts keyed by ``settings.CSV_COLUMNS``."""
    effort = EffortProfile(course)
    points = [wp for wp in course.waypoints if wp.kind in TABLE_KINDS]
    rows = []
    for wp in points:
        rows.append(_row(effort, wp.kind, wp.name, wp.km or 0.0, wp.cutoff, _services(wp, wording)))
    if not any(wp.kind == "finish" for wp in points):  # a loop: its one waypoint is the start
        rows.append(_row(effort, "finish", wording.say("finish"), effort.length_km, course.finish_cutoff, ""))
    for i, row in enumerate(rows, 1):
        row["order"] = i
    return rows


def _row(effort: EffortProfile, kind: str, name: str, km: float, cutoff: datetime | None, services: str) -> dict:
    up, down = effort.climbed(km)
    return {"order": 0, "type": kind, "name": name, "km": f"{km:.2f}", "cum_ascent_m": f"{up:.0f}",
            "cum_descent_m": f"{down:.0f}", "km_effort": f"{effort.km_effort(km):.1f}",
            "cutoff": cutoff.isoformat() if cutoff else "", "services": services}


def to_csv(course: Course, wording: Words = ENGLISH) -> str:
    """The race table as CSV text (RFC 4180: CRLF line ends, quotes where needed), with a header line."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=settings.CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(race_rows(course, wording))
    return out.getvalue()
