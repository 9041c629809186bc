"""Words, numbers, units and dates for people, in one of the offered languages.

The engine, planners and exporters hand over typed values (metres, seconds, maneuver types); this
module alone turns them into text, from the message tables in ``i18n/`` and with Babel's CLDR rules
for numbers and dates ("48,5 km" and "6 mars 2027" in French, "48.5 km" and "March 6, 2027" in
English).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from poi_data.labels import load_themes

I18N_DIR = Path(__file__).with_name("i18n")
#: The offered languages, one message table each.
LANGUAGES = tuple(sorted(p.stem for p in I18N_DIR.glob("*.json")))
#: A key missing from a table is taken from these, last first.
FALLBACK = ("en", "fr")
#: Printed sheets speak the basin's language unless asked otherwise.
SHEET_LANGUAGE = "fr"
#: Below this many metres a distance is said in metres, rounded to 10 m.
METRES_BELOW = 950.0


@cache
def messages(lang: str) -> dict:
    """The message table of ``lang``, with English then French filling missing keys.

    Raises ``ValueError`` for a language that is not offered: a text in a language nobody asked for is not an
    answer, so the API checks the language before it gets here.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"no messages for language {lang!r}; offered: {', '.join(LANGUAGES)}")
    merged: dict = {}
    for code in (*reversed(FALLBACK), lang):
        merged.update(json.loads((I18N_DIR / f"{code}.json").read_text(encoding="utf-8")))
    return merged


class Words:
    """The texts and number formats of one language; get one with ``words(lang)``."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.table = messages(lang)
        self.locale = Locale.parse(lang)

    def __repr__(self) -> str:
        return f"Words({self.lang!r})"

    def say(self, key: str, **values) -> str:
        """The message ``key`` with its placeholders filled."""
        return self.table[key].format(**values)

    def pick(self, table: str, key: str | None, default: str = "") -> str:
        """An entry of a sub-table (``modifiers``, ``kinds``, ``profiles``…), or ``default`` when it has none."""
        return self.table[table].get(key or "", default)

    def theme(self, theme: str) -> str:
        """A POI theme's label (themes.toml): ``Cités minières`` for ``cites_minieres``."""
        labels = theme_labels().get(theme) or {}
        return labels.get(self.lang) or labels.get("en") or theme

    def number(self, value: float, digits: int = 0) -> str:
        """``value`` with exactly ``digits`` decimals, in the language's style: ``48,5`` or ``1 560``."""
        return _formatted(round(value, digits), digits, self.locale)

    def km(self, metres: float, digits: int = 1) -> str:
        """A distance in km: ``48,5 km``."""
        return f"{self.number(metres / 1000, digits)}\u00a0km"

    def metres(self, metres: float) -> str:
        """A height or short length in whole metres: ``188 m``."""
        return f"{self.number(metres)}\u00a0m"

    def distance(self, metres: float) -> str:
        """A stretch as a person says it: ``350 m`` (to 10 m) below METRES_BELOW, else ``2,3 km``."""
        if metres < METRES_BELOW:
            return self.metres(round(metres / 10.0) * 10)
        return self.km(metres)

    def mark(self, km: float) -> str:
        """A km mark along a course, to 100 m: ``48,5``."""
        return self.number(km, 1)

    def duration(self, seconds: float) -> str:
        """A duration in hours and minutes: ``3 h 05`` (the notation of French and German signs, read everywhere)."""
        minutes = int(round(seconds / 60))
        hours, minutes = divmod(minutes, 60)
        return f"{hours}\u00a0h\u00a0{minutes:02d}" if hours else self.say("minutes", minutes=minutes)

    def date(self, when: date) -> str:
        """A date in full: ``6 mars 2027``, ``March 6, 2027``."""
        return format_date(when, format="long", locale=self.locale)

    def time(self, when: datetime) -> str:
        """A time of day: ``08:30`` or ``8:30 AM``, in the time zone ``when`` carries."""
        return format_time(when, format="short", locale=self.locale)

    def moment(self, when: datetime) -> str:
        """A date and time: ``6 mars 2027 à 08:30``."""
        return self.say("moment", date=self.date(when), time=self.time(when))


@cache
def theme_labels() -> dict[str, dict[str, str]]:
    """Every theme's label by language, from the catalogue's themes.toml."""
    return {theme: spec.get("labels", {}) for theme, spec in load_themes().items()}


@cache
def words(lang: str) -> Words:
    """The ``Words`` of a language (one per language per process)."""
    return Words(lang)


@lru_cache(maxsize=65536)
def _formatted(value: float, digits: int, locale) -> str:
    """Babel's formatting of one rounded number, remembered: a route's instructions say a few hundred distances,
    mostly the same tens of metres and tenths of km, and Babel takes about 50 µs for each."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=locale)
