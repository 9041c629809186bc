"""Snapping and least-cost search on a bundle's compact graph, in plain Python.

The search is a bidirectional Dijkstra seeded from both ends of the snapped edges with the partial
costs, exactly as the server seeds its CCH query, so both find the same least cost. It is the
reference a mobile developer ports; it needs no speed-up structure, only the CSR arrays.

The seeding, the one-edge case and the partial end pieces restate ``routing.engine`` (``ends``,
``direct``, ``_pieces``) and ``routing.route`` on purpose: those work on numpy arrays and the CCH, and
this package must run where only a bundle and the standard library are.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from ..errors import NoRoute, OutOfArea, TooFarFromRoad
from ..settings import MAX_SNAP_M
from .graph import OfflineGraph

#: osmnx's mean Earth radius, so lengths agree with the server's.
EARTH_RADIUS_M = 6_371_009.0


@dataclass(frozen=True)
class Snap:
    """Where a point meets the graph: edge, fraction along it from u (0..1), distance (m)."""

    edge: int
    fraction: float
    distance_m: float


@dataclass(frozen=True)
class Piece:
    """Arc ``arc`` travelled from fraction ``lo`` to ``hi`` of its length, in its own direction."""

    arc: int
    lo: float
    hi: float


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance, as osmnx's ``great_circle``."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _project(graph: OfflineGraph, edge: int, lon: float, lat: float) -> tuple[float, float]:
    """Distance (m) from a point to an edge and the fraction of the edge's length where it is closest."""
    k = math.cos(math.radians(lat)) * math.radians(1) * EARTH_RADIUS_M
    ky = math.radians(1) * EARTH_RADIUS_M
    pts = [((x - lon) * k, (y - lat) * ky) for x, y, _ in graph.edge_vertices(edge)]
    best, best_at, walked = math.inf, 0.0, 0.0
    for (x1, y1), (x2, y2) in zip(pts, pts[1:]):
        dx, dy = x2 - x1, y2 - y1
        seg = math.hypot(dx, dy)
        t = 0.0 if seg == 0 else max(0.0, min(1.0, -(x1 * dx + y1 * dy) / (seg * seg)))
        d = math.hypot(x1 + t * dx, y1 + t * dy)
        if d < best:
            best, best_at = d, walked + t * seg
        walked += seg
    return best, (best_at / walked if walked > 0 else 0.0)


def snap(graph: OfflineGraph, lon: float, lat: float, field: str) -> Snap:
    """The nearest edge within MAX_SNAP_M; the 3 × 3 grid cells around a point cover that radius."""
    w, s, e, n = graph.header["bbox"]
    if not (w - 1e-6 <= lon <= e + 1e-6 and s - 1e-6 <= lat <= n + 1e-6):
        raise OutOfArea(f"{field} ({lon:g}, {lat:g}) lies outside the bundle, lon {w:g}..{e:g}, lat {s:g}..{n:g}",
                        field=field)
    best: Snap | None = None
    for edge in sorted(graph.cell_edges(lon, lat, ring=1)):
        d, f = _project(graph, edge, lon, lat)
        if best is None or d < best.distance_m:
            best = Snap(edge, f, d)
    if best is None or best.distance_m > MAX_SNAP_M:
        far = f"{best.distance_m:.0f} m" if best else f"over {MAX_SNAP_M:.0f} m"
        raise TooFarFromRoad(f"{field} is {far} from the nearest way; the limit is {MAX_SNAP_M:.0f} m", field=field)
    return best


def _entries(graph: OfflineGraph, sn: Snap, cost, outgoing: bool) -> list[tuple[int, int]]:
    """Search seeds of a snapped point: (node, initial cost) at each end of its edge it can use."""
    inf, e, f = graph.header["inf_cost"], sn.edge, sn.fraction
    fwd, back = cost[2 * e], cost[2 * e + 1]
    u, v = graph.edge_u[e], graph.edge_v[e]
    cands = [(v, fwd, 1 - f), (u, back, f)] if outgoing else [(u, fwd, f), (v, back, 1 - f)]
    return [(node, int(round(w * share))) for node, w, share in cands if w < inf]


def _direct(graph: OfflineGraph, a: Snap, b: Snap, cost) -> tuple[int, list[Piece]] | None:
    """The path along one edge when both points snap to it."""
    if a.edge != b.edge:
        return None
    e = a.edge
    arc, lo, hi = (2 * e, a.fraction, b.fraction) if b.fraction >= a.fraction else \
        (2 * e + 1, 1 - a.fraction, 1 - b.fraction)
    if cost[arc] >= graph.header["inf_cost"]:
        return None
    return int(round(cost[arc] * (hi - lo))), [Piece(arc, lo, hi)]


def _bidirectional(graph: OfflineGraph, cost, sources, targets) -> tuple[int, list[int], int, int] | None:
    """Least cost from any seeded source to any seeded target: (cost, arcs, first node, last node)."""
    first, head, arc_id, inf = graph.a["first_out"], graph.a["arc_head"], graph.a["arc_id"], graph.header["inf_cost"]
    dist = ({}, {})
    parent: tuple[dict, dict] = ({}, {})
    heaps: tuple[list, list] = ([], [])
    for side, seeds in ((0, sources), (1, targets)):
        for node, c in seeds:
            if c < dist[side].get(node, math.inf):
                dist[side][node], parent[side][node] = c, None
                heaps[side].append((c, node))
        heapq.heapify(heaps[side])
    best, meet = math.inf, None
    for node in dist[0].keys() & dist[1].keys():
        if dist[0][node] + dist[1][node] < best:
            best, meet = dist[0][node] + dist[1][node], node
    while heaps[0] or heaps[1]:
        tops = [h[0][0] if h else math.inf for h in heaps]
        if tops[0] + tops[1] >= best:
            break
        side = 0 if tops[0] <= tops[1] else 1
        d, x = heapq.heappop(heaps[side])
        if d > dist[side][x]:
            continue
        mine, other, par = dist[side], dist[1 - side], parent[side]
        for k in range(first[x], first[x + 1]):
            arc = arc_id[k] if side == 0 else arc_id[k] ^ 1  # backwards: the arc from the neighbour to x
            w = cost[arc]
            if w >= inf:
                continue
            y, nd = head[k], d + w
            if nd < mine.get(y, math.inf):
                mine[y], par[y] = nd, (x, arc)
                heapq.heappush(heaps[side], (nd, y))
                if y in other and nd + other[y] < best:
                    best, meet = nd + other[y], y
    if meet is None:
        return None
    return int(best), *_arcs_through(parent, meet)


def _arcs_through(parent: tuple[dict, dict], meet: int) -> tuple[list[int], int, int]:
    """Arcs of the path through ``meet``, with its first and last node."""
    back, node = [], meet
    while parent[0][node] is not None:
        node, arc = parent[0][node]
        back.append(arc)
    start, arcs, node = node, back[::-1], meet
    while parent[1][node] is not None:
        node, arc = parent[1][node]
        arcs.append(arc)
    return arcs, start, node


def leg(graph: OfflineGraph, a: Snap, b: Snap, cost) -> tuple[int, list[Piece]]:
    """The least-cost path between two snapped points as (cost ms, arc pieces); NoRoute if none."""
    best = _direct(graph, a, b, cost)
    found = _bidirectional(graph, cost, _entries(graph, a, cost, True), _entries(graph, b, cost, False))
    if found is not None and (best is None or found[0] < best[0]):
        total, arcs, start, end = found
        ea, eb = a.edge, b.edge
        head_piece = Piece(2 * ea, a.fraction, 1.0) if start == graph.edge_v[ea] else \
            Piece(2 * ea + 1, 1 - a.fraction, 1.0)
        tail_piece = Piece(2 * eb, 0.0, b.fraction) if end == graph.edge_u[eb] else \
            Piece(2 * eb + 1, 0.0, 1 - b.fraction)
        best = total, [head_piece, *(Piece(arc, 0.0, 1.0) for arc in arcs), tail_piece]
    if best is None:
        raise NoRoute("no route between these points in the bundle", field="points")
    return best
