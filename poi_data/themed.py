"""What a themed circuit may visit: the catalogue's POIs of the asked themes, each with a documented value.

Values (``POI_VALUES``): a key place (the 5 great mining sites, the Louvre-Lens and the others of
key_places.toml) is worth 3; a POI a seed document describes, 2; any other POI of the themes, 1. A
circuit maximises the summed value within its budget, so it goes for the key places first.
"""

from __future__ import annotations

from routing.planners.themed import Prize
from routing.planners.tour import Stop

from .catalogue import Catalogue
from .errors import UnknownTheme
from .schemas import THEMES

POI_VALUES = {"key": 3, "described": 2, "other": 1}


def poi_value(poi: dict) -> int:
    """A POI's value for a themed circuit (see POI_VALUES)."""
    if poi.get("key"):
        return POI_VALUES["key"]
    return POI_VALUES["described"] if poi.get("description") else POI_VALUES["other"]


def poi_stop(poi: dict) -> Stop:
    return Stop(poi["lon"], poi["lat"], poi["id"], poi["name"])


def themed_prizes(catalogue: Catalogue, themes: list[str]) -> list[Prize]:
    """Every POI of the themes, once, with its value; an UnknownTheme names the first theme not offered."""
    for i, theme in enumerate(themes):
        if theme not in THEMES:
            raise UnknownTheme(f"unknown theme {theme!r}; themes are {', '.join(THEMES)}", field=f"themes[{i}]")
    seen: set[str] = set()
    out = []
    for theme in themes:
        for poi in catalogue.by_theme(theme):
            if poi["id"] not in seen:
                seen.add(poi["id"])
                out.append(Prize(poi_stop(poi), poi_value(poi)))
    return out
