"""Routing engine benchmark (issue 4): CCH against networkx on 1,000 random pairs per profile."""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor

import networkx as nx
import numpy as np

from routing import landmarks
from routing.build import BuildRequest, load_or_build
from routing.engine import Engine
from routing.profiles import PROFILES, arc_weights
from routing.settings import Settings

PAIRS = 1000
FULL_ROUTE_PAIRS = 200
SEED = 42


def _digraph(engine_tail: np.ndarray, engine_head: np.ndarray, cost: np.ndarray) -> nx.DiGraph:
    """networkx's view of the same arcs and integer weights (the cheaper of parallel arcs)."""
    best: dict[tuple[int, int], int] = {}
    for t, h, c in zip(engine_tail.tolist(), engine_head.tolist(), cost.tolist()):
        if c < best.get((t, h), 1 << 62):
            best[(t, h)] = c
    G = nx.DiGraph()
    G.add_weighted_edges_from((t, h, c) for (t, h), c in best.items())
    return G


def _nx_worker(job: tuple[str, list[tuple[int, int]]]) -> list[tuple[int | None, float]]:
    """Run networkx's bidirectional Dijkstra on a share of the pairs, in its own process."""
    profile, pairs = job
    graph, _, _ = load_or_build(Settings.from_env(), BuildRequest())
    cost = arc_weights(graph, PROFILES[profile]).cost_ms
    tail = np.empty(2 * len(graph.edge_u), dtype=np.int64)
    head = np.empty_like(tail)
    tail[0::2], head[0::2], tail[1::2], head[1::2] = graph.edge_u, graph.edge_v, graph.edge_v, graph.edge_u
    G = _digraph(tail, head, cost)
    out = []
    for s, t in pairs:
        started = time.perf_counter()
        try:
            length, _ = nx.bidirectional_dijkstra(G, s, t)
        except nx.NetworkXNoPath:
            length = None
        out.append((length, time.perf_counter() - started))
    return out


def _ms(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)) * 1000, 3)


def run(cfg: Settings) -> str:
    graph, _, _ = load_or_build(cfg, BuildRequest())
    started = time.perf_counter()
    engine = Engine(graph, cfg.cache_dir)
    init_s = time.perf_counter() - started
    rng = np.random.default_rng(SEED)
    pairs = [(int(s), int(t)) for s, t in rng.integers(0, graph.n_nodes, size=(PAIRS, 2))]
    rows, check_rows = [], []
    for profile in PROFILES:
        started = time.perf_counter()
        engine.metric(profile)
        custom_s = time.perf_counter() - started
        cch_cost, cch_time = [], []
        query = engine.query(profile)
        for s, t in pairs:
            t0 = time.perf_counter()
            dist, _ = engine.node_to_node(s, t, profile, query)
            cch_time.append(time.perf_counter() - t0)
            cch_cost.append(dist)
        full = []
        for s, t in pairs[:FULL_ROUTE_PAIRS]:
            pts = [(graph.node_lon[s], graph.node_lat[s]), (graph.node_lon[t], graph.node_lat[t])]
            t0 = time.perf_counter()
            engine.route(pts, profile)
            full.append(time.perf_counter() - t0)
        with ProcessPoolExecutor(max_workers=2) as pool:
            halves = list(pool.map(_nx_worker, [(profile, pairs[0::2]), (profile, pairs[1::2])]))
        nx_res = [None] * PAIRS
        nx_res[0::2], nx_res[1::2] = halves[0], halves[1]
        nx_time = [r[1] for r in nx_res]
        rel = [0.0 if a == b else (abs(a - b) / max(abs(b), 1) if a is not None and b is not None else float("inf"))
               for a, b in zip(cch_cost, (r[0] for r in nx_res))]
        identical = sum(r <= 1e-6 for r in rel)
        rows.append(
            f"| {profile} | {custom_s:.2f} | {_ms(cch_time, 50)} | {_ms(cch_time, 95)} | {_ms(full, 50)} | "
            f"{_ms(full, 95)} | {_ms(nx_time, 50)} | {np.median(nx_time) / np.median(cch_time):,.0f}× | "
            f"{identical}/{PAIRS} | {max(rel):.1e} |")
    check_rows = real_routes(cfg, graph, engine)
    return "\n".join([
        "## Routing engine (issue 4)",
        "",
        f"Whole-basin graph `{graph.data_version}`: {graph.n_nodes:,} nodes, {graph.n_edges:,} arcs. RoutingKit CCH "
        f"(routingkit-cch); engine start with the cached nested-dissection order: {init_s:.1f} s.",
        f"{PAIRS} random node pairs (seed {SEED}) per profile. *search* is the CCH query alone; *route()* is the full "
        f"request from two points (snap to edges, search, geometry, profile, instructions) on the first "
        f"{FULL_ROUTE_PAIRS} pairs; networkx is `bidirectional_dijkstra` on a DiGraph of the same arcs and the same "
        "integer weights (ms of cost), timed per query in two worker processes.",
        "",
        "| profile | customise (s) | search p50 (ms) | search p95 (ms) | route() p50 (ms) | route() p95 (ms) | "
        "networkx p50 (ms) | networkx / search | identical costs | max rel. diff |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Real routes on the whole graph:",
        "",
        "| route | profile | km | ascent (m) | raw vertex ascent (m) | EV5 share | cavalier share |",
        "|---|---|---|---|---|---|---|",
        *check_rows,
    ])


def real_routes(cfg: Settings, graph, engine: Engine) -> list[str]:
    pl = landmarks.locate(cfg, graph, ("louvre_lens", "base_11_19", "lens", "don"))
    cases = [("Louvre-Lens → Base 11/19", "louvre_lens", "base_11_19", p) for p in ("bike", "trail", "road_bike")]
    cases += [("Lens → Don (flat EV5, phantom-climb check)", "lens", "don", p) for p in ("bike", "walk")]
    rows = []
    for label, a, b, profile in cases:
        r = engine.route([pl[a], pl[b]], profile)[0]
        raw = float(np.clip(np.diff(r.coordinates[:, 2]), 0, None).sum())
        rows.append(f"| {label} | {profile} | {r.distance_m / 1000:.2f} | {r.ascent_m:.0f} | {raw:.0f} | "
                    f"{r.ev5_share:.0%} | {r.cavalier_share:.0%} |")
    return rows
