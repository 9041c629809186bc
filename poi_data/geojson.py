"""POIs as GeoJSON Features: one shape for the API's answers and the offline bundles' catalogue."""

from __future__ import annotations

from .labels import display_name


def _description(desc: dict | None, lang: str | None) -> str | dict | None:
    """The description in ``lang`` (falling back to English, then French), or every language when None."""
    if not desc:
        return None
    if lang is None:
        return {k: v for k, v in desc.items() if k != "sources"}
    return desc.get(lang) or desc.get("en") or desc.get("fr")


def poi_feature(poi: dict, lang: str | None, distance_m: float | None = None, outline: bool = False) -> dict:
    """A POI as a GeoJSON Feature at its point; the polygon, if any, under ``properties.outline``."""
    desc = poi.get("description")
    props = {
        "id": poi["id"], "name": display_name(poi, lang), "names": poi.get("names", {}), "themes": poi["themes"],
        "commune": poi.get("commune"), "key": poi.get("key", False),
        "description": _description(desc, lang),
        "description_sources": desc["sources"] if desc else [],
        "snap": poi.get("snap"), "source": poi["source"], "details": poi.get("properties", {}),
    }
    if distance_m is not None:
        props["distance_m"] = round(distance_m, 1)
    if outline and poi.get("geometry"):
        props["outline"] = poi["geometry"]
    return {"type": "Feature", "id": poi["id"], "geometry": {"type": "Point", "coordinates": [poi["lon"], poi["lat"]]},
            "properties": props}
