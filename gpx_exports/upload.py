"""An organiser's own course: the uploaded GPX is the truth, written back as it came, never re-routed.

``organiser_course`` joins the file's track segments in file order, each kept as a segment of its own (the files
draw no line across the jump from one to the next, the km count none, and jumps over ``RACE_WARN_GAP_M`` are a
warning), takes the elevation of every point from the build's model (SRTM3 with the terril summits; the file's own
where the model has none), analyses the file's lines on the way in (terrils, D+, share on the graph, stretches off
it: the km of the analysis are the course's) and places the organiser's checkpoints on the course: by km, by POI id
or by ``[lon, lat]``, snapped to the course (never to the graph), within ``STATION_SNAP_M``.

What comes out is a stored result like any planner's (a FeatureCollection with one route Feature), so the files
(GPX, FIT, GeoJSON, CSV, PDF roadbook) are made by the same writers. Warnings are data (a code and figures);
the presentation layer words them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import shapely

from poi_data import Catalogue
from presentation import Words
from routing import geo
from routing.elevation import ElevationModel
from routing.engine import Engine
from routing.planners.trail import terril_relief
from routing.profiles import get_profile
from routing.route import cumulative_distance, smoothed_climbs

from . import settings
from .analysis import TrackAnalysis, analyse
from .course import ENGLISH, Course, Part, along_m, end_waypoints, poi_waypoints, same_place, summit_waypoints
from .errors import ExportError, NotACourse
from .fit import fit_name
from .geojson import ATTRIBUTION, route_of_feature
from .race import Station, known_elevation
from .reader import Track
from .results import is_loop


@dataclass(frozen=True)
class StationAt:
    """Where the organiser puts a station: ``at`` is a km mark, a POI id or ``(lon, lat)``."""

    at: float | str | tuple[float, float]
    kind: str = "checkpoint"
    name: str | None = None
    cutoff: datetime | None = None  # None: by the pace rule
    services: tuple[str, ...] = ()
    field: str = "checkpoints[0]"


@dataclass
class JoinedTrack:
    """The file's segments joined in order, with where each starts and the jumps between them."""

    coordinates: np.ndarray  # (n, 3) lon, lat, elevation (NaN where neither the model nor the file has one)
    segment_starts: tuple[int, ...]
    gaps: list[tuple[float, float]]  # (km where the jump starts, its length in m), jumps over RACE_WARN_GAP_M


def join_segments(track: Track, elevation: ElevationModel) -> JoinedTrack:
    """The course line of an upload: a track's or routes' points in file order; refuses waypoints only."""
    if track.source == "waypoints":
        raise NotACourse("the file holds only waypoints; a course is a track (<trk>) or a route (<rte>)")
    coords = np.vstack(track.lines)
    model = elevation(coords[:, 0], coords[:, 1])
    coords = np.column_stack([coords[:, :2], np.where(np.isnan(model), coords[:, 2], model)])
    starts = tuple(int(s) for s in np.cumsum([len(line) for line in track.lines])[:-1])
    jumps = np.diff(cumulative_distance(coords))
    along = along_m(coords, starts)
    if along[-1] < settings.SAMPLE_STEP_M:
        raise NotACourse(f"the course is {along[-1]:.1f} m long: its points are all at one place")
    gaps = [(round(float(along[s]) / 1000, 2), float(jumps[s - 1])) for s in starts
            if jumps[s - 1] > settings.RACE_WARN_GAP_M]
    return JoinedTrack(coords, starts, gaps)


def _duration_s(joined: JoinedTrack, profile: str) -> float:
    """The time at the profile's speed model on the smoothed grades of each segment (the course is not routed)."""
    speed = get_profile(profile).speed_kmh
    bounds = [0, *joined.segment_starts, len(joined.coordinates)]
    total = 0.0
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        part = joined.coordinates[lo:hi]
        cum = cumulative_distance(part)
        _, _, grid, z = smoothed_climbs(cum, known_elevation(cum, part[:, 2]))
        dx = np.diff(grid)
        grade = np.divide(np.diff(z), dx, out=np.zeros_like(dx), where=dx > 0)
        total += float(np.sum(dx / (speed(grade) / 3.6)))
    return total


def _positions(coords: np.ndarray) -> list[list[float]]:
    """GeoJSON positions: the file's coordinates unrounded, the elevation (to 0.1 m) where one is known."""
    return [[x, y] if np.isnan(z) else [x, y, round(z, 1)] for x, y, z in coords.tolist()]


def coordinates_of(positions: Sequence[Sequence[float]]) -> np.ndarray:
    """(n, 3) lon, lat, elevation of GeoJSON positions, NaN where a position has no elevation."""
    return np.array([(p[0], p[1], p[2] if len(p) > 2 else np.nan) for p in positions], dtype=float)


class CourseLine:
    """The joined course in Lambert-93, to place stations on it and measure their km."""

    def __init__(self, coords: np.ndarray, segment_starts: Sequence[int] = ()) -> None:
        x, y = geo.to_metric(coords[:, 0], coords[:, 1])
        self.line = shapely.linestrings(np.column_stack([x, y]))
        self.flat_cum = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
        self.cum = along_m(coords, segment_starts)

    def locate(self, lon: float, lat: float) -> tuple[float, float]:
        """(km along the course of the nearest point of it, distance to it in m)."""
        x, y = geo.to_metric(np.array([lon]), np.array([lat]))
        pt = shapely.Point(float(x[0]), float(y[0]))
        along = float(shapely.line_locate_point(self.line, pt))
        km = float(np.interp(along, self.flat_cum, self.cum)) / 1000
        return km, float(shapely.distance(self.line, pt))


def place_stations(stations: Sequence[StationAt], coords: np.ndarray, catalogue: Catalogue, *,
                   segment_starts: Sequence[int] = ()) -> list[Station]:
    """The organiser's stations as km marks on the course; a POI id or a place farther than STATION_SNAP_M from
    the course is refused, naming the field (``checkpoints[2].at``)."""
    line = CourseLine(coords, segment_starts)
    out = []
    for st in stations:
        km = st.at if isinstance(st.at, float | int) else None
        if km is None:
            where = st.at
            if isinstance(where, str):
                poi = catalogue.find(where)
                if poi is None:
                    raise ExportError(f"{st.field}.at: no POI with id {where!r}", field=f"{st.field}.at")
                where = (poi["lon"], poi["lat"])
            km, off = line.locate(*where)
            if off > settings.STATION_SNAP_M:
                raise ExportError(f"{st.field}.at: {st.at!r} is {off:,.0f} m from the course; a station must be "
                                  f"within {settings.STATION_SNAP_M:g} m of it", field=f"{st.field}.at")
        out.append(Station(round(float(km), 3), st.kind, st.name, st.cutoff, st.services, st.field))
    return out


def warnings_of(analysis: TrackAnalysis, joined: JoinedTrack, stations: Sequence[StationAt]) -> list[dict]:
    """What an organiser should know about the course, as data: stretches off the graph, jumps between the file's
    segments, parts outside the data or the DEM, and names a device will cut."""
    out = [{"code": "off_graph", "from_km": s["from_km"], "to_km": s["to_km"], "length_m": s["length_m"]}
           for s in analysis.off_graph if s["length_m"] >= settings.RACE_WARN_OFF_GRAPH_M]
    if joined.gaps:
        largest = max(joined.gaps, key=lambda g: g[1])
        out.append({"code": "segments", "segments": len(joined.segment_starts) + 1, "gaps": len(joined.gaps),
                    "gaps_m": round(sum(g for _, g in joined.gaps), 1), "largest_m": round(largest[1], 1),
                    "largest_at_km": largest[0]})
    if analysis.inside_share < 1:
        out.append({"code": "outside_area", "share": round(1 - analysis.inside_share, 4)})
    if analysis.dem_share < 1:
        out.append({"code": "no_elevation", "share": round(1 - analysis.dem_share, 4)})
    for st in stations:
        if st.name and fit_name(st.name) != st.name:
            out.append({"code": "name_truncated", "field": f"{st.field}.name", "name": st.name,
                        "device_name": fit_name(st.name)})
    return out


def _summits(analysis: TrackAnalysis, engine: Engine) -> list[dict]:
    """The terrils the course climbs, with their summit positions and relief, as a trail course lists them."""
    table = {t["number"]: t for t in engine.graph.meta.get("terrils", [])}
    out = []
    for t in analysis.terrils:
        ref = table.get(t["number"], {})
        out.append({"number": t["number"], "name": t.get("name"), "height_m": t["height_m"],
                    "relief_m": terril_relief(ref) if ref else 0,
                    "lon": ref.get("summit_lon"), "lat": ref.get("summit_lat"), "km": t["km"]})
    return [s for s in out if s["lon"] is not None]


def _pois(analysis: TrackAnalysis, catalogue: Catalogue) -> list[dict]:
    """The catalogue places the course passes, in the shape of a route's POIs."""
    out = []
    for p in analysis.pois:
        poi = catalogue.find(p["id"])
        if poi is not None:
            out.append({"id": p["id"], "name": p["name"], "themes": p["themes"], "lon": poi["lon"],
                        "lat": poi["lat"], "distance_m": p["distance_m"], "along_m": round(p["km"] * 1000, 1),
                        "key": bool(poi.get("key"))})
    return out


@dataclass
class OrganiserCourse:
    """An uploaded course ready to store: the result, the analysis, the stations placed and the warnings."""

    result: dict
    analysis: TrackAnalysis
    stations: list[Station]
    warnings: list[dict]


def organiser_course(track: Track, engine: Engine, elevation: ElevationModel, catalogue: Catalogue, *,
                     title: str, profile: str, stations: Sequence[StationAt] = ()) -> OrganiserCourse:
    """The uploaded course as a stored result (geometry as uploaded), analysed, with its stations on it.

    Raises ``NotACourse`` (waypoints only), the analysis' ``GPXError``s (outside the basin, too long) and
    ``ExportError`` naming the station whose place is unknown or too far from the course.
    """
    joined = join_segments(track, elevation)
    analysis = analyse(track, engine, elevation, catalogue, profile, snap=False)  # lines end to end: our km
    placed = place_stations(stations, joined.coordinates, catalogue, segment_starts=joined.segment_starts)
    cum = along_m(joined.coordinates, joined.segment_starts)
    props = {"profile": profile, "data_version": engine.graph.data_version, "distance_m": round(float(cum[-1]), 1),
             "duration_s": round(_duration_s(joined, profile), 1),
             "ascent_m": round(analysis.ascent_m, 1), "descent_m": round(analysis.descent_m, 1),
             "cavalier_share": 0.0, "ev5_share": 0.0, "elevation_profile": analysis.elevation_profile,
             "way_types": {}, "legs": [], "instructions": [], "pois": _pois(analysis, catalogue),
             "summits": _summits(analysis, engine), "matched_share": round(analysis.matched_share, 4),
             "attribution": ATTRIBUTION}
    feature = {"type": "Feature", "geometry": {"type": "LineString", "coordinates": _positions(joined.coordinates)},
               "properties": props}
    result = {"type": "FeatureCollection", "features": [feature],
              "properties": {"kind": "race", "name": title, "segment_starts": list(joined.segment_starts)}}
    return OrganiserCourse(result, analysis, placed, warnings_of(analysis, joined, stations))


def course_of_upload(result: dict, wording: Words = ENGLISH) -> Course:
    """The course of a stored organiser's result (as the presentation layer rendered it): one part with the file's
    own segments, its ends, the summits it climbs and the places it passes, in ``wording``'s language; the race's
    stations are added by ``race_course``."""
    feature, props = result["features"][0], result.get("properties") or {}
    fp = feature["properties"]
    coords = coordinates_of(feature["geometry"]["coordinates"])
    part = Part(props.get("name") or "", coords, [], tuple(props.get("segment_starts") or ()))
    length, w = part.distance_m, wording
    route = route_of_feature({**feature, "geometry": {"coordinates": coords}})
    ends = end_waypoints(coords, is_loop(route), w, length_m=length)
    summits = summit_waypoints(fp.get("summits") or (), 1.0, w)
    pois = [p for p in poi_waypoints(route, 1.0, w) if not same_place(p, summits)]
    return Course(kind="race", name=part.name, description=props.get("description") or "", parts=[part],
                  waypoints=sorted([*ends, *summits, *pois], key=lambda x: x.km or 0.0), distance_m=length,
                  duration_s=fp["duration_s"], ascent_m=fp["ascent_m"], descent_m=fp["descent_m"],
                  data_version=fp["data_version"], profile=fp["profile"], keywords=("Bassin minier", "galibot"))

