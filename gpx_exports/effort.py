"""The figures runners compare races by: ITRA's km-effort and category, D+ per km, and time estimates by pace group.

The km-effort is the distance in km plus one per KM_EFFORT_ASCENT_M metres of ascent (ITRA); its category follows
ITRA_CATEGORIES. The pace groups are galibot's documented defaults (``settings.PACE_GROUPS_S_PER_KM_EFFORT``).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import settings


@dataclass(frozen=True)
class RunnerFigures:
    """A course's km-effort, ITRA category, ascent per km and a time estimate per pace group (seconds)."""

    km_effort: float
    category: str
    ascent_per_km: float
    estimates_s: dict[str, float]

    def as_dict(self) -> dict:
        return {"km_effort": round(self.km_effort, 1), "category": self.category,
                "ascent_per_km": round(self.ascent_per_km, 1),
                "estimates_s": {k: round(v) for k, v in self.estimates_s.items()}}


def itra_category(km_effort: float) -> str:
    """The ITRA category of a km-effort: XXS under 25, XS under 45, … XXL from 210 (whole km-effort)."""
    whole = int(km_effort)
    return next(name for name, below in settings.ITRA_CATEGORIES if below is None or whole < below)


def km_effort(distance_m: float, ascent_m: float) -> float:
    """ITRA's km-effort: km plus one per KM_EFFORT_ASCENT_M metres of ascent."""
    return distance_m / 1000 + ascent_m / settings.KM_EFFORT_ASCENT_M


def runner_figures(distance_m: float, ascent_m: float,
                   paces: dict[str, float] = settings.PACE_GROUPS_S_PER_KM_EFFORT) -> RunnerFigures:
    """The runner's figures of a course of ``distance_m`` and ``ascent_m``."""
    km, effort = distance_m / 1000, km_effort(distance_m, ascent_m)
    return RunnerFigures(effort, itra_category(effort), ascent_m / km if km else 0.0,
                         {group: effort * pace for group, pace in paces.items()})
