"""Routes and courses as GeoJSON for the app's map: 3D LineStrings with every detail, waypoints as Points."""

from __future__ import annotations

import numpy as np

from routing.route import Route

from . import settings
from .course import Course, Waypoint

ATTRIBUTION = "; ".join(text for text, _ in settings.LICENCES)


def _line(coords) -> dict:
    """A 3D LineString to 7 decimals of a degree (1 cm) and 0.1 m, rounded as arrays (numpy's rounding: a value
    exactly half-way may round the other way from Python's ``round``, by the last digit)."""
    c = np.asarray(coords, dtype=float)
    if not len(c):
        return {"type": "LineString", "coordinates": []}
    rounded = np.column_stack([np.round(c[:, 0], 7), np.round(c[:, 1], 7), np.round(c[:, 2], 1)])
    return {"type": "LineString", "coordinates": rounded.tolist()}


def route_feature(route: Route) -> dict:
    """A route as a GeoJSON Feature: a 3D LineString and every detail in ``properties``."""
    props = {
        **route.summary(),
        "elevation_profile": route.elevation_profile,
        "way_types": route.way_types,
        "legs": route.legs,
        "instructions": route.instructions,
        "pois": route.pois,
        "attribution": ATTRIBUTION,
    }
    if route.overlap is not None:
        props["overlap_with_best"] = route.overlap
    return {"type": "Feature", "geometry": _line(route.coordinates), "properties": props}


def route_of_feature(feature: dict) -> Route:
    """The route a Feature of ``route_feature`` was written from (its search cost aside), to export it again."""
    p = feature["properties"]
    return Route(profile=p["profile"], data_version=p["data_version"],
                 coordinates=np.asarray(feature["geometry"]["coordinates"], dtype=float),
                 distance_m=p["distance_m"], duration_s=p["duration_s"], cost=float("nan"), ascent_m=p["ascent_m"],
                 descent_m=p["descent_m"], elevation_profile=p.get("elevation_profile", []),
                 way_types=p.get("way_types", {}), cavalier_share=p.get("cavalier_share", 0.0),
                 ev5_share=p.get("ev5_share", 0.0), instructions=p.get("instructions", []), legs=p.get("legs", []),
                 pois=p.get("pois", []))


def waypoint_feature(w: Waypoint) -> dict:
    """A course waypoint as a Point Feature with its GPX type, symbol and km."""
    coords = [round(w.lon, 7), round(w.lat, 7)] + ([round(w.ele, 1)] if w.ele is not None else [])
    props = {"name": w.name, "type": w.kind, "sym": w.sym, "km": w.km, "description": w.description or None,
             "comment": w.comment, "ref": w.ref, "part": w.part + 1}
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": coords}, "properties": props}


def course_geojson(course: Course) -> dict:
    """A course as a FeatureCollection: one LineString per part, then the waypoints in km order.

    Parts count from 1, as the ``part=`` option of the files does, and each waypoint names its part.
    """
    parts = [{"type": "Feature", "geometry": _line(p.coordinates),
              "properties": {"name": p.name, "part": i + 1, "distance_m": round(p.distance_m, 1)}}
             for i, p in enumerate(course.parts)]
    return {"type": "FeatureCollection",
            "features": [*parts, *(waypoint_feature(w) for w in course.waypoints)],
            "properties": {"kind": course.kind, "name": course.name, "description": course.description,
                           "distance_m": round(course.distance_m, 1), "duration_s": round(course.duration_s, 1),
                           "ascent_m": round(course.ascent_m, 1), "descent_m": round(course.descent_m, 1),
                           "profile": course.profile, "data_version": course.data_version,
                           "version": course.version, "attribution": ATTRIBUTION}}
