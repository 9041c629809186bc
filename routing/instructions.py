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
               leg_sizes: list[int]) -> list[dict]:
    """Consecutive pieces on the same way (name, class, subclass), split at the leg ends; a stretch shorter than
    MIN_STRETCH_M, or on the way of the stretch before, continues that one unless it starts a leg."""
    leg_starts, at = {0}, 0
    for size in leg_sizes[:-1]:
        at += size
        leg_starts.add(at)
    metres = [float(m) for m in lengths]
    merged: list[dict] = []
    last: dict | None = None
    for a, b in _runs(way, pieces, leg_starts):  # "pieces" holds the first and the last piece of a stretch
        key, length, leg_start = way(pieces[a].arc >> 1), sum(metres[a:b]), a in leg_starts and a > 0
        if last is not None and not leg_start and (length < MIN_STRETCH_M or last["key"] == key):
            last["pieces"][-1] = b - 1
            last["length"] += length
        else:
            last = {"key": key, "pieces": [a, b - 1], "length": length, "leg_start": leg_start}
            merged.append(last)
    return merged


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


def instructions_for(way: Callable[[int], WayKey], pieces: list, piece_points: Sequence[Sequence[Sequence[float]]],
                     lengths: Sequence[float], leg_sizes: list[int], *, push: frozenset[str] = frozenset(),
                     names: Sequence[str | None] = ()) -> list[dict]:
    """Depart, turn/continue, waypoint and arrive maneuvers, language-neutral.

    Each has ``type``, ``modifier`` (slight/sharp left/right, uturn, or None for straight on), the way's ``name``,
    ``way_class`` and ``subclass``, ``distance_m`` to the next maneuver, ``location`` and ``push``. The depart
    has the ``bearing`` it heads on; a waypoint its ``number`` and ``place``; the arrive its ``place``.
    ``way(edge)`` gives a way's name, class and subclass; ``piece_points`` are each piece's (lon, lat, …) points.
    ``push`` holds the subclasses where the rider gets off and pushes (a bike on steps). ``names`` are the names
    of the route's points (start, vias, end; None where a point is bare coordinates).

    The server makes the same maneuvers from its arrays in one compiled pass (``routing.route._maneuvers``); this
    is their specification, and a test holds the two equal.
    """
    names = list(names) + [None] * (len(leg_sizes) + 1 - len(names))
    out: list[dict] = []
    stop = 0
    prev_end_bearing = None
    for k, st in enumerate(_stretches(way, pieces, lengths, leg_sizes)):
        first, last = piece_points[st["pieces"][0]], piece_points[st["pieces"][-1]]
        start_bearing = _bearing(first, from_end=False) if len(first) > 1 else 0.0
        name, cls, sub = st["key"]
        base = {"name": name, "way_class": cls, "subclass": sub, "distance_m": round(st["length"], 1),
                "location": [round(float(first[0][0]), 7), round(float(first[0][1]), 7)], "push": sub in push}
        if st["leg_start"]:
            stop += 1
            out.append({"type": "waypoint", "modifier": None, **base, "distance_m": 0.0, "push": False,
                        "number": stop, "place": names[stop]})
        if k == 0:
            out.append({"type": "depart", "modifier": None, **base, "bearing": round(start_bearing, 1)})
        else:
            mod = _modifier((start_bearing - prev_end_bearing + 540) % 360 - 180)
            out.append({"type": "continue" if mod is None else "turn", "modifier": mod, **base})
        prev_end_bearing = _bearing(last, from_end=True) if len(last) > 1 else start_bearing
    end = piece_points[-1][-1]
    out.append({"type": "arrive", "modifier": None, "name": None, "way_class": None, "subclass": None,
                "distance_m": 0.0, "location": [round(float(end[0]), 7), round(float(end[1]), 7)], "push": False,
                "place": names[-1]})
    return out
