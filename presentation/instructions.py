"""The text of a turn-by-turn maneuver (``routing.instructions``) in the reader's language."""

from __future__ import annotations

from collections.abc import Iterable

from .words import Words

#: The eight compass points, in the order of the ``directions`` message list.
COMPASS_POINTS = 8


def compass(bearing: float) -> int:
    """The index (0 = north, clockwise) of the compass point nearest a bearing in degrees."""
    return int(((bearing + 180 / COMPASS_POINTS) % 360) // (360 / COMPASS_POINTS))


def way_label(m: dict, w: Words) -> str:
    """The way's name, else what it is ("le sentier", "the cycleway"), else its class as the graph has it."""
    unnamed = w.table["unnamed"]
    return m.get("name") or unnamed.get(m.get("subclass") or "") or unnamed.get(m.get("way_class") or "") \
        or m.get("way_class") or ""


def _turn(m: dict, w: Words, **values: str) -> str:
    """A turn or continue: a U-turn has its own phrase, and pushing the bike is said."""
    mod = m.get("modifier")
    if mod == "uturn":
        return w.say("uturn", **values)
    modifier = w.pick("modifiers", mod)
    if m.get("push"):
        return w.say("push" if mod is None else "turn_push", modifier=modifier, **values)
    return w.say("continue" if mod is None else "turn", modifier=modifier, **values)


def _reached(w: Words, key: str, place: str | None, **values) -> str:
    """"You have reached stop 2" or, at a named place, "… stop 2: Base 11/19"."""
    return w.say(f"{key}_named", place=place, **values) if place else w.say(key, **values)


def instruction_text(m: dict, w: Words) -> str:
    """The sentence of one maneuver: "Tournez à gauche sur le sentier, 350 m"."""
    kind = m["type"]
    if kind == "arrive":
        return _reached(w, "arrive", m.get("place"))
    if kind == "waypoint":
        return _reached(w, "waypoint", m.get("place"), number=m["number"])
    values = {"way": way_label(m, w), "distance": w.distance(m["distance_m"])}
    if kind == "depart" and not m.get("push"):
        direction = w.table["directions"][compass(m.get("bearing") or 0.0)]
        return w.say("depart", direction=direction, **values)
    return _turn(m, w, **values)


def worded(maneuvers: Iterable[dict], w: Words) -> list[dict]:
    """Copies of the maneuvers, each with its ``text``."""
    return [{**m, "text": instruction_text(m, w)} for m in maneuvers]
