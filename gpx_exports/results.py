"""Courses from the GeoJSON results the API serves, so any stored result exports without the engine.

A result is a route Feature (as ``route_feature`` writes it) or a FeatureCollection of them whose
``properties`` hold the planner's facts (``kind``, ``stops``, ``summits``, ``stages``, a circuit's
``name`` and ``description``). Each route Feature becomes one part of the course.
"""

from __future__ import annotations

from dataclasses import replace

from presentation import Words
from routing.planners.stages import Stage
from routing.planners.tour import Stop
from routing.route import Route, cumulative_distance

from . import settings
from .course import ENGLISH, Course, course
from .errors import ExportError
from .geojson import route_of_feature

#: Start and end closer than this make a loop (one "Start / Finish" waypoint).
LOOP_CLOSURE_M = 50.0


def is_loop(route: Route) -> bool:
    """Whether a route ends where it starts."""
    return bool(cumulative_distance(route.coordinates[[0, -1]])[-1] < LOOP_CLOSURE_M)


def _stages(props: dict) -> list[Stage] | None:
    if not props.get("stages"):
        return None
    return [Stage(s["day"], s["from_km"] * 1000, s["to_km"] * 1000, s["ascent_m"], s["descent_m"], s["lodging"])
            for s in props["stages"]]


def _name(kind: str, props: dict, route: Route, w: Words) -> str:
    """The result's own name (a circuit's), else "galibot, itinéraire de 36,1 km"."""
    return props.get("name") or w.say("course_name", kind=w.pick("kinds", kind, kind), distance=w.km(route.distance_m))


def course_of_result(result: dict, wording: Words = ENGLISH) -> Course:
    """The course of an API result as the presentation layer rendered it (its names, descriptions and instruction
    texts in one language), labelled in ``wording``'s; alternatives and several loops become one part each."""
    if result.get("type") == "Feature":
        features, props, kind = [result], {}, "route"
    else:
        features, props = result["features"], result.get("properties") or {}
        kind = props.get("kind") or "route"
    kind = kind if kind in settings.COURSE_KINDS else "route"
    if not features or any((f.get("geometry") or {}).get("type") != "LineString" for f in features):
        raise ExportError("this result holds no route to write as GPX (isochrones are areas; use GeoJSON)",
                          field="format")
    routes = [route_of_feature(f) for f in features]
    first, fprops = routes[0], features[0]["properties"]
    stops = [Stop(s["lon"], s["lat"], s.get("id"), s.get("name")) for s in props.get("stops", [])]
    main = course(first, kind, _name(kind, props, first, wording), props.get("description", ""),
                  loop=is_loop(first), stops=stops, stop_km=[s.get("km") for s in props.get("stops", [])],
                  summits=fprops.get("summits") or props.get("summits") or (), stages=_stages(props),
                  wording=wording)
    for k, route in enumerate(routes[1:], 2):  # alternatives and other loops: parts with their own waypoints
        other = course(route, kind, f"{main.name} ({k})", loop=is_loop(route), wording=wording)
        main.parts.extend(other.parts)
        main.waypoints.extend(replace(w, part=k - 1) for w in other.waypoints)
    return main
