"""Analyse a track drawn elsewhere against galibot's data: what a race organiser checks before a race.

Length is measured like galibot's own routes (great circle between the file's points); ascent is
recomputed on the build's elevation model and smoothed the same way, beside what the file claims.
The track is sampled every few metres and each sample matched to the nearest way: the share within
MATCH_TOLERANCE_M is the share on the graph, and the runs beyond it are the stretches that leave it.
The snapped track is routed on the graph between matched anchors, falling back to the drawn line
wherever the graph's way between two anchors would be a detour the runner did not make.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from poi_data import Catalogue
from routing import geo
from routing.elevation import ElevationModel
from routing.engine import Engine
from routing.planners.trail import SUMMIT_SNAP_M
from routing.route import cumulative_distance, join_points, path_points, smoothed_climbs

from . import settings
from .errors import EmptyGPX, OutsideBasin, TrackTooLong
from .reader import Track

#: A later pass within this much of the closest approach to a summit is the same climb again.
REPASS_M = 10.0


@dataclass
class Samples:
    """Points every SAMPLE_STEP_M along the track, with where they fall and whether they meet a way."""

    lon: np.ndarray
    lat: np.ndarray
    along_m: np.ndarray  # metres from the start of the whole track (lines end to end)
    line: np.ndarray  # which line of the file each sample is on
    inside: np.ndarray  # inside the area the graph covers
    edge: np.ndarray  # nearest edge within tolerance, or -1
    step_m: np.ndarray  # length each sample stands for


@dataclass
class TrackAnalysis:
    """The figures of an analysed track."""

    name: str | None
    version: str
    points: int
    lines: int
    distance_m: float
    ascent_m: float
    descent_m: float
    dem_share: float  # share of the length the DEM covers (SRTM tiles span lon 2..4, lat 50..51)
    claimed_ascent_m: float | None
    claimed_descent_m: float | None
    inside_share: float
    matched_share: float  # of the part inside the data area
    off_graph: list[dict]
    terrils: list[dict]
    pois: list[dict]
    snapped: list[np.ndarray] = field(repr=False)
    snapped_distance_m: float = 0.0
    elevation_profile: list[list[float]] = field(default_factory=list, repr=False)

    def as_dict(self, geometry: bool = True) -> dict:
        """The figures as JSON, rounded; the snapped track as a MultiLineString unless ``geometry`` is off."""
        out = {k: getattr(self, k) for k in (
            "name", "version", "points", "lines", "off_graph", "terrils", "pois", "claimed_ascent_m",
            "claimed_descent_m")}
        out.update({"distance_m": round(self.distance_m, 1), "ascent_m": round(self.ascent_m, 1),
                    "descent_m": round(self.descent_m, 1), "dem_share": round(self.dem_share, 4),
                    "inside_share": round(self.inside_share, 4),
                    "matched_share": round(self.matched_share, 4),
                    "snapped_distance_m": round(self.snapped_distance_m, 1),
                    "elevation_profile": self.elevation_profile})
        if geometry:
            out["snapped"] = {"type": "MultiLineString", "coordinates": [
                [[round(x, 7), round(y, 7), round(z, 1)] for x, y, z in part.tolist()] for part in self.snapped]}
        return out


def sample(track: Track, engine: Engine) -> Samples:
    """Sample every line of the track and match each sample to the nearest way within tolerance.

    The samples are placed by the track's own great-circle distances and interpolated between its
    vertices in one pass (``np.interp``), so the cost is linear in the length and the points, and a
    projection is never asked to measure a track far from the basin.
    """
    lons, lats, along, which, steps = [], [], [], [], []
    for k, (line, offset) in enumerate(zip(track.lines, track.offsets)):
        dist = track.distances[k]
        true_len = float(dist[-1])
        n = max(2, int(np.ceil(true_len / settings.SAMPLE_STEP_M)) + 1)
        d = np.linspace(0.0, true_len, n)
        lons.append(np.interp(d, dist, line[:, 0])), lats.append(np.interp(d, dist, line[:, 1]))
        along.append(offset + d), which.append(np.full(n, k)), steps.append(np.full(n, true_len / n))
    lon, lat = np.concatenate(lons), np.concatenate(lats)
    inside = _inside(lon, lat, engine.bbox)
    if not inside.any():
        raise _outside(engine.bbox)
    edge = np.full(len(lon), -1)
    x, y = geo.to_metric(lon[inside], lat[inside])
    p_idx, e_idx = engine.snapper.tree.query_nearest(shapely.points(x, y), max_distance=settings.MATCH_TOLERANCE_M,
                                                     all_matches=False)
    edge[np.flatnonzero(inside)[p_idx]] = e_idx
    return Samples(lon, lat, np.concatenate(along), np.concatenate(which), inside, edge, np.concatenate(steps))


def off_graph_stretches(s: Samples) -> list[dict]:
    """Runs of samples inside the area that meet no way, at least MIN_OFF_GRAPH_M long."""
    off = s.inside & (s.edge < 0)
    out = []
    i, n = 0, len(off)
    while i < n:
        if not off[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and off[j + 1] and s.line[j + 1] == s.line[i]:
            j += 1
        length = float(s.step_m[i:j + 1].sum())
        if length >= settings.MIN_OFF_GRAPH_M:
            out.append({"from_km": round(float(s.along_m[i]) / 1000, 3), "to_km": round(float(s.along_m[j]) / 1000, 3),
                        "length_m": round(length, 1), "start": [round(float(s.lon[i]), 6), round(float(s.lat[i]), 6)],
                        "end": [round(float(s.lon[j]), 6), round(float(s.lat[j]), 6)]})
        i = j + 1
    return out


def terrils_climbed(engine: Engine, s: Samples) -> list[dict]:
    """The terril summits the track reaches, as the trail planner counts them, in the order it first gets closest."""
    table = [t for t in engine.graph.meta.get("terrils", []) if t.get("summit_lon") is not None]
    if not table:
        return []
    tx, ty = geo.to_metric(np.array([t["summit_lon"] for t in table]), np.array([t["summit_lat"] for t in table]))
    sx, sy = geo.to_metric(s.lon, s.lat)
    tree = shapely.STRtree(shapely.points(sx, sy))
    hits = []
    for k, (x, y) in enumerate(zip(tx, ty)):
        near = tree.query(shapely.Point(x, y), predicate="dwithin", distance=SUMMIT_SNAP_M)
        if len(near):
            near = np.sort(near)
            dist = np.hypot(sx[near] - x, sy[near] - y)
            closest = int(near[np.argmax(dist <= dist.min() + REPASS_M)])  # the first pass that gets that close
            t = table[k]
            hits.append((closest, {"number": t["number"], "name": t.get("name"), "height_m": t["summit_m"],
                                   "km": round(float(s.along_m[closest]) / 1000, 2),
                                   "distance_m": round(float(dist.min()), 1)}))
    return [h for _, h in sorted(hits, key=lambda kv: kv[0])]


def pois_passed(catalogue: Catalogue | None, track: Track) -> list[dict]:
    """Catalogue places within POI_CORRIDOR_M of the track, in the order it passes them."""
    if catalogue is None:
        return []
    out = []
    for line, offset in zip(track.lines, track.offsets):
        for h in catalogue.along(line, settings.POI_CORRIDOR_M):
            out.append({"id": h.poi["id"], "name": h.poi["name"], "themes": h.poi["themes"],
                        "km": round((offset + h.along_m) / 1000, 2), "distance_m": h.distance_m})
    return out


def _anchors(s: Samples) -> list[list[int]]:
    """Runs of consecutive matched samples on one line, thinned to one every ANCHOR_STEP_M, ends kept."""
    runs: list[list[int]] = []
    current: list[int] = []
    last_along = -np.inf
    for i in range(len(s.edge)):
        matched = s.edge[i] >= 0
        if current and (not matched or s.line[i] != s.line[i - 1]):
            if current[-1] != i - 1:  # an open run is all matched, so i - 1 is its last sample
                current.append(i - 1)
            runs.append(current)
            current = []
        if matched and (not current or s.along_m[i] - last_along >= settings.ANCHOR_STEP_M):
            current.append(i)
            last_along = s.along_m[i]
    if current:
        if current[-1] != len(s.edge) - 1:
            current.append(len(s.edge) - 1)
        runs.append(current)
    return [r for r in runs if len(r) >= 2]


def snap_track(engine: Engine, s: Samples, profile: str) -> list[np.ndarray]:
    """The track on the graph: legs routed between anchors, the drawn line where no leg follows it."""
    query = engine.query(profile)
    parts: list[np.ndarray] = []
    for run in _anchors(s):
        snaps = engine.snapper.snap_many(s.lon[run], s.lat[run])
        pieces: list[np.ndarray] = []
        for k, (a, b) in enumerate(zip(snaps[:-1], snaps[1:])):
            leg = engine.leg(a, b, profile, query)
            if leg is not None and _follows(engine, leg, float(s.along_m[run[k + 1]] - s.along_m[run[k]])):
                pieces.append(path_points(engine.graph, leg.pieces))
            else:
                pieces.append(_drawn(s, run[k], run[k + 1]))
        parts.append(join_points(pieces))
    return parts


def _follows(engine: Engine, leg, drawn_m: float) -> bool:
    """Whether a routed leg is the way the track took: neither a detour nor a short cut across a spur."""
    routed = float(sum(engine.graph.edge_length[p.arc >> 1] * (p.hi - p.lo) for p in leg.pieces))
    slack = settings.MATCH_TOLERANCE_M
    return drawn_m / settings.MAX_DETOUR_RATIO - slack <= routed <= drawn_m * settings.MAX_DETOUR_RATIO + slack


def _drawn(s: Samples, i: int, j: int) -> np.ndarray:
    """The samples between two anchors as drawn (no elevation: NaN)."""
    return np.column_stack([s.lon[i:j + 1], s.lat[i:j + 1], np.full(j + 1 - i, np.nan)])


def _with_elevation(line: np.ndarray, elevation: ElevationModel) -> np.ndarray:
    """Fill the elevations a drawn stretch lacks from the elevation model."""
    missing = np.isnan(line[:, 2])
    if missing.any():
        line = line.copy()
        line[missing, 2] = elevation(line[missing, 0], line[missing, 1])
    return line


def climbs(track: Track, elevation: ElevationModel) -> tuple[float, float, float, list[list[float]]]:
    """Ascent, descent, the share of the length the DEM covers, and the profile, measured like galibot's routes."""
    up = down = covered = 0.0
    samples: list[list[float]] = []
    for line, dist, offset in zip(track.lines, track.distances, track.offsets):
        z = elevation(line[:, 0], line[:, 1])
        ok = ~np.isnan(z)
        if ok.sum() < 2:
            continue  # no DEM under this line
        start = float(dist[ok][0])  # where the DEM starts covering the line
        u, d, grid, smooth = smoothed_climbs(dist[ok] - start, z[ok])
        up, down = up + u, down + d
        covered += float(np.diff(dist)[ok[:-1] & ok[1:]].sum())
        step = max(1, len(grid) // 300)
        samples += [[round(offset + start + float(g), 1), round(float(v), 1)]
                    for g, v in zip(grid[::step], smooth[::step])]
    total = track.offsets[-1]
    return up, down, covered / total if total else 0.0, samples


def _inside(lon: np.ndarray, lat: np.ndarray, bbox: tuple[float, float, float, float]) -> np.ndarray:
    w, s, e, n = bbox
    return (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)


def _outside(bbox: tuple[float, float, float, float]) -> OutsideBasin:
    w, s, e, n = bbox
    return OutsideBasin(f"the track lies entirely outside the area galibot covers (lon {w:g}..{e:g}, "
                        f"lat {s:g}..{n:g})")


def _check_where(track: Track, engine: Engine) -> None:
    """Refuse, before any heavy work, a track with no point in the area galibot covers or with no length."""
    if not any(_inside(line[:, 0], line[:, 1], engine.bbox).any() for line in track.lines):
        raise _outside(engine.bbox)
    if track.offsets[-1] < settings.SAMPLE_STEP_M:
        raise EmptyGPX(f"the track is {track.offsets[-1]:.1f} m long: its points are all at one place")


def analyse(track: Track, engine: Engine, elevation: ElevationModel, catalogue: Catalogue | None = None,
            profile: str = "bike", snap: bool = True) -> TrackAnalysis:
    """Every figure of a track: length, DEM ascent and the file's claim, match to the graph, summits, POIs."""
    engine.weights(profile)  # an unknown profile fails before any work
    length_km = track.offsets[-1] / 1000
    if length_km > settings.MAX_TRACK_KM:
        raise TrackTooLong(f"the track is {length_km:,.0f} km long; galibot analyses up to "
                           f"{settings.MAX_TRACK_KM:,.0f} km")
    _check_where(track, engine)
    s = sample(track, engine)
    up, down, dem_share, profile_pts = climbs(track, elevation)
    inside_len = float(s.step_m[s.inside].sum())
    matched_len = float(s.step_m[s.inside & (s.edge >= 0)].sum())
    snapped = [_with_elevation(part, elevation) for part in snap_track(engine, s, profile)] if snap else []
    return TrackAnalysis(
        name=track.name, version=track.version, points=track.points, lines=len(track.lines),
        distance_m=track.offsets[-1], ascent_m=up, descent_m=down, dem_share=dem_share,
        claimed_ascent_m=track.claimed_ascent_m, claimed_descent_m=track.claimed_descent_m,
        inside_share=inside_len / float(s.step_m.sum()), matched_share=matched_len / inside_len,
        off_graph=off_graph_stretches(s), terrils=terrils_climbed(engine, s), pois=pois_passed(catalogue, track),
        snapped=snapped, snapped_distance_m=float(sum(cumulative_distance(p)[-1] for p in snapped)),
        elevation_profile=profile_pts)
