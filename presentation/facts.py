"""One factual sentence about a POI, made from its dataset's own fields, for POIs no seed document describes.

Only 12 POIs carry a text cited from the seed documents; the Mission Bassin Minier data gives each
pit shaft its company, sinking and closing years and depth, each cité its type, company and
heritage interest, each terril its number, shape and height, each UNESCO element its section. The
sentence says those fields and nothing else (no fact is invented), in the reader's language.
"""

from __future__ import annotations

from .words import Words


def _value(w: Words, table: str, value: str | None) -> str | None:
    """A dataset's French term in the reader's language (the term itself where the table has none)."""
    if not value:
        return None
    return w.table["facts"][table].get(value, value)


def _joined(w: Words, parts: list[str | None]) -> str:
    return w.table["facts"]["separator"].join(p for p in parts if p)


def _pit_shaft(p: dict, name: str, w: Words) -> str | None:
    f = w.table["facts"]
    dates = [f["sunk"].format(year=p["creusement"]) if p.get("creusement") else None,
             f["closed"].format(year=p["fermeture"]) if p.get("fermeture") else None,
             f["depth"].format(depth=w.metres(p["profondeur"])) if p.get("profondeur") else None]
    if not any(dates) and not p.get("compagnie"):
        return None
    head = f"{name} – {p['compagnie']}" if p.get("compagnie") else name
    return f"{head}{f['then']}{_joined(w, dates)}." if any(dates) else f"{head}."


def _cite(p: dict, name: str, w: Words) -> str | None:
    f = w.table["facts"]
    kind = _value(w, "cite_types", p.get("type"))
    company = f["company"].format(company=p["compagnie"]) if p.get("compagnie") else None
    interest = f["interest"].format(interest=_value(w, "interests", p.get("interet"))) if p.get("interet") else None
    if not (kind or company or interest):
        return None
    return f"{name} – {_joined(w, [kind, company, interest])}."


def terril_number(number: str) -> str:
    """A terril's number as people say it: MBM's ``T074a`` is terril ``74a``."""
    return number.lstrip("Tt").lstrip("0") or number


def _terril(p: dict, name: str, w: Words) -> str | None:
    f = w.table["facts"]
    number = terril_number(p.get("number") or "")
    shape = f["shape"].format(shape=_value(w, "shapes", p.get("forme"))) if p.get("forme") else None
    summit = f["summit"].format(height=w.metres(p["summit_m"])) if p.get("summit_m") else None
    if not number:
        return None
    return f"{f['terril'].format(number=number, name=name)}{f['then']}{_joined(w, [shape, summit])}."


def _unesco(p: dict, name: str, w: Words) -> str | None:
    if not p.get("no_element"):
        return None
    f = w.table["facts"]
    text = f["element"].format(name=name, number=p["no_element"])
    return f"{text}{f['then']}{f['section'].format(section=p['section'])}." if p.get("section") else f"{text}."


#: Which fields make a sentence, by the POI's theme (the first that applies).
SENTENCES = {"pit_shafts": _pit_shaft, "cites_minieres": _cite, "terrils": _terril, "unesco_elements": _unesco}


def poi_sentence(poi: dict, w: Words) -> str | None:
    """The sentence its dataset's fields make for a POI, or None when they say nothing worth a sentence."""
    for theme in poi.get("themes") or ():
        make = SENTENCES.get(theme)
        if make is not None:
            return make(poi.get("properties") or {}, poi["name"], w)
    return None
