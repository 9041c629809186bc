"""Planner benchmark (issue 5): round trips, the TPN-style course, the 5-sites tour, isochrones, named circuits."""

from __future__ import annotations

import time

import numpy as np

from poi_data import load_catalogue
from poi_data.circuits import load_specs, resolver, route_circuit
from routing import landmarks, settings
from routing.build import BuildRequest, load_or_build
from routing.engine import Engine
from routing.planners.isochrone import isochrone
from routing.planners.loops import plan_loops
from routing.planners.matrix import cost_matrix
from routing.planners.order import brute_force_order
from routing.planners.stages import split_stages
from routing.planners.tour import Stop, plan_tour
from routing.planners.trail import plan_trail
from routing.settings import Settings

STARTS, TARGETS_KM, PROFILES = 50, (20, 40, 80), ("bike", "trail")
SITES = ("great-site-chm-lewarde", "great-site-arenberg", "great-site-fosse-9-9bis", "great-site-base-11-19",
         "great-site-cite-des-electriciens")


def _pct(values, q) -> float:
    return float(np.percentile(values, q))


def loops_table(engine: Engine, graph) -> list[str]:
    """50 random starts (seed 42) x 3 targets x 2 profiles: length error, reuse, spurs, time."""
    rng = np.random.default_rng(42)
    starts = rng.integers(0, graph.n_nodes, STARTS)
    rows = ["| profile | target | loops | |error| p50 | p95 | worst | within ±10 % | reused p50 | reused max | "
            "spurs | time p50 | p95 | max |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for profile in PROFILES:
        for km in TARGETS_KM:
            err, reuse, spurs, secs, failed = [], [], 0, [], 0
            for node in starts:
                start = (float(graph.node_lon[node]), float(graph.node_lat[node]))
                t0 = time.perf_counter()
                try:
                    loop = plan_loops(engine, start, km * 1000, profile, seed=int(node))[0]
                except Exception:  # noqa: BLE001 - counted and reported
                    failed += 1
                    continue
                secs.append(time.perf_counter() - t0)
                err.append(loop.length_error)
                reuse.append(loop.reused_share)
                spurs += loop.spurs
            a = np.abs(err)
            rows.append(f"| {profile} | {km} km | {len(err)}/{STARTS} | {_pct(a, 50):.1%} | {_pct(a, 95):.1%} | "
                        f"{err[int(np.argmax(a))]:+.1%} | "
                        f"{(a <= settings.LOOP_TOLERANCE).mean():.0%} | {_pct(reuse, 50):.1%} | {max(reuse):.1%} | "
                        f"{spurs} | {_pct(secs, 50) * 1000:.0f} ms | {_pct(secs, 95) * 1000:.0f} ms | "
                        f"{max(secs) * 1000:.0f} ms |")
    return rows


def run(cfg: Settings) -> str:
    graph, _, _ = load_or_build(cfg, BuildRequest())
    engine = Engine(graph, cfg.cache_dir)
    cat = load_catalogue(cfg, graph)
    places = landmarks.locate(cfg, graph, ("louvre_lens", "base_11_19"))
    engine.route([places["louvre_lens"], places["base_11_19"]], "trail")  # customise the metrics first

    def stop(pid):
        p = cat.get(pid)
        return Stop(p["lon"], p["lat"], p["id"], p["name"])

    t0 = time.perf_counter()
    tour = plan_tour(engine, Stop(*places["louvre_lens"], id="louvre-lens", name="Louvre-Lens"),
                     [stop(s) for s in SITES], "bike", workers=cfg.workers)
    tour_s = time.perf_counter() - t0
    snaps = engine.snap([(tour.start.lon, tour.start.lat)] + [(s.lon, s.lat) for s in tour.stops])
    matrix = cost_matrix(engine, snaps, "bike")
    t0 = time.perf_counter()
    brute = brute_force_order(matrix)
    brute_s = time.perf_counter() - t0
    solver_cost = int(matrix[list(range(6)), [1, 2, 3, 4, 5, 0]].sum())
    lodging = [stop(p["id"]) for p in cat.by_theme("lodging")]
    stages = split_stages(engine, tour.route, lodging, daily_distance_m=50_000)

    t0 = time.perf_counter()
    tpn = plan_trail(engine, Stop(*places["louvre_lens"]), 110_000, 20, workers=cfg.workers)
    tpn_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    short = plan_trail(engine, Stop(*places["base_11_19"]), 30_000, 5, workers=cfg.workers)
    short_s = time.perf_counter() - t0

    isochrone(engine, places["louvre_lens"], 30, "bike")  # the first call builds the profile's time graph
    iso_times = []
    for _ in range(20):
        t0 = time.perf_counter()
        iso = isochrone(engine, places["louvre_lens"], 30, "bike")
        iso_times.append(time.perf_counter() - t0)

    specs = load_specs()
    resolve = resolver(cfg, engine, cat, specs)
    circuits = [route_circuit(cfg, engine, cid, spec, resolve) for cid, spec in specs.items()]
    loops = loops_table(engine, graph)

    order_names = " → ".join(["Louvre-Lens", *(s.name for s in tour.stops), "Louvre-Lens"])
    return "\n".join([
        "## Planners (issue 5)",
        "",
        f"Round trips: {STARTS} random graph nodes (seed 42) as starts, each target and profile, one loop each "
        f"(`plan_loops(seed=node)`). Tolerance ±{settings.LOOP_TOLERANCE:.0%}; *reused* is the share of the "
        "length on a way the loop has already used; *spurs* counts turn-backs on the way just travelled.",
        "",
        *loops,
        "",
        "The 5 great mining sites by bike from the Louvre-Lens (loop):",
        "",
        "| figure | value |",
        "|---|---|",
        f"| chosen order | {order_names} |",
        f"| total | {tour.route.distance_m / 1000:.1f} km, ascent {tour.route.ascent_m:.0f} m |",
        f"| solver | CP-SAT, optimal proven: {tour.order.optimal}, {tour_s * 1000:.0f} ms including routing |",
        f"| brute force over all {len(SITES)}! orders | cost {brute.cost} ms vs solver {solver_cost} ms: "
        f"{'identical' if brute.cost == solver_cost else 'DIFFERENT'} ({brute_s * 1000:.1f} ms) |",
        "| stages at 50 km/day | " + "; ".join(
            f"day {s.day}: {s.distance_m / 1000:.1f} km, +{s.ascent_m:.0f} m"
            + (f", {s.lodging['name']} ({s.lodging['detour_m'] / 1000:.1f} km off)" if s.lodging else ", finish")
            for s in stages) + " |",
        "",
        "Trail courses over terrils (CP-SAT prize-collecting circuit; relief = summit minus rim):",
        "",
        "| course | km | terrils (distinct) | ascent | build time | optimal |",
        "|---|---|---|---|---|---|",
        f"| TPN-style, 110 km / 20 terrils from the Louvre-Lens | {tpn.route.distance_m / 1000:.1f} | "
        f"{len({s['number'] for s in tpn.summits})} | {tpn.route.ascent_m:.0f} m | {tpn_s:.1f} s | {tpn.optimal} |",
        f"| 30 km / 5 terrils from the Base 11/19 | {short.route.distance_m / 1000:.1f} | "
        f"{len({s['number'] for s in short.summits})} | {short.route.ascent_m:.0f} m | {short_s:.1f} s | "
        f"{short.optimal} |",
        "",
        "TPN-style summits: " + ", ".join(f"{s['number']} {s['height_m']:.0f} m @ km {s['km']}" for s in tpn.summits),
        "",
        f"Isochrone, 30 min by bike from the Louvre-Lens, bands 10/20/30 min: p50 "
        f"{_pct(iso_times, 50) * 1000:.0f} ms, max {max(iso_times) * 1000:.0f} ms (20 runs after the first); areas "
        + ", ".join(f"{f['properties']['minutes']:.0f} min {f['properties']['area_km2']} km²"
                    for f in iso.to_geojson()["features"]) + ".",
        "",
        "Named circuits (`poi_data/circuits.toml`):",
        "",
        "| circuit | kind | profile | km | ascent | cavaliers | EV5 | build |",
        "|---|---|---|---|---|---|---|---|",
        *[f"| {c.id} | {c.spec['kind']} | {c.spec['profile']} | {c.route.distance_m / 1000:.1f} | "
          f"{c.route.ascent_m:.0f} m | {c.route.cavalier_share:.1%} | {c.route.ev5_share:.1%} | {c.build_s:.1f} s |"
          for c in circuits],
    ])
