"""Turn-by-turn instructions from a route's arc pieces, worded from the translation files in i18n/."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from .compiled import CompiledGraph

I18N_DIR = Path(__file__).with_name("i18n")
LANGUAGES = tuple(sorted(p.stem for p in I18N_DIR.glob("*.json")))
FALLBACK = ("en", "fr")
#: A stretch shorter than this (a street crossed on the way) is folded into the one before it.
MIN_STRETCH_M = 15.0
BEARING_SPAN_M = 15.0


@cache
def texts(lang: str) -> dict:
    """The translation table of a language, falling back to English then French for missing keys."""
    merged: dict = {}
    for code in (*reversed(FALLBACK), lang):
        path = I18N_DIR / f"{code}.json"
        if path.is_file():
            merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def format_distance(metres: float, lang: str) -> str:
    """``350 m`` or ``2,3 km`` in the language's style."""
    t = texts(lang)
    if metres < 950:
        return f"{int(round(metres / 10.0) * 10)} {t['units']['m']}"
    return f"{metres / 1000:.1f}".replace(".", t["decimal"]) + f" {t['units']['km']}"


def _bearing(pts: np.ndarray, from_end: bool) -> float:
    """Compass bearing (degrees) of the first (or last) BEARING_SPAN_M of a polyline."""
    if from_end:
        pts = pts[::-1]
    lat0 = math.radians(float(pts[0, 1]))
    dx = (pts[1:, 0] - pts[0, 0]) * math.cos(lat0) * 111_320
    dy = (pts[1:, 1] - pts[0, 1]) * 110_540
    reach = np.hypot(dx, dy)
    i = int(np.argmax(reach >= BEARING_SPAN_M)) if (reach >= BEARING_SPAN_M).any() else len(reach) - 1
    b = math.degrees(math.atan2(dx[i], dy[i])) % 360
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


def _stretches(graph: CompiledGraph, pieces: list, lengths: np.ndarray, leg_sizes: list[int]) -> list[dict]:
    """Consecutive pieces on the same way (name, class, subclass), split at the leg ends."""
    names, cls, sub = graph.edge_column("name"), graph.edge_column("class"), graph.edge_column("subclass")
    leg_starts = set(np.cumsum([0, *leg_sizes[:-1]]).tolist())
    out: list[dict] = []
    for i, piece in enumerate(pieces):
        e = piece.arc >> 1
        key = (names[e], cls[e], sub[e])
        new_leg = i in leg_starts and i > 0
        if out and out[-1]["key"] == key and not new_leg:
            out[-1]["pieces"].append(i)
            out[-1]["length"] += float(lengths[i])
        else:
            out.append({"key": key, "pieces": [i], "length": float(lengths[i]), "leg_start": new_leg})
    merged: list[dict] = []
    for st in out:
        if merged and st["length"] < MIN_STRETCH_M and not st["leg_start"]:
            merged[-1]["pieces"] += st["pieces"]
            merged[-1]["length"] += st["length"]
        elif merged and merged[-1]["key"] == st["key"] and not st["leg_start"]:
            merged[-1]["pieces"] += st["pieces"]
            merged[-1]["length"] += st["length"]
        else:
            merged.append(st)
    return merged


def _way_label(key: tuple, t: dict) -> str:
    name, cls, sub = key
    return name or t["unnamed"].get(sub) or t["unnamed"].get(cls) or cls


def _turn_text(t: dict, mod: str | None, push: bool, **words: str) -> str:
    """The text of a turn or continue: a U-turn has its own phrase, and pushing the bike is said."""
    if mod == "uturn":
        return t["uturn"].format(**words)
    if push:
        return t["push" if mod is None else "turn_push"].format(modifier=t["modifiers"].get(mod or "", ""), **words)
    return t["continue" if mod is None else "turn"].format(modifier=t["modifiers"].get(mod or "", ""), **words)


def _reached(t: dict, key: str, place: str | None, **words) -> str:
    """"You have reached stop 2" or, when the point is a named place, "… stop 2: Base 11/19"."""
    return t[f"{key}_named"].format(place=place, **words) if place else t[key].format(**words)


def instructions_for(graph: CompiledGraph, pieces: list, piece_points: list[np.ndarray], lengths: np.ndarray,
                     leg_sizes: list[int], lang: str = "en", *, push: frozenset[str] = frozenset(),
                     names: Sequence[str | None] = ()) -> list[dict]:
    """Depart, turn/continue, waypoint and arrive instructions with their text in ``lang``.

    ``push`` holds the subclasses where the rider gets off and pushes (a bike on steps): those stretches say so
    and carry ``push: true``. ``names`` are the names of the route's points (start, vias, end; None where a point
    is bare coordinates), so arriving at a via or at the end names the place.
    """
    t = texts(lang)
    names = list(names) + [None] * (len(leg_sizes) + 1 - len(names))
    out: list[dict] = []
    stop = 0
    prev_end_bearing = None
    for k, st in enumerate(_stretches(graph, pieces, lengths, leg_sizes)):
        first, last = piece_points[st["pieces"][0]], piece_points[st["pieces"][-1]]
        start_bearing = _bearing(first, from_end=False) if len(first) > 1 else 0.0
        way, dist = _way_label(st["key"], t), format_distance(st["length"], lang)
        pushed = st["key"][2] in push
        base = {"name": st["key"][0], "way_class": st["key"][1], "distance_m": round(st["length"], 1),
                "location": [round(float(first[0, 0]), 7), round(float(first[0, 1]), 7)], "push": pushed}
        if st["leg_start"]:
            stop += 1
            out.append({"type": "waypoint", "modifier": None, **base, "distance_m": 0.0, "push": False,
                        "text": _reached(t, "waypoint", names[stop], number=stop)})
        if k == 0:
            direction = t["directions"][int(((start_bearing + 22.5) % 360) // 45)]
            text = t["depart"].format(direction=direction, way=way, distance=dist)
            if pushed:
                text = _turn_text(t, None, True, way=way, distance=dist)
            out.append({"type": "depart", "modifier": None, **base, "text": text})
        else:
            turn = (start_bearing - prev_end_bearing + 540) % 360 - 180
            mod = _modifier(turn)
            kind = "continue" if mod is None else "turn"
            out.append({"type": kind, "modifier": mod, **base,
                        "text": _turn_text(t, mod, pushed, way=way, distance=dist)})
        prev_end_bearing = _bearing(last, from_end=True) if len(last) > 1 else start_bearing
    end = piece_points[-1][-1]
    out.append({"type": "arrive", "modifier": None, "name": None, "way_class": None, "distance_m": 0.0,
                "location": [round(float(end[0]), 7), round(float(end[1]), 7)], "push": False,
                "text": _reached(t, "arrive", names[-1])})
    return out
