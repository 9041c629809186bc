"""Snapping and least-cost search on a bundle's graph, in plain Python.

A profile's own costs are searched on its customised hierarchy (``cch.Metric.query``: milliseconds);
costs changed for one request (a round trip penalising the ways it has used) by a bidirectional
Dijkstra on the adjacency arrays. Everything around the search (the typed values, the seeds at both
ends of a snapped way, the path along one way, the pieces of a searched path) is the routing core's
(``routing.core``), which the server's CCH search uses too, so both find the same least cost.
"""

from __future__ import annotations

import heapq
import math

from ..core import EARTH_RADIUS_M, Leg, Snap, best_leg
from ..errors import NoRoute, OutOfArea, TooFarFromRoad
from ..settings import MAX_SNAP_M
from .cch import Metric
from .graph import OfflineGraph


def _project(graph: OfflineGraph, edge: int, lon: float, lat: float) -> tuple[float, float, float, float]:
    """Distance (m) from a point to an edge, the fraction of the edge's length where it is closest, and that
    closest point (lon, lat)."""
    k = math.cos(math.radians(lat)) * math.radians(1) * EARTH_RADIUS_M
    ky = math.radians(1) * EARTH_RADIUS_M
    pts = [((x - lon) * k, (y - lat) * ky) for x, y, _ in graph.edge_vertices(edge)]
    best, best_at, near, walked = math.inf, 0.0, (0.0, 0.0), 0.0
    for (x1, y1), (x2, y2) in zip(pts, pts[1:]):
        dx, dy = x2 - x1, y2 - y1
        seg = math.hypot(dx, dy)
        t = 0.0 if seg == 0 else max(0.0, min(1.0, -(x1 * dx + y1 * dy) / (seg * seg)))
        d = math.hypot(x1 + t * dx, y1 + t * dy)
        if d < best:
            best, best_at, near = d, walked + t * seg, (x1 + t * dx, y1 + t * dy)
        walked += seg
    return best, (best_at / walked if walked > 0 else 0.0), lon + near[0] / k, lat + near[1] / ky


def _nearest_in(graph: OfflineGraph, edges: set[int], lon: float, lat: float) -> Snap | None:
    """The closest of ``edges`` (the lowest edge number among equals): the ways in order of their bounding box's
    distance, until a box lies farther than the nearest way found."""
    a, scale = graph.a, graph.header["coord_scale"]
    kx = math.cos(math.radians(lat)) * math.radians(1) * EARTH_RADIUS_M / scale
    ky = math.radians(1) * EARTH_RADIUS_M / scale
    px, py = lon * scale, lat * scale
    w, s, e, n = a["box_w"], a["box_s"], a["box_e"], a["box_n"]
    near = sorted((math.hypot(max(w[k] - px, 0.0, px - e[k]) * kx, max(s[k] - py, 0.0, py - n[k]) * ky), k)
                  for k in edges)
    best: Snap | None = None
    for box_m, edge in near:
        if best is not None and box_m > best.distance_m:
            break
        d, f, plon, plat = _project(graph, edge, lon, lat)
        if best is None or (d, edge) < (best.distance_m, best.edge):
            best = Snap(edge, f, d, plon, plat)
    return best


def snap(graph: OfflineGraph, lon: float, lat: float, field: str) -> Snap:
    """The nearest edge within MAX_SNAP_M: first among the ways of the point's grid cell, then among those of the
    neighbouring cells that come nearer than that (the 3 × 3 cells around a point cover the limit)."""
    w, s, e, n = graph.header["bbox"]
    if not (w - 1e-6 <= lon <= e + 1e-6 and s - 1e-6 <= lat <= n + 1e-6):
        raise OutOfArea(f"{field} ({lon:g}, {lat:g}) lies outside the bundle, lon {w:g}..{e:g}, lat {s:g}..{n:g}",
                        field=field)
    own = graph.cell_edges(lon, lat, ring=0)
    best = _nearest_in(graph, own, lon, lat)
    reach = min(best.distance_m, MAX_SNAP_M) if best else MAX_SNAP_M
    other = _nearest_in(graph, graph.neighbour_edges(lon, lat, reach) - own, lon, lat)
    if other is not None and (best is None or (other.distance_m, other.edge) < (best.distance_m, best.edge)):
        best = other
    if best is None or best.distance_m > MAX_SNAP_M:
        far = f"{best.distance_m:.0f} m" if best else f"over {MAX_SNAP_M:.0f} m"
        raise TooFarFromRoad(f"{field} is {far} from the nearest way; the limit is {MAX_SNAP_M:.0f} m", field=field)
    return best


def _bidirectional(graph: OfflineGraph, cost, sources, targets) -> tuple[int, int, int, list[int]] | None:
    """Least cost from any seeded source to any seeded target: (cost, first node, last node, arcs)."""
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
    arcs, start, end = _arcs_through(parent, meet)
    return int(best), start, end, arcs


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


def leg(graph: OfflineGraph, a: Snap, b: Snap, cost, metric: Metric | None = None) -> Leg:
    """The least-cost leg between two snapped points (the core's rules around this module's search): on the
    hierarchy ``metric`` when the costs are its profile's, else by Dijkstra on ``cost``. NoRoute if there is none."""
    search = metric.query if metric is not None else \
        (lambda sources, targets: _bidirectional(graph, cost, sources, targets))
    found = best_leg(a, b, cost, search, graph.edge_u, graph.edge_v, inf=graph.header["inf_cost"])
    if found is None:
        raise NoRoute("no route between these points in the bundle", field="points")
    return found
