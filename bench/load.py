"""Load benchmark (issue 7): ``python -m api.serve`` on loopback (nginx, gunicorn, Redis), load from locust in a
separate process.

Scenarios: the health check (the server's ceiling, as a baseline), a cached route, uncached A→B routes
(random node pairs, each asked once), a circuit GPX download, and a race morning: 1,000 runners
downloading the same race GPX at once.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import requests

from bench.hardening import Served
from bench.scenarios import CACHED, CIRCUIT_GPX, RACE_GPX
from routing.build import BuildRequest, load_or_build
from routing.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
#: (scenario, users, spawn rate per second, run time)
SCENARIOS = (("health", 20, 20, "15s"), ("cached_route", 20, 20, "20s"), ("uncached_route", 20, 20, "20s"),
             ("circuit_gpx", 20, 20, "20s"), ("race_morning", 1000, 1000, "90s"))
LABELS = {"health": "GET /v1/health (baseline)", "cached_route": "POST /v1/routes, cached",
          "uncached_route": "POST /v1/routes, uncached A→B (random pairs)",
          "circuit_gpx": "GET circuit GPX (TPN-style course)", "race_morning": "race morning: one race GPX"}


def random_pairs(cfg: Settings, n: int = 6000, seed: int = 7) -> list:
    """Node pairs of the basin graph, as [lon, lat] pairs, each asked once."""
    graph, _, _ = load_or_build(cfg, BuildRequest())
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, graph.n_nodes, size=(n, 2))
    ll = lambda i: [round(float(graph.node_lon[i]), 6), round(float(graph.node_lat[i]), 6)]  # noqa: E731
    return [[ll(a), ll(b)] for a, b in idx]


def locust(base: str, scenario: str, users: int, rate: int, run_time: str, pairs_file: str, out: Path) -> dict:
    """Run one scenario in a separate locust process; its aggregated stats."""
    prefix = out / scenario
    env = {**os.environ, "GALIBOT_SCENARIO": scenario, "GALIBOT_PAIRS_FILE": pairs_file}
    cmd = [str(Path(sys.executable).with_name("locust")), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
           "-u", str(users), "-r", str(rate), "-t", run_time, "--host", base, "--csv", str(prefix), "--only-summary",
           "--stop-timeout", "30"]
    subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    with open(f"{prefix}_stats.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["Name"] == "Aggregated")
    return {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
            "rps": float(row["Requests/s"]), "p50": float(row["50%"]), "p99": float(row["99%"]),
            "max": float(row["Max Response Time"])}


def warm(base: str) -> None:
    """Fill the caches the cached scenarios read (the route in Redis, the GPX files in the export store)."""
    requests.post(f"{base}/v1/routes", json=CACHED, timeout=60).raise_for_status()
    for path in (CIRCUIT_GPX, RACE_GPX):
        requests.get(base + path, timeout=60).raise_for_status()


def run(cfg: Settings) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        pairs_file = Path(tmp) / "pairs.json"
        pairs_file.write_text(json.dumps(random_pairs(cfg)))
        served = Served(cfg, Path(tmp))  # what make run serves; no rate limits: one load generator is one client
        try:
            warm(served.base)
            rows = []
            for scenario, users, rate, run_time in SCENARIOS:
                s = locust(served.base, scenario, users, rate, run_time, str(pairs_file), Path(tmp))
                rows.append(f"| {LABELS[scenario]} | {users} | {s['requests']:,} | {s['failures']} | "
                            f"{s['rps']:.1f} | {s['p50']:.0f} | {s['p99']:.0f} | {s['max']:.0f} |")
        finally:
            served.stop()
    return "\n".join([
        "## API under load (issue 7)",
        "",
        "`python -m api.serve` on loopback, as `make run` serves: nginx in front of a preloaded gunicorn, "
        "2 workers × 8 threads (gthread), the whole basin, its own Redis; load from locust in a separate process "
        "on the same machine (so they share its cores). Times in ms.",
        "",
        "| scenario | users | requests | failures | req/s | p50 | p99 | max |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ])
