"""Thinning a track for devices that hold few points: Douglas-Peucker to at most N points, course points kept.

Devices cap a course at 500 to 10,000 points. GEOS's Douglas-Peucker (``shapely.simplify``) thins each stretch
between two course points in Lambert-93 metres, so the start, the finish, every checkpoint, aid station, summit
and stop stay on a vertex of the thinned track; the tolerance is the smallest that brings the whole track to at
most N points, found by bisection (a fixed number of steps, so the same track always gives the same points). The
deviation reported is the largest distance from a point of the original track to the thinned one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import shapely

from routing import geo

from . import settings
from .course import Course
from .errors import ExportError


@dataclass(frozen=True)
class Thinned:
    """Which points of a track a thinned track keeps, and how far it strays from the original."""

    keep: np.ndarray  # indices into the original points, increasing, ends included
    tolerance_m: float  # the Douglas-Peucker tolerance that gave them
    max_deviation_m: float  # the largest distance of an original point to the thinned line

    @property
    def points(self) -> int:
        return len(self.keep)


def _vertices_kept(xy: np.ndarray, lo: int, hi: int, tolerance_m: float) -> np.ndarray:
    """Indices (into ``xy``) that Douglas-Peucker keeps of the stretch ``lo..hi`` (both ends always)."""
    if hi - lo < 2 or tolerance_m <= 0:
        return np.arange(lo, hi + 1)
    simple = shapely.get_coordinates(shapely.simplify(shapely.linestrings(xy[lo:hi + 1]), tolerance_m,
                                                      preserve_topology=False))
    # GEOS keeps original vertices unchanged and in order: walk the stretch to find each one's index
    out, j = [], lo
    for x, y in simple:
        while j <= hi and (xy[j, 0] != x or xy[j, 1] != y):
            j += 1
        out.append(min(j, hi))
    return np.unique(np.asarray([lo, *out, hi]))


def _thin_at(xy: np.ndarray, anchors: np.ndarray, tolerance_m: float) -> np.ndarray:
    return np.unique(np.concatenate([_vertices_kept(xy, int(a), int(b), tolerance_m)
                                     for a, b in zip(anchors[:-1], anchors[1:])]))


def _deviation(xy: np.ndarray, keep: np.ndarray, anchors: np.ndarray) -> float:
    """The largest distance (m) from an original point to the thinned line between the same two anchors (not to the
    whole line: where a course passes twice, another pass must not hide a cut corner)."""
    worst = 0.0
    for a, b in zip(anchors[:-1], anchors[1:]):
        stretch = keep[(keep >= a) & (keep <= b)]
        if b - a >= 2 and len(stretch) < b - a + 1:
            line = shapely.linestrings(xy[stretch])
            worst = max(worst, float(shapely.distance(shapely.points(xy[a:b + 1]), line).max()))
    return worst


def thin(coords: np.ndarray, max_points: int, *, keep: Sequence[int] = ()) -> Thinned:
    """The points of ``coords`` (lon, lat[, ele]) to write so that at most ``max_points`` remain.

    ``keep`` are indices that must stay (the course points' vertices); the ends always stay. Raises
    ``ExportError`` (field ``thin_to``) when ``max_points`` is below the points that must stay or outside
    ``settings.THIN_TO_RANGE``.
    """
    lo, hi = settings.THIN_TO_RANGE
    if not lo <= max_points <= hi:
        raise ExportError(f"thin_to must be between {lo:,} and {hi:,} points", field="thin_to")
    n = len(coords)
    anchors = np.unique(np.clip(np.asarray([0, *keep, n - 1], dtype=int), 0, n - 1))
    if max_points >= n:
        return Thinned(np.arange(n), 0.0, 0.0)
    if len(anchors) > max_points:
        raise ExportError(f"thin_to={max_points:,} is fewer than the {len(anchors):,} course points the track must "
                          "keep (start, finish, checkpoints, summits…)", field="thin_to")
    x, y = geo.to_metric(coords[:, 0], coords[:, 1])
    xy = np.column_stack([x, y])
    low, high = 0.0, 1.0
    while len(_thin_at(xy, anchors, high)) > max_points:  # a tolerance that is enough: doubled from 1 m
        low, high = high, high * 2
    for _ in range(settings.THIN_BISECTION_STEPS):  # the smallest enough tolerance, to 2^-STEPS of the bracket
        mid = (low + high) / 2
        low, high = (low, mid) if len(_thin_at(xy, anchors, mid)) <= max_points else (mid, high)
    kept = _thin_at(xy, anchors, high)
    return Thinned(kept, high, _deviation(xy, kept, anchors))


def course_point_indices(cum_m: np.ndarray, marks_km: Sequence[float]) -> list[int]:
    """The vertex nearest each km mark along a line of cumulative distances ``cum_m``."""
    at = np.asarray(marks_km, dtype=float) * 1000
    idx = np.clip(np.searchsorted(cum_m, at), 1, len(cum_m) - 1)
    before = np.abs(cum_m[idx - 1] - at) <= np.abs(cum_m[idx] - at)
    return (idx - before.astype(int)).tolist()


def _part_anchors(course: Course, k: int, offset_km: float) -> list[int]:
    """The vertices of part ``k`` that must stay: its course points and the ends of the file's own segments."""
    part = course.parts[k]
    cum = part.along_m()
    marks = [w.km - offset_km for w in course.waypoints if w.part == k and w.km is not None and w.kind != "km"]
    seams = [i for s in part.segment_starts for i in (s - 1, s)]
    return [*course_point_indices(cum, marks), *seams] if marks else seams


def thin_course(course: Course, max_points: int) -> tuple[Course, float]:
    """The course with each part thinned to at most ``max_points`` points, every course point kept on a vertex, and
    the largest deviation (m) of any part from its original.

    The waypoints keep their km and the kept points their distance along the original track (``Part.measure``), so
    a device's distances are the planned ones, although the thinned line is shorter by the corners it cuts.
    """
    offsets = course.part_offsets_km()
    parts, worst = [], 0.0
    for k, part in enumerate(course.parts):
        t = thin(part.coordinates, max_points, keep=_part_anchors(course, k, float(offsets[k])))
        starts = tuple(int(np.searchsorted(t.keep, s)) for s in part.segment_starts)
        parts.append(replace(part, coordinates=part.coordinates[t.keep], segment_starts=starts,
                             measure=part.along_m()[t.keep]))
        worst = max(worst, t.max_deviation_m)
    return replace(course, parts=parts), worst
