"""Directions a walker can read on paper: the raw maneuvers grouped into a readable number of numbered steps.

A route's maneuvers say every turn (346 of them on a long course); a printed sheet says the ones a
person needs: the start, the via points and the finish, and the turns onto the ways followed
longest. The turns between two kept steps are named as the ways the step goes by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from .instructions import instruction_text
from .words import Words

#: A sheet has at least this many steps (where the route has that many maneuvers) …
MIN_STEPS = 8
#: … about this many per km beyond the first few …
STEPS_PER_KM = 1.2
#: … and at most this many, so that the directions of a 110 km course fit on two pages.
MAX_STEPS = 60
#: A step names at most this many of the ways it goes by.
MAX_VIA = 3


@dataclass(frozen=True)
class Step:
    """One numbered step: where it starts (km and lon/lat), what to do, and how far it goes."""

    number: int
    km: float
    lon: float
    lat: float
    text: str
    distance_m: float


def steps_wanted(distance_m: float) -> int:
    """How many steps a route of this length is told in."""
    return int(min(MAX_STEPS, max(MIN_STEPS, round(4 + STEPS_PER_KM * distance_m / 1000))))


def _kept(maneuvers: Sequence[dict], wanted: int) -> list[int]:
    """The indices of the maneuvers that start a step: the ends, the via points, then the longest turns."""
    must = [i for i, m in enumerate(maneuvers) if m["type"] in ("depart", "waypoint", "arrive")]
    turns = [i for i, m in enumerate(maneuvers) if m["type"] in ("turn", "continue")]
    room = max(0, wanted - len(must))
    longest = sorted(turns, key=lambda i: (-maneuvers[i]["distance_m"], i))[:room]
    return sorted({*must, *longest})


def _via(maneuvers: Sequence[dict], lo: int, hi: int, w: Words) -> str:
    """The named ways between two steps, longest first, each once."""
    seen: dict[str, float] = {}
    for m in maneuvers[lo + 1:hi]:
        if m.get("name") and m["name"] != maneuvers[lo].get("name"):
            seen[m["name"]] = seen.get(m["name"], 0.0) + m["distance_m"]
    names = sorted(seen, key=lambda n: -seen[n])[:MAX_VIA]
    return w.say("via", ways=", ".join(names)) if names else ""


def steps_of(maneuvers: Sequence[dict], w: Words, *, wanted: int | None = None) -> list[Step]:
    """The numbered steps of a route's maneuvers, worded in ``w``'s language."""
    if not maneuvers:
        return []
    starts = [0.0, *accumulate(m["distance_m"] for m in maneuvers)]  # the last is the route's length
    keep = _kept(maneuvers, wanted or steps_wanted(starts[-1]))
    out = []
    for n, (i, j) in enumerate(zip(keep, [*keep[1:], len(maneuvers)]), 1):
        m = maneuvers[i]
        reach = starts[j] - starts[i]
        text = instruction_text({**m, "distance_m": reach}, w)  # a via or the arrival says no distance
        via = _via(maneuvers, i, j, w)  # none after the arrival, the last maneuver
        if m["type"] == "waypoint" and j > i + 1:
            nxt = maneuvers[i + 1]
            text = f"{text}. {instruction_text({**nxt, 'distance_m': reach}, w)}"
        out.append(Step(n, round(starts[i] / 1000, 2), m["location"][0], m["location"][1],
                        f"{text} {via}".strip(), round(reach, 1)))
    return out

