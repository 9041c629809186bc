"""The reference offline client: A→B routes and round trips from a downloaded bundle, nothing else.

It reads ``manifest.json``, refuses any file whose size or sha256 differs from the manifest, and
routes with the bundle's own costs. Standard library plus gpxpy (pure Python) for the GPX.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import gpxpy.gpx as G

from ..errors import ImpossibleTarget, NoRoute, RoutingError
from . import search
from .graph import BundleError, OfflineGraph

#: Round trips: three via points on a circle through the start; accepted length error; tries; reuse penalty.
LOOP_TOLERANCE = 0.10
LOOP_TRIES = 8
LOOP_REUSE_PENALTY = 5
#: A loop on the graph is this many times longer than the circle it is drawn on (refitted per try).
LOOP_DETOUR = 1.3
MAX_LOOP_M = 300_000.0


@dataclass
class OfflineRoute:
    """A route found on the bundle: cost, length, time and the line to draw and export."""

    profile: str
    data_version: str
    cost_ms: int
    distance_m: float
    duration_s: float
    coordinates: list[tuple[float, float, float]]
    legs: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        return {"profile": self.profile, "cost_ms": self.cost_ms, "distance_m": round(self.distance_m, 1),
                "duration_s": round(self.duration_s, 1), "points": len(self.coordinates),
                "data_version": self.data_version}


def read_verified(bundle_dir: Path, entry: dict) -> bytes:
    """A bundle file's bytes, or BundleError when it is missing, partial or tampered with."""
    path = Path(bundle_dir) / entry["name"]
    if not path.is_file():
        raise BundleError(f"{entry['name']}: missing from {bundle_dir}")
    data = path.read_bytes()
    if len(data) != entry["size"]:
        raise BundleError(f"{entry['name']}: {len(data)} bytes, the manifest says {entry['size']} (partial download?)")
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise BundleError(f"{entry['name']}: sha256 {digest[:12]}… differs from the manifest's "
                          f"{entry['sha256'][:12]}…; the file is corrupt or was tampered with")
    return data


def load_manifest(bundle_dir: Path) -> dict:
    path = Path(bundle_dir) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"no manifest.json in {bundle_dir}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path}: not JSON ({exc})") from None
    if manifest.get("format") != "galibot-bundle":
        raise BundleError(f"{path}: not a galibot bundle manifest")
    return manifest


def _cut(pts: list[tuple[float, float, float]], lo: float, hi: float) -> list[tuple[float, float, float]]:
    """The part of a polyline between two fractions of its great-circle length."""
    if lo <= 0.0 and hi >= 1.0:
        return pts
    cum = [0.0]
    for (x1, y1, _), (x2, y2, _) in zip(pts, pts[1:]):
        cum.append(cum[-1] + search.haversine_m(x1, y1, x2, y2))
    total = cum[-1] or 1.0
    a, b = lo * total, hi * total

    def at(d: float) -> tuple[float, float, float]:
        i = max(1, next((k for k, c in enumerate(cum) if c >= d), len(cum) - 1))
        span = cum[i] - cum[i - 1]
        t = (d - cum[i - 1]) / span if span > 0 else 0.0
        return tuple(p + t * (q - p) for p, q in zip(pts[i - 1], pts[i]))

    return [at(a), *(p for p, c in zip(pts, cum) if a < c < b), at(b)]


class OfflineClient:
    """Routes on a bundle directory as the app would on the phone."""

    def __init__(self, bundle_dir: Path | str) -> None:
        self.dir = Path(bundle_dir)
        self.manifest = load_manifest(self.dir)
        graph_entry = next((f for f in self.manifest["files"] if f["role"] == "graph"), None)
        if graph_entry is None:
            raise BundleError("the manifest lists no graph file")
        self.graph = OfflineGraph.from_bytes(read_verified(self.dir, graph_entry))

    @property
    def profiles(self) -> list[str]:
        return self.graph.profiles

    def _points(self, pieces: list[search.Piece]) -> list[tuple[float, float, float]]:
        out: list[tuple[float, float, float]] = []
        for p in pieces:
            pts = self.graph.edge_vertices(p.arc >> 1)
            pts = _cut(pts[::-1] if p.arc & 1 else pts, p.lo, p.hi)
            for q in pts:
                if not out or abs(out[-1][0] - q[0]) > 1e-9 or abs(out[-1][1] - q[1]) > 1e-9:
                    out.append(q)
        return out

    def _assemble(self, pieces: list[search.Piece], profile: str, cost_ms: int, legs: list[dict]) -> OfflineRoute:
        """The route of a path of arc pieces: its length, time and line."""
        length = self.graph.a["edge_length"]
        return OfflineRoute(profile, self.graph.data_version, cost_ms,
                            sum(length[p.arc >> 1] * (p.hi - p.lo) for p in pieces),
                            sum(self.graph.time_s(profile, p.arc) * (p.hi - p.lo) for p in pieces),
                            self._points(pieces), legs)

    def _route(self, snaps: list[search.Snap], profile: str, cost) -> OfflineRoute:
        legs, pieces = [], []
        for i, (a, b) in enumerate(zip(snaps, snaps[1:])):
            try:
                c, leg_pieces = search.leg(self.graph, a, b, cost)
            except NoRoute:
                raise NoRoute(f"no route from point {i} to point {i + 1} in the bundle", field="points") from None
            pieces += leg_pieces
            legs.append({"cost_ms": c, "distance_m": round(sum(self.graph.a["edge_length"][p.arc >> 1] * (p.hi - p.lo)
                                                                for p in leg_pieces), 1)})
        return self._assemble(pieces, profile, sum(leg["cost_ms"] for leg in legs), legs)

    def route(self, points: list[tuple[float, float]], profile: str = "bike") -> OfflineRoute:
        """The least-cost route through the points (start, vias, end) for a profile."""
        if len(points) < 2:
            raise RoutingError("a route needs at least a start and an end point", field="points")
        cost = self.graph.cost(profile)
        snaps = [search.snap(self.graph, lon, lat, f"points[{i}]") for i, (lon, lat) in enumerate(points)]
        return self._route(snaps, profile, cost)

    def round_trip(self, start: tuple[float, float], distance_m: float, profile: str = "trail",
                   seed: int = 0) -> OfflineRoute:
        """A loop of about ``distance_m`` (±10 %): three via points on a circle through the start, ways already
        used penalised, the radius refitted from the measured length."""
        if not 1000 <= distance_m <= MAX_LOOP_M:
            raise ImpossibleTarget(f"a round trip must be 1 to {MAX_LOOP_M / 1000:.0f} km long", field="distance_km")
        rng = random.Random(seed)
        origin = search.snap(self.graph, *start, "start")
        radius = distance_m / (2 * math.pi * LOOP_DETOUR)
        best: OfflineRoute | None = None
        for _ in range(LOOP_TRIES):
            loop = self._try_loop(start, origin, radius, rng.uniform(0, 2 * math.pi), profile)
            if loop is None:
                continue
            if best is None or abs(loop.distance_m - distance_m) < abs(best.distance_m - distance_m):
                best = loop
            if abs(loop.distance_m - distance_m) <= LOOP_TOLERANCE * distance_m:
                return loop
            radius *= distance_m / loop.distance_m
        if best is None:
            raise NoRoute("no round trip found from this start in the bundle", field="start")
        return best

    def _try_loop(self, start, origin: search.Snap, radius: float, bearing: float, profile: str):
        """One loop through three via points at 90°, 180° and 270° of a circle tangent at the start."""
        lon0, lat0 = start
        cx = lon0 + radius * math.sin(bearing) / (111_320 * math.cos(math.radians(lat0)))
        cy = lat0 + radius * math.cos(bearing) / 111_320
        snaps = [origin]
        for k in (1, 2, 3):
            angle = bearing + math.pi + k * math.pi / 2
            lon = cx + radius * math.sin(angle) / (111_320 * math.cos(math.radians(lat0)))
            lat = cy + radius * math.cos(angle) / 111_320
            try:
                snaps.append(search.snap(self.graph, lon, lat, "via"))
            except RoutingError:
                return None
        snaps.append(origin)
        cost = _Penalised(self.graph.cost(profile), self.graph.header["inf_cost"])
        pieces_seen: list[search.Piece] = []
        try:
            for a, b in zip(snaps, snaps[1:]):
                _, leg_pieces = search.leg(self.graph, a, b, cost)
                pieces_seen += leg_pieces
                cost.penalise({p.arc >> 1 for p in leg_pieces})
        except NoRoute:
            return None
        true_cost = self.graph.cost(profile)  # the loop was searched on penalised costs
        return self._assemble(pieces_seen, profile,
                              sum(int(round(true_cost[p.arc] * (p.hi - p.lo))) for p in pieces_seen), [])

    def to_gpx(self, route: OfflineRoute, name: str = "galibot offline route") -> str:
        """GPX 1.1 of a route, with the bundle's attribution."""
        gpx = G.GPX()
        gpx.creator = "galibot offline"
        gpx.name = name
        gpx.copyright_author = self.manifest.get("attribution")
        track = G.GPXTrack(name=name)
        track.type = route.profile
        segment = G.GPXTrackSegment([G.GPXTrackPoint(round(lat, 7), round(lon, 7), elevation=round(ele, 1))
                                     for lon, lat, ele in route.coordinates])
        track.segments.append(segment)
        gpx.tracks.append(track)
        return gpx.to_xml(version="1.1")


class _Penalised:
    """A profile's costs with the ways of earlier legs made LOOP_REUSE_PENALTY times dearer (both directions)."""

    def __init__(self, cost, inf: int) -> None:
        self.base, self.inf, self.extra = cost, inf, {}

    def penalise(self, edges: set[int]) -> None:
        for e in edges:
            for arc in (2 * e, 2 * e + 1):
                if self.base[arc] < self.inf:
                    self.extra[arc] = min(self.inf - 1, self.base[arc] * LOOP_REUSE_PENALTY)

    def __getitem__(self, arc: int) -> int:
        return self.extra.get(arc, self.base[arc])
