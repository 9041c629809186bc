"""``make bench``: measure the acceptance figures on the whole basin and write BENCHMARKS.md.

Each section runs in this one process (or a child for the cold build, so its peak memory is its
own) and reports the machine and the command, so the figures can be reproduced.
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench import bundles as bundles_bench
from bench import courses as courses_bench
from bench import engine as engine_bench
from bench import fuzz as fuzz_bench
from bench import gpx as gpx_bench
from bench import hardening as hardening_bench
from bench import load as load_bench
from bench import offline as offline_bench
from bench import planner as planner_bench
from bench import planners as planners_bench
from bench import pois as pois_bench
from bench import races as races_bench
from bench import sheets as sheets_bench
from bench import throughput as throughput_bench
from routing import checks, landmarks
from routing.build import BuildRequest, load_or_build
from routing.compiled import CompiledGraph
from routing.io import atomic_write
from routing.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
EV5_STRETCH_BOX = (2.55, 50.38, 2.85, 50.56)  # Béthune (2.64, 50.53) … Olhain … Angres … Lens (2.82, 50.43)


def machine() -> str:
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    py = platform.python_version()
    return f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GiB RAM, Python {py}, {platform.system()}"


def cold_build() -> dict:
    """Build the whole basin into an empty cache in a child process; time and peak memory."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "routing.cli", "build", "--bbox", "basin", "--cache-dir", tmp, "--quiet"]
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
    # The largest waited-for descendant: the build process (its tile workers are smaller).
    rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": round(wall, 1), "peak_mb": round(rss_kb / 1024), "summary": proc.stdout}


def warm_load(cfg: Settings) -> tuple[CompiledGraph, dict]:
    load_or_build(cfg, BuildRequest())  # make sure the cache holds it
    started = time.perf_counter()
    graph, path, built = load_or_build(cfg, BuildRequest())
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    G = graph.to_networkx()
    nx_s = time.perf_counter() - started
    assert not built
    return graph, {"load_s": round(load_s, 2), "networkx_view_s": round(nx_s, 1), "path": str(path),
                   "nx_nodes": G.number_of_nodes(), "nx_edges": G.number_of_edges()}


def foundation(cfg: Settings) -> str:
    cold = cold_build()
    graph, warm = warm_load(cfg)
    stats = graph.meta["stats"]
    places = landmarks.locate(cfg, graph, checks.FOUNDATION_PLACES)
    reach = checks.snap_and_reach(graph, places)
    km = reach["km"]
    ev5 = checks.ev5_stretch(graph, cfg.ev5_gpx, EV5_STRETCH_BOX)
    t074 = checks.terril_max_node_elevation(graph, "T074")
    labels = {lm.key: lm.label for lm in landmarks.LANDMARKS}
    rows = [f"| {labels[k]} | {places[k][0]:.5f}, {places[k][1]:.5f} | {reach['snap_m'][k]:.1f} |"
            for k in reach["keys"]]
    matrix_head = "| km | " + " | ".join(f"{i + 1}" for i in range(len(reach["keys"]))) + " |"
    matrix = [matrix_head, "|" + "---|" * (len(reach["keys"]) + 1)]
    matrix += [f"| {i + 1} {reach['keys'][i]} | " + " | ".join(f"{v:.1f}" for v in km[i]) + " |"
               for i in range(len(reach["keys"]))]
    return "\n".join([
        "## Foundation: the graph of the whole basin (issue 2)",
        "",
        f"Data version `{graph.data_version}`, {graph.meta['request']}.",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| cold build, whole basin | {cold['seconds']} s | < 300 s |",
        f"| cold build peak memory (max RSS of the build process) | {cold['peak_mb']} MB | < 4,000 MB |",
        f"| warm load of the compiled graph | {warm['load_s']} s | < 10 s |",
        f"| networkx MultiDiGraph view, built on demand | {warm['networkx_view_s']} s | |",
        f"| nodes / directed edges | {graph.n_nodes:,} / {graph.n_edges:,} | |",
        f"| walk/bike nodes in the kept component | {stats['lcc_share']:.2%} | ≥ 98 % |",
        f"| highest node on terril T074 | {t074:.1f} m | 180–190 m |",
        f"| EV5 km in the Béthune–Lens box {EV5_STRETCH_BOX}: relation / graph | "
        f"{ev5['relation_km']} / {ev5['graph_km']} (ratio {ev5['ratio']}) | within 15 % |",
        f"| cavaliers | {stats['km_cavalier']} km | ≥ 100 km |",
        f"| EuroVelo 5 (whole graph) | {stats['km_ev5']} km | |",
        f"| max snap distance of the landmarks | {max(reach['snap_m'].values()):.1f} m | ≤ 150 m |",
        f"| all landmark pairs reachable | {bool(np.isfinite(km).all())} | yes |",
        "",
        "km by class: " + ", ".join(f"{k} {v:,}" for k, v in stats["km_by_class"].items()),
        "",
        "Landmarks, located from the data, and their snap distance to the nearest edge:",
        "",
        "| place | lon, lat | snap (m) |",
        "|---|---|---|",
        *rows,
        "",
        "Walking distance between them (km, shortest path on edge lengths):",
        "",
        *matrix,
        "",
        "Cold build summary (`galibot build --bbox basin` into an empty cache):",
        "",
        "```",
        cold["summary"].rstrip(),
        "```",
    ])


def _merge(old: str, new_sections: list[str]) -> list[str]:
    """Keep the sections of the old BENCHMARKS.md that this run did not measure again."""
    title = lambda sec: sec.splitlines()[0]  # noqa: E731
    fresh = {title(sec): sec for sec in new_sections}
    kept = ["## " + chunk.rstrip() for chunk in old.split("\n## ")[1:]] if old else []
    merged = [fresh.pop(title(sec), sec) for sec in kept]
    return merged + list(fresh.values())


def main() -> int:
    cfg = Settings.from_env()
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    only = set(sys.argv[1:])
    sections = []
    if not only or "foundation" in only:
        sections.append(foundation(cfg))
    if not only or "engine" in only:
        sections.append(engine_bench.run(cfg))
    if not only or "pois" in only:
        sections.append(pois_bench.run(cfg))
    if not only or "planners" in only:
        sections.append(planners_bench.run(cfg))
    if not only or "gpx" in only:
        sections.append(gpx_bench.run(cfg))
    if not only or "sheets" in only:
        sections.append(sheets_bench.run(cfg))
    if not only or "races" in only:
        sections.append(races_bench.run(cfg))
    if not only or "load" in only:
        sections.append(load_bench.run(cfg))
    if not only or "bundles" in only:
        sections.append(bundles_bench.run(cfg))
    if not only or "offline" in only:
        sections.append(offline_bench.run(cfg))
    if not only or "planner" in only:
        sections.append(planner_bench.run(cfg))
    if not only or "throughput" in only:
        sections.append(throughput_bench.run(cfg))
    if not only or "correctness" in only:
        sections.append(courses_bench.section(cfg))
    if not only or "hardening" in only:
        sections.append(hardening_bench.section(cfg))
    if not only or "fuzz" in only:
        sections.append(fuzz_bench.section(cfg))
    out = ROOT / "BENCHMARKS.md"
    if only and out.is_file():
        sections = _merge(out.read_text(encoding="utf-8"), sections)
    doc = "\n".join([
        "# galibot benchmarks",
        "",
        f"Machine: {machine()}. Last measured {started} with `make bench` (`python -m bench.run`; "
        "`python -m bench.run pois` reruns one section).",
        "Figures are written by the benchmark itself; do not edit by hand.",
        "",
        "\n\n".join(sections),
        "",
    ])
    with atomic_write(out, "w") as fh:
        fh.write(doc)
    print(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
