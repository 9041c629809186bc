"""The search engine: exact least-cost routes on the compiled graph with Customizable Contraction Hierarchies.

RoutingKit's CCH (through ``routingkit-cch``) is built once per graph from a nested-dissection
order that is cached beside the graph under its data version; each profile is a *customisation*
of it (about 50 ms for the whole basin), and so is each request that avoids areas or looks for
alternatives. Points are snapped to the nearest *edge*: the search starts from both ends of that
edge with the partial costs as initial distances, so results are exact from point to point.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import routingkit_cch as rk
import shapely

from . import geo, kernels, settings
from .compiled import CompiledGraph
from .core import Leg, Snap, best_leg
from .errors import InvalidAvoid, NoRoute, OutOfArea, TooFarFromRoad, TooManyPoints
from .io import atomic_write
from .profiles import DEFAULT_PROFILE, INF_WEIGHT, PROFILES, ArcWeights, arc_weights, get_profile
from .route import Route, build_route, vertex_steps, way_key_ids, way_type_ids
from .snap import EdgeSnapper

__all__ = ["Engine", "Leg", "Snap", "ThreadBound"]


def arc_ends(graph: CompiledGraph) -> tuple[np.ndarray, np.ndarray]:
    """Tail and head node of every arc: arc ``2e`` from ``edge_u`` to ``edge_v``, arc ``2e + 1`` back."""
    n_ways = len(graph.edge_u)
    tail, head = np.empty(2 * n_ways, dtype=np.int64), np.empty(2 * n_ways, dtype=np.int64)
    tail[0::2], head[0::2] = graph.edge_u, graph.edge_v
    tail[1::2], head[1::2] = graph.edge_v, graph.edge_u
    return tail, head


def cch_order(graph: CompiledGraph, cache_dir: Path | None) -> list[int]:
    """The nodes in the CCH's nested-dissection order (most contracted first), from ``cache_dir/cch-<version>.npy``
    or computed and saved atomically. Bundles ship it, so the phone's hierarchy is the server's."""
    tail, head = arc_ends(graph)
    return _cch_order(graph, tail, head, cache_dir)


def _cch_order(graph: CompiledGraph, tail: np.ndarray, head: np.ndarray, cache_dir: Path | None) -> list[int]:
    path = cache_dir / f"cch-{graph.data_version}.npy" if cache_dir else None
    if path is not None and path.is_file():
        return np.load(path).tolist()
    order = rk.compute_order_inertial(graph.n_nodes, tail.tolist(), head.tolist(),
                                      graph.node_lat.tolist(), graph.node_lon.tolist())
    if path is not None:
        with atomic_write(path) as fh:
            np.save(fh, np.asarray(order, dtype=np.int32))
    return order


#: The binding's search objects dropped on another thread than their own: kept, never dropped (``ThreadBound``).
_ORPHANED: list = []


class ThreadBound:
    """One of the binding's search objects (``CCHQuery``, ``CCHOneToMany``…) with the thread that made it; it
    answers as the object does.

    The binding forbids using one on another thread or dropping it there: dropped elsewhere, it reports an error
    and leaks the object. Two things drop Python objects on another thread than the one that held them: the cyclic
    garbage collector, on whichever thread it runs (a refused request's exception holds its frames, and the frames
    their queries), and a process forked while the thread ran (the child's only thread clears the others). Dropped
    on another thread, this keeps the object for the process's life instead: the same leak, without the error.
    """

    __slots__ = ("_obj", "_owner")

    def __init__(self, obj) -> None:
        self._obj, self._owner = obj, threading.get_ident()

    def __getattr__(self, name: str):
        return getattr(self._obj, name)

    def __del__(self) -> None:
        if threading.get_ident() != self._owner:
            _ORPHANED.append(self._obj)


_THREAD = threading.local()


def _kept_queries() -> list[tuple[rk.CCHMetric, ThreadBound]]:
    """This thread's kept (metric, query) pairs, the most recently used last."""
    if not hasattr(_THREAD, "queries"):
        _THREAD.queries = []
    return _THREAD.queries


class Engine:
    """Routes on one compiled graph for every profile."""

    def __init__(self, graph: CompiledGraph, cache_dir: Path | None = None) -> None:
        self.graph = graph
        self.tail, self.head = arc_ends(graph)
        order = _cch_order(graph, self.tail, self.head, cache_dir)
        self.cch = rk.CCH(order, self.tail.tolist(), self.head.tolist(), False)
        self.snapper = EdgeSnapper(graph)
        self.bbox = tuple(graph.meta.get("bbox", settings.DATA_BBOX))
        self._weights: dict[str, ArcWeights] = {}
        self._metrics: dict[str, rk.CCHMetric] = {}
        self._lock = threading.Lock()

    # -- weights and metrics -------------------------------------------------------------------

    def weights(self, profile: str) -> ArcWeights:
        """The per-arc weights of a profile (computed once)."""
        with self._lock:
            if profile not in self._weights:
                self._weights[profile] = arc_weights(self.graph, get_profile(profile))
            return self._weights[profile]

    def metric(self, profile: str) -> rk.CCHMetric:
        """The CCH customised for a profile (computed once)."""
        weights = self.weights(profile)
        with self._lock:
            if profile not in self._metrics:
                self._metrics[profile] = rk.CCHMetric(self.cch, weights.cost_ms.tolist())
            return self._metrics[profile]

    def warm(self) -> None:
        """Compile the route's kernels (or load them from numba's cache), weigh and customise every profile, and
        make what a route reads of the graph's ways (their keys, types and measured steps), now (about 1.5 s on the
        basin) rather than on a first route: a server does it once before it forks, so its workers and work horses
        share the arrays and none pays for them in a request."""
        kernels.warm()
        for profile in PROFILES:
            self.metric(profile)
        way_key_ids(self.graph)
        way_type_ids(self.graph)
        vertex_steps(self.graph)
        geo.to_metric(np.array([self.bbox[0]]), np.array([self.bbox[1]]))  # pyproj's transformers

    def custom_metric(self, cost: np.ndarray) -> rk.CCHMetric:
        """A CCH customised for arbitrary arc costs (about 0.1 s on the basin): avoid areas, penalties, preferences."""
        return rk.CCHMetric(self.cch, cost.tolist())

    def query(self, profile: str) -> ThreadBound:
        """A query object for this thread on the profile's metric, kept for the thread's next searches.

        Making one costs about 0.1 ms (it allocates 2.5 MB of search space on the basin), as much as a search. The
        binding forbids using one on another thread or dropping it there, so each thread keeps its own few
        (``settings.QUERIES_PER_THREAD``, the least recently used dropped by that thread), in a thread-local that
        outlives the engines: an engine's queries are dropped by their own thread, never by whichever drops it.
        A caller uses the query for its own searches before it asks for another (one route's legs).
        """
        metric = self.metric(profile)
        kept = _kept_queries()
        for i, (m, q) in enumerate(kept):
            if m is metric:
                kept.append(kept.pop(i))
                return q
        query = self.query_on(metric)
        kept.append((metric, query))
        if len(kept) > settings.QUERIES_PER_THREAD:
            del kept[0]
        return query

    @staticmethod
    def query_on(metric: rk.CCHMetric) -> ThreadBound:
        """A fresh query on a metric of one's own (``custom_metric``), so callers need not drive RoutingKit."""
        return ThreadBound(rk.CCHQuery(metric))

    # -- snapping --------------------------------------------------------------------------------

    def snap(self, points: list[tuple[float, float]], field: str = "points") -> list[Snap]:
        """Snap each lon/lat to its nearest edge; refuse points outside the area or far from any way."""
        w, s, e, n = self.bbox
        eps = 1e-6  # nodes clipped onto the bbox edge are rounded to 7 decimals
        for i, (lon, lat) in enumerate(points):
            if not (w - eps <= lon <= e + eps and s - eps <= lat <= n + eps):
                raise OutOfArea(f"{field}[{i}] ({lon:g}, {lat:g}) lies outside the area covered, "
                                f"lon {w:g}..{e:g}, lat {s:g}..{n:g}", field=f"{field}[{i}]")
        arr = np.asarray(points, dtype=float).reshape(-1, 2)
        snaps = self.snapper.snap_many(arr[:, 0], arr[:, 1])
        for i, sn in enumerate(snaps):
            if sn.distance_m > settings.MAX_SNAP_M:
                raise TooFarFromRoad(f"{field}[{i}] is {sn.distance_m:.0f} m from the nearest way; the limit is "
                                     f"{settings.MAX_SNAP_M:.0f} m", field=f"{field}[{i}]")
        return snaps

    # -- search ----------------------------------------------------------------------------------

    def leg(self, a: Snap, b: Snap, profile: str, query: ThreadBound | None = None,
            cost: np.ndarray | None = None) -> Leg | None:
        """The least-cost leg from ``a`` to ``b``, or None if unreachable (the core's rules, the CCH's search)."""
        cost = self.weights(profile).cost_ms if cost is None else cost
        query = query or self.query(profile)
        tail, head = self.tail, self.head

        def search(sources: list[tuple[int, int]], targets: list[tuple[int, int]]):
            res = query.run_multi(sources, targets)
            dist = res.distance
            if dist is None:
                del res
                return None
            arcs = res.arc_path  # unpacked on reading, as is the node path, which only a path of no arc needs
            ends = (int(tail[arcs[0]]), int(head[arcs[-1]])) if arcs else (res.node_path[0],) * 2
            del res  # the binding wants each result dropped before the next query
            return int(dist), ends[0], ends[1], arcs

        return best_leg(a, b, cost, search, self.graph.edge_u, self.graph.edge_v, inf=INF_WEIGHT)

    def node_to_node(self, s: int, t: int, profile: str,
                     query: ThreadBound | None = None) -> tuple[int | None, list[int]]:
        """Least cost (ms) and arc path between two nodes: the benchmark's like-for-like query."""
        res = (query or self.query(profile)).run(int(s), int(t))
        out = (res.distance, list(res.arc_path))
        del res
        return out

    # -- routes ----------------------------------------------------------------------------------

    def route(self, points: list[tuple[float, float]], profile: str = DEFAULT_PROFILE, alternatives: int = 0,
              avoid: shapely.Geometry | None = None, *,
              names: Sequence[str | None] = (), instructions: bool = True) -> list[Route]:
        """The best route through ``points`` (start, vias, end), then up to ``alternatives`` others.

        ``names`` name the points that are places (the arrival instructions say them); without ``instructions``
        the routes have none (live re-routing needs the line and the figures only).
        """
        get_profile(profile)
        if len(points) < 2:
            raise TooManyPoints("a route needs at least a start and an end point")
        if len(points) > settings.MAX_ROUTE_POINTS:
            raise TooManyPoints(f"{len(points) - 2} via points; at most {settings.MAX_ROUTE_POINTS - 2} are allowed")
        snaps = self.snap(points)
        weights = self.weights(profile)
        cost, query = weights.cost_ms, self.query(profile)
        if avoid is not None:
            cost = self._avoid_costs(avoid, points, cost)
            query = self.query_on(self.custom_metric(cost))
        legs = self.legs(snaps, profile, query, cost, avoid is not None)
        best = build_route(self.graph, weights, legs, points, profile, names=names, instructions=instructions)
        routes = [best]
        if alternatives and len(points) == 2:
            routes += self._alternatives(snaps, profile, cost, legs[0], best, alternatives, weights, points,
                                         names, instructions=instructions)
        return routes

    def route_through(self, snaps: list[Snap], points: list, profile: str, *,
                      names: Sequence[str | None] = ()) -> Route:
        """The best route through already snapped points, with no limit on their number (for planners)."""
        legs = self.legs(snaps, profile, self.query(profile), self.weights(profile).cost_ms, False)
        return build_route(self.graph, self.weights(profile), legs, points, profile, names=names)

    def legs(self, snaps: list[Snap], profile: str, query, cost: np.ndarray, avoiding: bool = False) -> list[Leg]:
        """The least-cost leg between each pair of consecutive snapped points; NoRoute names the gap."""
        legs = []
        for i, (a, b) in enumerate(zip(snaps[:-1], snaps[1:])):
            leg = self.leg(a, b, profile, query, cost)
            if leg is None:
                why = " that avoids the given areas" if avoiding else ""
                raise NoRoute(f"no route{why} from point {i} to point {i + 1}", field="avoid" if avoiding else "points")
            legs.append(leg)
        return legs

    def _avoid_costs(self, avoid: shapely.Geometry, points, cost: np.ndarray) -> np.ndarray:
        """Costs with every arc that enters the avoid area closed; the area must not cover a point."""
        if avoid.is_empty or not avoid.is_valid:
            reason = "it is empty" if avoid.is_empty else shapely.is_valid_reason(avoid)
            raise InvalidAvoid(f"the avoid area is not a valid polygon: {reason}")
        for i, (lon, lat) in enumerate(points):
            if avoid.intersects(shapely.Point(lon, lat)):
                raise InvalidAvoid(f"the avoid area covers points[{i}]; a route cannot start, stop or end in it")
        area_m = geo.geometry_to_metric(avoid)
        hit = self.snapper.tree.query(area_m, predicate="intersects")
        out = cost.copy()
        out[2 * hit] = INF_WEIGHT
        out[2 * hit + 1] = INF_WEIGHT
        return out

    def _alternatives(self, snaps, profile, cost, best: Leg, best_route: Route, wanted: int, weights, points,
                      names, *, instructions: bool = True) -> list[Route]:
        """Other good routes by the penalty method: penalise the arcs found so far and search again."""
        penalised = cost.copy()
        metric = self.custom_metric(penalised)
        updater = rk.CCHMetricPartialUpdater(self.cch)
        found, out = [best], []
        for _ in range(settings.ALT_ITERATIONS):
            arcs = {p.arc for p in found[-1].pieces} | {p.arc ^ 1 for p in found[-1].pieces}
            changes = {a: int(min(INF_WEIGHT - 1, penalised[a] * settings.ALT_PENALTY)) for a in arcs
                       if penalised[a] < INF_WEIGHT}
            penalised[list(changes)] = list(changes.values())
            updater.apply(metric, changes)
            leg = self.leg(snaps[0], snaps[1], profile, self.query_on(metric), penalised)
            if leg is None:
                break
            found.append(leg)
            true_leg = leg.priced(cost)
            if true_leg.cost_ms > settings.ALT_MAX_DETOUR * best.cost_ms:
                break
            route = build_route(self.graph, weights, [true_leg], points, profile, names=names,
                                instructions=instructions)
            shared = [route.overlap_with(r) for r in [best_route, *out]]
            if max(shared) <= settings.ALT_MAX_OVERLAP:
                route.overlap = round(shared[0], 3)
                out.append(route)
                if len(out) == wanted:
                    break
        return out
