"""Turn-by-turn maneuvers from a route's arc pieces: types, modifiers, ways and distances, no words.

The words are the presentation layer's (``presentation.instructions``): a route is computed once and
read in any language. Standard library only: the server and the offline client make their maneuvers
with this one module, the server from its compiled graph, the phone from its bundle (``way`` says
what a way is called and what it is, either way).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

#: What instructions need of a way: its name (None without one), class and subclass.
WayKey = tuple[str | None, str, str]

#: A stretch shorter than this (a street crossed on the way) is folded into the one before it.
MIN_STRETCH_M = 15.0
BEARING_SPAN_M = 15.0


def _bearing(pts: Sequence[Sequence[float]], from_end: bool) -> float:
    """Compass bearing (degrees) of the first (or last) BEARING_SPAN_M of a polyline: towards its first point that
    far from its start (or its last point, if none is)."""
    order = range(len(pts) - 1, -1, -1) if from_end else range(len(pts))
    it = iter(order)
    first = next(it)
    lon0, lat0 = float(pts[first][0]), float(pts[first][1])
    cos0 = math.cos(math.radians(lat0))
    dx = dy = 0.0
    for i in it:
        dx, dy = (float(pts[i][0]) - lon0) * cos0 * 111_320, (float(pts[i][1]) - lat0) * 110_540
        if math.hypot(dx, dy) >= BEARING_SPAN_M:
            break
    b = math.degrees(math.atan2(dx, dy)) % 360
    return (b + 180) % 360 if from_end else b


def _modifier(turn: float) -> str | None:
    """None for straight on, else left/right with slight/sharp, or uturn."""
    a = abs(turn)
    if a < 25:
        return None
    side = "right" if turn > 0 else "left"
    if a < 60:
        return f"slight_{side}"
    if a < 135:
        return side
    return f"sharp_{side}" if a < 170 else "uturn"


def _stretches(way: Callable[[int], WayKey], pieces: list, lengths: Sequence[float],
               leg_sizes: list[int], runs: Sequence[tuple[int, int]] | None = None,
               arcs: Sequence[int] | None = None) -> list[dict]:
    """Consecutive pieces on the same way (name, class, subclass), split at the leg ends; ``runs`` are those
    stretches as (first piece, end) ranges and ``arcs`` each piece's arc, when the caller has them already."""
    leg_starts, at = {0}, 0
    for size in leg_sizes[:-1]:
        at += size
        leg_starts.add(at)
    if runs is None:
        runs = _runs(way, pieces, leg_starts)
    if arcs is None:
        arcs = [p.arc for p in pieces]
    metres = [float(m) for m in lengths]
    merged: list[dict] = []
    last: dict | None = None
    for a, b in runs:  # "pieces" holds the first and the last piece of a stretch
        key, length, leg_start = way(arcs[a] >> 1), sum(metres[a:b]), a in leg_starts and a > 0
        if last is not None and not leg_start and (length < MIN_STRETCH_M or last["key"] == key):
            last["pieces"][-1] = b - 1  # a short stretch, or the same way again, continues the one before
            last["length"] += length
        else:
            last = {"key": key, "pieces": [a, b - 1], "length": length, "leg_start": leg_start}
            merged.append(last)
    return merged


def _bearing_lookups(piece_points, bearings) -> tuple[Callable[[int], float], Callable[[int, float], float]]:
    """(piece → bearing at its start, (piece, fallback) → bearing at its end): from ``bearings`` when given, else
    measured on the piece's points; a piece of one point heads 0 at its start and keeps the fallback at its end."""
    if bearings is None:
        def start_of(k: int) -> float:
            pts = piece_points[k]
            return _bearing(pts, from_end=False) if len(pts) > 1 else 0.0

        def end_of(k: int, fallback: float) -> float:
            pts = piece_points[k]
            return _bearing(pts, from_end=True) if len(pts) > 1 else fallback
        return start_of, end_of
    starts, ends = bearings
    return (lambda k: 0.0 if math.isnan(starts[k]) else float(starts[k]),
            lambda k, fallback: fallback if math.isnan(ends[k]) else float(ends[k]))


def _runs(way: Callable[[int], WayKey], pieces: list, leg_starts: set[int]) -> list[tuple[int, int]]:
    """(first piece, end) of each run of consecutive pieces on one way, a leg's start opening a new run."""
    out: list[tuple[int, int]] = []
    start, key = 0, None
    for i, piece in enumerate(pieces):
        k = way(piece.arc >> 1)
        if i > 0 and (k != key or i in leg_starts):
            out.append((start, i))
            start = i
        key = k
    return out + [(start, len(pieces))] if pieces else out


def _location(piece_points, starts: Sequence[Sequence[float]] | None, k: int) -> list[float]:
    """Where piece ``k`` starts, as [lon, lat] rounded to 7 decimals (about a centimetre)."""
    if starts is not None:
        return list(starts[k])
    first = piece_points[k][0]
    return [round(float(first[0]), 7), round(float(first[1]), 7)]


def instructions_for(way: Callable[[int], WayKey], pieces: list, piece_points: Sequence[Sequence[Sequence[float]]],
                     lengths: Sequence[float], leg_sizes: list[int], *, push: frozenset[str] = frozenset(),
                     names: Sequence[str | None] = (),
                     bearings: tuple[Sequence[float], Sequence[float]] | None = None,
                     runs: Sequence[tuple[int, int]] | None = None,
                     starts: Sequence[Sequence[float]] | None = None,
                     arcs: Sequence[int] | None = None) -> list[dict]:
    """Depart, turn/continue, waypoint and arrive maneuvers, language-neutral.

    Each has ``type``, ``modifier`` (slight/sharp left/right, uturn, or None for straight on), the way's ``name``,
    ``way_class`` and ``subclass``, ``distance_m`` to the next maneuver, ``location`` and ``push``. The depart
    has the ``bearing`` it heads on; a waypoint its ``number`` and ``place``; the arrive its ``place``.
    ``way(edge)`` gives a way's name, class and subclass; ``piece_points`` are each piece's (lon, lat, …) points.
    ``push`` holds the subclasses where the rider gets off and pushes (a bike on steps). ``names`` are the names
    of the route's points (start, vias, end; None where a point is bare coordinates). ``bearings``, when given, are
    each piece's bearings at its start and at its end as ``_bearing`` measures them (NaN for a piece of one point),
    computed for all pieces at once by the server (``routing.route.piece_bearings``), ``runs`` the (first piece,
    end) ranges of consecutive
    pieces on one way within a leg (``routing.route.way_runs``), ``starts`` each piece's first point as
    [lon, lat] already rounded to 7 decimals (the server rounds them at once), and ``arcs`` each piece's arc: with
    ``runs`` and ``arcs`` given, ``pieces`` is not read (the server reads its legs as arrays, without a ``Piece``
    per arc).
    """
    start_of, end_of = _bearing_lookups(piece_points, bearings)
    names = list(names) + [None] * (len(leg_sizes) + 1 - len(names))
    out: list[dict] = []
    stop = 0
    prev_end_bearing = None
    for k, st in enumerate(_stretches(way, pieces, lengths, leg_sizes, runs, arcs)):
        start_bearing = start_of(st["pieces"][0])
        name, cls, sub = st["key"]
        base = {"name": name, "way_class": cls, "subclass": sub, "distance_m": round(st["length"], 1),
                "location": _location(piece_points, starts, st["pieces"][0]), "push": sub in push}
        if st["leg_start"]:
            stop += 1
            out.append({"type": "waypoint", "modifier": None, **base, "distance_m": 0.0, "push": False,
                        "number": stop, "place": names[stop]})
        if k == 0:
            out.append({"type": "depart", "modifier": None, **base, "bearing": round(start_bearing, 1)})
        else:
            mod = _modifier((start_bearing - prev_end_bearing + 540) % 360 - 180)
            out.append({"type": "continue" if mod is None else "turn", "modifier": mod, **base})
        prev_end_bearing = end_of(st["pieces"][-1], start_bearing)
    end = piece_points[-1][-1]
    out.append({"type": "arrive", "modifier": None, "name": None, "way_class": None, "subclass": None,
                "distance_m": 0.0, "location": [round(float(end[0]), 7), round(float(end[1]), 7)], "push": False,
                "place": names[-1]})
    return out
