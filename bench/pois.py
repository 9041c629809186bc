"""POI catalogue benchmark (issue 3): counts, snapping distribution and query times on the whole basin."""

from __future__ import annotations

import time

import numpy as np

from poi_data import load_catalogue
from routing.build import BuildRequest, load_or_build
from routing.engine import Engine
from routing.settings import Settings

REPEAT = 200


def _time(fn, repeat: int = REPEAT) -> tuple[float, float]:
    samples = []
    for i in range(repeat):
        t0 = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - t0)
    return float(np.percentile(samples, 50)) * 1000, float(np.percentile(samples, 95)) * 1000


def run(cfg: Settings) -> str:
    graph, _, _ = load_or_build(cfg, BuildRequest())
    started = time.perf_counter()
    cat = load_catalogue(cfg, graph)
    load_s = time.perf_counter() - started
    counts = cat.counts()
    snap = np.array([p["snap"]["distance_m"] for p in cat.pois])
    key = np.array([p["snap"]["distance_m"] for p in cat.pois if p["key"]])
    engine = Engine(graph, cfg.cache_dir)
    louvre, t074a = cat.get("louvre-lens"), cat.get("terril-t074a")
    route = engine.route([(louvre["lon"], louvre["lat"]), (t074a["lon"], t074a["lat"])], "walk")[0]
    along = cat.along(route.coordinates, 200)
    rng = np.random.default_rng(3)
    pts = np.column_stack([rng.uniform(2.4, 3.6, REPEAT), rng.uniform(50.3, 50.6, REPEAT)])
    ids = [cat.pois[i]["id"] for i in rng.integers(0, len(cat), REPEAT)]
    words = ["louvre", "arenberg", "lewarde", "11/19", "T074", "beffroi", "gare", "cite", "terril", "velo"]
    queries = [
        ("by id", lambda i: cat.get(ids[i])),
        ("by theme (terrils)", lambda i: cat.by_theme("terrils")),
        ("bounding box 2 km × 2 km",
         lambda i: cat.in_bbox((pts[i, 0], pts[i, 1], pts[i, 0] + 0.028, pts[i, 1] + 0.018))),
        ("nearest 10 within 2 km", lambda i: cat.nearest(pts[i, 0], pts[i, 1], 2000, 10)),
        ("free text", lambda i: cat.search(words[i % len(words)])),
        ("along a 3.8 km route, 200 m corridor", lambda i: cat.along(route.coordinates, 200)),
    ]
    rows = [f"| {label} | {p50:.3f} | {p95:.3f} |" for label, fn in queries for p50, p95 in [_time(fn)]]
    counts_row = ", ".join(f"{t} {n:,}" for t, n in counts.items())
    return "\n".join([
        "## POI catalogue (issue 3)",
        "",
        f"{len(cat):,} POIs, loaded from the cache in {load_s:.2f} s. Per theme: {counts_row}.",
        f"Skipped while building: {cat.report.get('skipped', {})}; outside the data area: "
        f"{cat.report.get('outside_area', {})}.",
        "",
        "| snap distance to the graph (m) | p50 | p90 | p99 | max |",
        "|---|---|---|---|---|",
        f"| all POIs | {np.percentile(snap, 50):.1f} | {np.percentile(snap, 90):.1f} | {np.percentile(snap, 99):.1f} | "
        f"{snap.max():.1f} |",
        f"| the {len(key)} key places | {np.percentile(key, 50):.1f} | {np.percentile(key, 90):.1f} | "
        f"{np.percentile(key, 99):.1f} | {key.max():.1f} |",
        "",
        f"Key places and terrils within 200 m of the walking route Louvre-Lens → past the 11/19 → terril 74A "
        f"({route.distance_m / 1000:.1f} km), in "
        "order: " + ", ".join(f"{h.poi['name']} ({h.along_m:.0f} m)" for h in along if h.poi["key"]
                              or "terrils" in h.poi["themes"]) + ".",
        "",
        f"Query times over {REPEAT} runs each:",
        "",
        "| query | p50 (ms) | p95 (ms) |",
        "|---|---|---|",
        *rows,
    ])
