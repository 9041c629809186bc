"""The reference offline client: A→B routes and round trips from a downloaded bundle, nothing else.

It reads ``manifest.json``, refuses any file whose size or sha256 differs from the manifest, and
routes with the bundle's own costs. Standard library plus gpxpy (pure Python) for the GPX.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import gpxpy.gpx as G

from .. import settings
from ..core import (
    MAX_LOOP_M,
    MIN_LOOP_M,
    Leg,
    Piece,
    Snap,
    cancel_spurs,
    cumulative_m,
    cut_line,
    first_heading,
    fit_loop,
    join_lines,
    loop_heading,
    pieces_length_m,
    profile_samples,
    smoothed_climbs,
)
from ..errors import ImpossibleTarget, NoRoute, RoutingError
from ..instructions import instructions_for
from . import search
from .graph import BundleError, OfflineGraph, install, installed_path
from .pois import CORRIDOR_M, POIIndex, along, load_pois

#: The bundle formats (``manifest.json``'s ``format_version``) this client reads.
SUPPORTED_BUNDLE_FORMATS = (3,)


@dataclass
class OfflineRoute:
    """A route found on the bundle: what the server's route result holds, language-neutral (the presentation layer
    words the maneuvers): cost, length, time, climbs and profile, the line, the maneuvers, the POIs along."""

    profile: str
    data_version: str
    cost_ms: int
    distance_m: float
    duration_s: float
    coordinates: list[tuple[float, float, float]]
    legs: list[dict] = field(default_factory=list)
    ascent_m: float = 0.0
    descent_m: float = 0.0
    elevation_profile: list[list[float]] = field(default_factory=list)
    cavalier_share: float = 0.0
    ev5_share: float = 0.0
    instructions: list[dict] = field(default_factory=list)
    pois: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        """The headline figures, rounded as the server rounds them."""
        return {"profile": self.profile, "cost_ms": self.cost_ms, "distance_m": round(self.distance_m, 1),
                "duration_s": round(self.duration_s, 1), "ascent_m": round(self.ascent_m, 1),
                "descent_m": round(self.descent_m, 1), "cavalier_share": round(self.cavalier_share, 4),
                "ev5_share": round(self.ev5_share, 4), "points": len(self.coordinates),
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
    if manifest.get("format_version") not in SUPPORTED_BUNDLE_FORMATS:
        raise BundleError(f"bundle format {manifest.get('format_version')} is not the one this reader knows "
                          f"({', '.join(map(str, SUPPORTED_BUNDLE_FORMATS))}): update the app, or download the bundle "
                          "again")
    return manifest


class OfflineClient:
    """Routes on a bundle directory as the app would on the phone."""

    def __init__(self, bundle_dir: Path | str) -> None:
        self.dir = Path(bundle_dir)
        self.manifest = load_manifest(self.dir)
        graph_entry = next((f for f in self.manifest["files"] if f["role"] == "graph"), None)
        if graph_entry is None:
            raise BundleError("the manifest lists no graph file")
        installed = installed_path(self.dir, graph_entry)
        if not installed.is_file():  # once per bundle version: the checked download decoded into mappable arrays
            install(read_verified(self.dir, graph_entry), installed)
        try:
            self.graph = OfflineGraph.load(installed)
        except BundleError:  # installed by another version of this client, or cut: install again from the download
            install(read_verified(self.dir, graph_entry), installed)
            self.graph = OfflineGraph.load(installed)
        self._pois_entry = next((f for f in self.manifest["files"] if f["role"] == "pois"), None)
        self._pois: POIIndex | None = None

    @property
    def pois(self) -> POIIndex:
        """The bundle's POIs, read (and checked against the manifest) and indexed on first use."""
        if self._pois is None:
            self._pois = POIIndex(load_pois(read_verified(self.dir, self._pois_entry)) if self._pois_entry else [])
        return self._pois

    @property
    def profiles(self) -> list[str]:
        return self.graph.profiles

    def _chunks(self, pieces: list[Piece]) -> list[list[tuple[float, ...]]]:
        """Each piece's points, in its direction of travel, cut where it is travelled in part."""
        out = []
        for p in pieces:
            pts = self.graph.edge_vertices(p.arc >> 1)
            out.append(cut_line(pts[::-1] if p.arc & 1 else pts, p.lo, p.hi))
        return out

    def _assemble(self, legs: list[Leg], profile: str, names: Sequence[str | None] = ()) -> OfflineRoute:
        """The route of a path of legs, with everything the server's route result holds."""
        g, length = self.graph, self.graph.a["edge_length"]
        pieces = [p for leg in legs for p in leg.pieces]
        chunks = self._chunks(pieces)
        coords = join_lines(chunks)
        lengths = [float(length[p.arc >> 1]) * (p.hi - p.lo) for p in pieces]
        total = sum(lengths)
        up, down, grid, z = smoothed_climbs(cumulative_m(coords), [c[2] for c in coords])
        flag = g.header["flags"]
        share = lambda bit: sum(m for p, m in zip(pieces, lengths) if g.flags(p.arc >> 1) & bit) / total \
            if total else 0.0  # noqa: E731
        return OfflineRoute(
            profile, g.data_version, sum(leg.cost_ms for leg in legs), total,
            sum(g.time_s(profile, p.arc) * (p.hi - p.lo) for p in pieces), coords,
            [{"cost_ms": leg.cost_ms, "distance_m": round(pieces_length_m(length, leg.pieces), 1)} for leg in legs],
            up, down, profile_samples(grid, z), share(flag["cavalier"]), share(flag["ev5"]),
            instructions_for(g.way, pieces, chunks, lengths, [len(leg.pieces) for leg in legs],
                             push=frozenset(g.header["profile_models"][profile]["dismount_subclasses"]), names=names))

    def attach_pois(self, route: OfflineRoute, corridor_m: float = CORRIDOR_M) -> OfflineRoute:
        """Fill ``route.pois`` with the bundle's POIs within ``corridor_m`` of it, in the order they come: apart from
        the route, as on the server (``poi_data.attach_pois``), so live re-routing does not wait for them."""
        route.pois = along(route.coordinates, self.pois, corridor_m)
        return route

    def _legs(self, snaps: list[Snap], profile: str) -> list[Leg]:
        cost, metric = self.graph.cost(profile), self.graph.metric(profile)
        legs = []
        for i, (a, b) in enumerate(zip(snaps, snaps[1:])):
            try:
                legs.append(search.leg(self.graph, a, b, cost, metric))
            except NoRoute:
                raise NoRoute(f"no route from point {i} to point {i + 1} in the bundle", field="points") from None
        return legs

    def route(self, points: list[tuple[float, float]], profile: str = "bike", *,
              names: Sequence[str | None] = ()) -> OfflineRoute:
        """The least-cost route through the points (start, vias, end) for a profile; ``names`` name the points that
        are places, for the arrival instructions."""
        if len(points) < 2:
            raise RoutingError("a route needs at least a start and an end point", field="points")
        self.graph.cost(profile)  # an unknown profile is refused before any snapping
        snaps = [search.snap(self.graph, lon, lat, f"points[{i}]") for i, (lon, lat) in enumerate(points)]
        return self._assemble(self._legs(snaps, profile), profile, names)

    def round_trip(self, start: tuple[float, float], distance_m: float, profile: str = "trail",
                   seed: int = 0) -> OfflineRoute:
        """A loop of about ``distance_m``, by the server's rules (``routing.core.fit_loop``): three via points on a
        circle through the start, the ways of earlier legs penalised, spurs cancelled, the radius refitted."""
        if not MIN_LOOP_M <= distance_m <= MAX_LOOP_M:
            raise ImpossibleTarget(f"a round trip is {MIN_LOOP_M / 1000:g} to {MAX_LOOP_M / 1000:g} km long; "
                                   f"{distance_m / 1000:g} km was asked for", field="distance_km")
        origin = search.snap(self.graph, *start, "start")
        cost = self.graph.cost(profile)
        first, fallback = first_heading(seed), None
        for k in range(3):  # as the server for one loop: two more headings if a loop misses the length
            found = fit_loop(lambda vias: self._loop_through(origin, vias, cost),
                             lambda pieces: pieces_length_m(self.graph.a["edge_length"], pieces),
                             start, distance_m, loop_heading(first, k, 1))
            if found is None:
                continue
            err, pieces, _ = found
            if err <= settings.LOOP_TOLERANCE:
                return self._assemble([Leg(pieces, 0).priced(cost)], profile)
            if fallback is None or err < fallback[0]:
                fallback = (err, pieces)
        if fallback is None:
            raise NoRoute("no round trip found from this start in the bundle", field="start")
        return self._assemble([Leg(fallback[1], 0).priced(cost)], profile)

    def _loop_through(self, origin: Snap, vias: list[tuple[float, float]], cost) -> list[Piece] | None:
        """start → vias → start, each leg on costs with the ways of the earlier legs penalised; None if a via is
        off the map or unreachable."""
        try:
            snaps = [origin, *(search.snap(self.graph, lon, lat, "via") for lon, lat in vias), origin]
        except RoutingError:
            return None
        penalised = _Penalised(cost, self.graph.header["inf_cost"])
        pieces: list[Piece] = []
        try:
            for a, b in zip(snaps, snaps[1:]):
                leg = search.leg(self.graph, a, b, penalised)
                pieces += leg.pieces
                penalised.penalise({p.arc >> 1 for p in leg.pieces})
        except NoRoute:
            return None
        return cancel_spurs(pieces)

    def to_gpx(self, route: OfflineRoute, name: str = "galibot offline route") -> str:
        """GPX 1.1 of a route: the track, its start and finish and the POIs along it as waypoints, the bundle's
        attribution."""
        gpx = G.GPX()
        gpx.creator = "galibot offline"
        gpx.name = name
        gpx.copyright_author = self.manifest.get("attribution")
        ends = [(route.coordinates[0], "start"), (route.coordinates[-1], "finish")] if route.coordinates else []
        for (lon, lat, ele), kind in ends:
            gpx.waypoints.append(G.GPXWaypoint(round(lat, 7), round(lon, 7), elevation=round(ele, 1), name=kind,
                                               type=kind))
        for poi in route.pois:
            gpx.waypoints.append(G.GPXWaypoint(round(poi["lat"], 7), round(poi["lon"], 7), name=poi["name"],
                                               type="poi", description=f"km {poi['along_m'] / 1000:.1f}"))
        track = G.GPXTrack(name=name)
        track.type = route.profile
        segment = G.GPXTrackSegment([G.GPXTrackPoint(round(lat, 7), round(lon, 7), elevation=round(ele, 1))
                                     for lon, lat, ele in route.coordinates])
        track.segments.append(segment)
        gpx.tracks.append(track)
        return gpx.to_xml(version="1.1")


class _Penalised:
    """A profile's costs with the ways of earlier legs made ``LOOP_REUSE_PENALTY`` times dearer (both ways)."""

    def __init__(self, cost, inf: int) -> None:
        self.base, self.inf, self.extra = cost, inf, {}

    def penalise(self, edges: set[int]) -> None:
        for e in edges:
            for arc in (2 * e, 2 * e + 1):
                if self.base[arc] < self.inf:
                    self.extra[arc] = min(self.inf - 1, int(self.base[arc] * settings.LOOP_REUSE_PENALTY))

    def __getitem__(self, arc: int) -> int:
        return self.extra.get(arc, self.base[arc])
