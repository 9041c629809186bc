"""A computed result, language-neutral as the engine and planners make it, worded for one reader.

Results are computed and stored once (``/v1/results/<key>`` is the same result in every language);
this module makes the copy a reader gets: instruction texts, POI and stop names and descriptions,
a circuit's name and description. Geometry and figures are shared with the stored result, not copied.
"""

from __future__ import annotations

from collections.abc import Callable

from poi_data.labels import display_name

from .facts import poi_sentence
from .instructions import worded
from .words import FALLBACK, LANGUAGES, Words, words

#: How the renderer finds a catalogue POI by id (None when the id is not a POI's).
POILookup = Callable[[str], dict | None]


def _no_pois(_: str) -> dict | None:
    return None


def in_language(texts: dict | None, lang: str) -> str | None:
    """The text of a by-language dict in ``lang``, else in English, else in French, else None."""
    if not texts:
        return None
    return next((texts[c] for c in (lang, *FALLBACK) if texts.get(c)), None)


def poi_name(poi_id: str | None, name: str | None, w: Words, lookup: POILookup) -> str | None:
    """A place's name for the reader: its own name, or for an unnamed POI its label in the reader's language."""
    record = lookup(poi_id) if poi_id else None
    return display_name(record, w.lang) if record else name


def poi_description(record: dict | None, w: Words) -> str | None:
    """The POI's description in the reader's language: cited from a seed document where one describes it, else
    the sentence its dataset's fields make (``facts.poi_sentence``), else None."""
    if not record:
        return None
    return in_language(record.get("description"), w.lang) or poi_sentence(record, w)


def poi_descriptions(record: dict) -> dict[str, str] | None:
    """The POI's description by language, as an offline bundle carries it: a seed document's text in the
    languages it is written in, else the sentence of its fields in every offered language; None if neither."""
    cited = {k: v for k, v in (record.get("description") or {}).items() if k in LANGUAGES and v}
    if cited:
        return cited
    texts = {lang: poi_sentence(record, words(lang)) for lang in LANGUAGES}
    return {lang: t for lang, t in texts.items() if t} or None


def _route_poi(p: dict, w: Words, lookup: POILookup) -> dict:
    record = lookup(p["id"])
    return {**p, "name": display_name(record, w.lang) if record else p["name"],
            "description": poi_description(record, w) if record else p.get("description"),
            "cited": bool(record and record.get("description"))}


def _named(place: dict | None, w: Words, lookup: POILookup) -> dict | None:
    if not place:
        return place
    return {**place, "name": poi_name(place.get("id"), place.get("name"), w, lookup)}


def _route_properties(props: dict, w: Words, lookup: POILookup) -> dict:
    out = dict(props)
    if "instructions" in props:  # a client may have left them out (``details``)
        out["instructions"] = worded(props["instructions"] or [], w)
    if "pois" in props:
        out["pois"] = [_route_poi(p, w, lookup) for p in props["pois"] or []]
    return out


def _plan_properties(props: dict, w: Words, lookup: POILookup, distance_m: float) -> dict:
    out = dict(props)
    if out.get("circuit_kind") == "themed" and not out.get("name"):  # "Circuit « Mémoire », 24,9 km"
        out["name"] = w.say("themed_name", themes=", ".join(w.theme(t) for t in out.get("themes") or ()),
                            distance=w.km(distance_m))
    if "stops" in out:
        out["stops"] = [_named(s, w, lookup) for s in out["stops"]]
    if "stages" in out:
        out["stages"] = [{**s, "lodging": _named(s.get("lodging"), w, lookup)} for s in out["stages"]]
    if out.get("names"):
        out["name"] = in_language(out["names"], w.lang)
    if out.get("descriptions"):
        out["description"] = in_language(out["descriptions"], w.lang)
    return out


def _feature(f: dict, w: Words, lookup: POILookup) -> dict:
    if (f.get("geometry") or {}).get("type") != "LineString":
        return f  # an isochrone area has no words
    return {**f, "properties": _route_properties(f["properties"], w, lookup)}


def render_result(result: dict, w: Words, lookup: POILookup = _no_pois) -> dict:
    """The result for a reader of ``w``'s language: a route Feature, or a collection with its planner's facts."""
    if result.get("type") == "Feature":
        return _feature(result, w, lookup)
    out = {**result, "features": [_feature(f, w, lookup) for f in result.get("features") or []]}
    if "properties" in result:
        first = (result.get("features") or [{}])[0].get("properties") or {}
        out["properties"] = _plan_properties(result["properties"] or {}, w, lookup, first.get("distance_m") or 0.0)
    return out
