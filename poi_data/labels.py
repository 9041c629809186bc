"""Names for people: the label of a POI that has no name of its own, in the reader's language.

The catalogue stays language-neutral: an unnamed POI keeps the French label as its ``name`` (the basin's own
language, and what a sign there would say), every language's label in ``names`` and ``properties.unnamed``.
``display_name`` is what the API, the GPX files and the bundles show.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

LABELS_FILE = Path(__file__).with_name("labels.toml")
THEMES_FILE = Path(__file__).with_name("themes.toml")
DEFAULT_LANG = "fr"


def load_themes() -> dict:
    """The themes of themes.toml: their rules and their labels by language."""
    with open(THEMES_FILE, "rb") as fh:
        return tomllib.load(fh)


@cache
def load_labels() -> dict[str, dict[str, str]]:
    """The labels of labels.toml, by OpenMapTiles subclass or class."""
    with open(LABELS_FILE, "rb") as fh:
        return tomllib.load(fh)


def unnamed_labels(subclass: str | None, cls: str | None) -> dict[str, str] | None:
    """Every language's label for a POI of this kind with no name, or None when the kind is not listed."""
    labels = load_labels()
    return labels.get(subclass or "") or labels.get(cls or "")


def display_name(poi: dict, lang: str | None) -> str:
    """The POI's name, or for an unnamed POI its label in ``lang`` (French when the language has none)."""
    if lang and (poi.get("properties") or {}).get("unnamed"):
        return (poi.get("names") or {}).get(lang) or poi["name"]
    return poi["name"]
