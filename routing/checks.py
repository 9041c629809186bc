"""Acceptance figures of a compiled graph, shared by the tests and ``make bench``."""

from __future__ import annotations

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from . import geo, settings
from .compiled import CompiledGraph
from .snap import EdgeSnapper, nearest_node
from .sources import ev5
from .sources.tiles import lonlat_to_pixels


def walk_distances_km(graph: CompiledGraph, nodes: list[int]) -> np.ndarray:
    """Shortest walking distance (km, undirected) between every pair of the given node indices."""
    n = graph.n_nodes
    adj = coo_matrix((graph.edge_length, (graph.edge_u, graph.edge_v)), shape=(n, n)).tocsr()
    dist = dijkstra(adj, directed=False, indices=nodes)
    return dist[:, nodes] / 1000.0


FOUNDATION_PLACES = ("chm_lewarde", "base_11_19", "fosse_9_9bis", "arenberg", "cite_electriciens", "louvre_lens",
                     "t074_summit", "t094")


def snap_and_reach(graph: CompiledGraph, places: dict[str, tuple[float, float]]) -> dict:
    """Snap distance (m) of each place, and the walking distance matrix (km) between them."""
    snapper = EdgeSnapper(graph)
    keys = list(places)
    snaps = snapper.snap_many(np.array([places[k][0] for k in keys]), np.array([places[k][1] for k in keys]))
    nodes = [nearest_node(graph, s) for s in snaps]
    return {
        "snap_m": {k: round(s.distance_m, 1) for k, s in zip(keys, snaps)},
        "keys": keys,
        "km": walk_distances_km(graph, nodes),
    }


def terril_max_node_elevation(graph: CompiledGraph, number: str) -> float:
    """Elevation of the highest graph node on the given terril (NaN if none lies on it)."""
    idx = [i for i, t in enumerate(graph.meta["terrils"]) if t["number"] == number]
    on = np.isin(graph.node_terril, idx)
    return float(graph.node_elevation[on].max()) if on.any() else float("nan")


def ev5_stretch(graph: CompiledGraph, gpx_path, box: tuple[float, float, float, float]) -> dict:
    """EV5 km in ``box``: the relation's own (GPX) against the graph's EV5 edges, both clipped to it."""
    clip = shapely.box(*box)

    def metric_length(lines) -> float:
        total = 0.0
        for line in lines:
            part = shapely.intersection(line, clip)
            if not part.is_empty:
                total += shapely.length(geo.geometry_to_metric(part))
        return total / 1000.0

    relation = [shapely.linestrings(seg) for seg in ev5.read_gpx_segments(gpx_path)]
    edges = graph.edge_geometries()[graph.edge_ev5]
    rel_km, graph_km = metric_length(relation), metric_length(edges)
    return {"relation_km": round(rel_km, 2), "graph_km": round(graph_km, 2),
            "ratio": round(graph_km / rel_km, 3) if rel_km else float("nan")}


def border_nodes(graph: CompiledGraph) -> dict:
    """Nodes lying exactly on a tile border, inside the bbox, and how many ways meet there.

    A correct stitch leaves no way *ending* on a border: a node there has 2+ ways unless a real
    way really ends on the line, which is rare.
    """
    px, py = lonlat_to_pixels(graph.node_lon, graph.node_lat)
    ext = settings.TILE_EXTENT
    on_x = np.abs(px / ext - np.round(px / ext)) * ext < 0.2
    on_y = np.abs(py / ext - np.round(py / ext)) * ext < 0.2
    w, s, e, n = graph.meta["bbox"]
    inner = (graph.node_lon > w + 1e-5) & (graph.node_lon < e - 1e-5) & (graph.node_lat > s + 1e-5) & (
        graph.node_lat < n - 1e-5)
    on_border = (on_x | on_y) & inner
    degree = np.bincount(graph.edge_u, minlength=graph.n_nodes) + np.bincount(graph.edge_v, minlength=graph.n_nodes)
    return {"on_border": int(on_border.sum()), "dead_ends_on_border": int((on_border & (degree == 1)).sum()),
            "degree2_on_border": int((on_border & (degree == 2)).sum())}


def sample_points(graph: CompiledGraph, n: int, seed: int) -> list[tuple[float, float]]:
    """Reproducible real places: points 0-40 m off the middle vertex of random ways of the graph."""
    rng = np.random.default_rng(seed)
    edges = rng.integers(0, len(graph.edge_u), n)
    mid = (graph.geom_offsets[edges] + graph.geom_offsets[edges + 1]) // 2
    jitter = rng.uniform(-0.0004, 0.0004, (n, 2))
    return [(float(x), float(y)) for x, y in zip(graph.geom_lon[mid] + jitter[:, 0],
                                                 graph.geom_lat[mid] + jitter[:, 1] * 0.6)]
