"""What an export holds, whatever planned it: named parts of track, waypoints in km order and texts.

Every route-like result (a route, tour, stage plan, round trip, trail course or named circuit) is a
``Route`` plus planner facts; ``course`` turns that into one ``Course``, and the GPX and GeoJSON
writers serialise only this type.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from routing.planners.stages import Stage
from routing.planners.tour import Stop
from routing.route import Route, cumulative_distance

from . import settings


@dataclass(frozen=True)
class Waypoint:
    """A named point of a course; ``kind`` is one of ``settings.WAYPOINT_TYPES`` and becomes the GPX ``type``."""

    lon: float
    lat: float
    name: str
    kind: str
    description: str = ""
    km: float | None = None
    ele: float | None = None
    comment: str | None = None
    symbol: str | None = None
    ref: str | None = None  # the catalogue id of the place, when it is one

    @property
    def sym(self) -> str:
        """The device symbol: an explicit one, else the one of its kind."""
        return self.symbol or settings.WAYPOINT_TYPES[self.kind]


@dataclass
class Part:
    """One continuous stretch of a course (the whole course, or one stage)."""

    name: str
    coordinates: np.ndarray  # (n, 3) lon, lat, elevation
    instructions: list[dict] = field(default_factory=list)

    @property
    def distance_m(self) -> float:
        """Great-circle length of the part, as galibot measures routes."""
        return float(cumulative_distance(self.coordinates)[-1]) if len(self.coordinates) > 1 else 0.0


@dataclass
class Course:
    """An exportable course: its texts, its parts and its waypoints, and the figures of the route."""

    kind: str
    name: str
    description: str
    parts: list[Part]
    waypoints: list[Waypoint]
    distance_m: float
    duration_s: float
    ascent_m: float
    descent_m: float
    data_version: str
    profile: str
    link: str | None = None
    version: str | None = None
    keywords: tuple[str, ...] = ()

    def coordinates(self) -> np.ndarray:
        """All parts joined (shared end points once)."""
        chunks = [p.coordinates if i == 0 else p.coordinates[1:] for i, p in enumerate(self.parts)]
        return np.vstack(chunks)

    def bounds(self) -> tuple[float, float, float, float]:
        """min lon, min lat, max lon, max lat of the track and the waypoints."""
        pts = self.coordinates()[:, :2]
        if self.waypoints:
            pts = np.vstack([pts, [[w.lon, w.lat] for w in self.waypoints]])
        return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())

    def with_waypoints(self, extra: Iterable[Waypoint], **changes) -> Course:
        """A copy with more waypoints (kept in km order) and other fields changed."""
        merged = sorted([*self.waypoints, *extra], key=_km_key)
        return replace(self, waypoints=merged, **changes)


def _km_key(w: Waypoint) -> float:
    return w.km if w.km is not None else -1.0


def point_at(coords: np.ndarray, cum: np.ndarray, at_m: float) -> np.ndarray:
    """The (lon, lat, ele) point ``at_m`` metres along a line."""
    at_m = min(max(at_m, 0.0), float(cum[-1]))
    return np.array([np.interp(at_m, cum, coords[:, k]) for k in range(3)])


def cut(coords: np.ndarray, cum: np.ndarray, from_m: float, to_m: float) -> np.ndarray:
    """The stretch of a line between two distances along it, with interpolated ends."""
    inner = coords[(cum > from_m) & (cum < to_m)]
    return np.vstack([point_at(coords, cum, from_m), inner, point_at(coords, cum, to_m)])


def _ends(route: Route, loop: bool) -> list[Waypoint]:
    first, last = route.coordinates[0], route.coordinates[-1]
    km = round(route.distance_m / 1000, 2)
    if loop:
        return [Waypoint(first[0], first[1], "Start / Finish", "start", km=0.0, ele=float(first[2]))]
    return [Waypoint(first[0], first[1], "Start", "start", km=0.0, ele=float(first[2])),
            Waypoint(last[0], last[1], "Finish", "finish", km=km, ele=float(last[2]))]


def poi_waypoints(route: Route) -> list[Waypoint]:
    """The key places and useful POIs ``attach_pois`` found along the route, as waypoints at their km.

    Devices cap the waypoints of a course, so a cité or a pit shaft passed is left to the map; a
    terril passed is a POI, not a summit climbed.
    """
    return [Waypoint(p["lon"], p["lat"], p["name"], "poi", p.get("description") or "",
                     km=round(p["along_m"] / 1000, 2), comment=", ".join(p["themes"]),
                     symbol=settings.theme_symbol(p["themes"]), ref=p["id"])
            for p in route.pois if p.get("key") or set(p["themes"]) & settings.WAYPOINT_THEMES]


def km_along(coords: np.ndarray, lon: float, lat: float) -> float:
    """The km mark of the point of a line nearest to a place."""
    near = int(np.argmin(np.hypot((coords[:, 0] - lon) * np.cos(np.radians(lat)), coords[:, 1] - lat)))
    return round(float(cumulative_distance(coords[:near + 1])[-1]) / 1000, 2)


def stop_waypoints(stops: Sequence[Stop], km: Sequence[float | None], coords: np.ndarray) -> list[Waypoint]:
    """The stops of a tour or circuit, where the course reaches them (located on the line when not given)."""
    km = list(km) + [None] * (len(stops) - len(km))
    return [Waypoint(s.lon, s.lat, s.name or f"Stop {i + 1}", "stop",
                     km=k if k is not None else km_along(coords, s.lon, s.lat), ref=s.id)
            for i, (s, k) in enumerate(zip(stops, km))]


def summit_waypoints(summits: Sequence[dict]) -> list[Waypoint]:
    """The terril summits a trail course or circuit climbs, in course order."""
    out = []
    for s in summits:
        label = f"Terril {s['number']}" + (f" – {s['name']}" if s.get("name") else "")
        desc = f"Summit {s['height_m']:.0f} m, {s['relief_m']} m above its foot (MBM terril {s['number']})"
        out.append(Waypoint(s["lon"], s["lat"], label, "summit", desc, km=s["km"], ele=s["height_m"],
                            ref=f"terril-{s['number'].lower()}"))
    return out


def stage_parts(route: Route, stages: Sequence[Stage], name: str) -> tuple[list[Part], list[Waypoint]]:
    """One part per stage, cut at the stages' km marks, and a lodging waypoint at each night's stop."""
    coords = route.coordinates
    cum = cumulative_distance(coords)
    scale = cum[-1] / route.distance_m if route.distance_m else 1.0  # stage marks are in edge metres
    parts, lodging = [], []
    for st in stages:
        part = cut(coords, cum, st.from_m * scale, st.to_m * scale)
        parts.append(Part(f"{name} – day {st.day}", part))
        if st.lodging:
            lg = st.lodging
            lodging.append(Waypoint(lg["lon"], lg["lat"], lg["name"], "lodging",
                                    f"Night {st.day}: {lg['detour_m']:.0f} m off the route",
                                    km=round(st.to_m / 1000, 2)))
    return parts, lodging


def course(route: Route, kind: str, name: str, description: str = "", *, loop: bool = False,
           stops: Sequence[Stop] = (), stop_km: Sequence[float] = (), summits: Sequence[dict] = (),
           stages: Sequence[Stage] | None = None, keywords: Sequence[str] = ()) -> Course:
    """The course of any planned result: its route, with its ends, stops, summits, POIs and stages."""
    if kind not in settings.COURSE_KINDS:
        raise ValueError(f"unknown course kind {kind!r}")
    parts = [Part(name, route.coordinates, route.instructions)]
    extra: list[Waypoint] = []
    if stages:
        parts, extra = stage_parts(route, stages, name)
    summit_wps = summit_waypoints(summits)
    climbed = {w.ref for w in summit_wps}
    pois = [w for w in poi_waypoints(route) if w.ref not in climbed]
    waypoints = [*_ends(route, loop), *stop_waypoints(stops, stop_km, route.coordinates), *summit_wps, *pois, *extra]
    return Course(kind=kind, name=name, description=description, parts=parts,
                  waypoints=sorted(waypoints, key=_km_key), distance_m=route.distance_m,
                  duration_s=route.duration_s, ascent_m=route.ascent_m, descent_m=route.descent_m,
                  data_version=route.data_version, profile=route.profile,
                  keywords=("Bassin minier", "galibot", *keywords))
