"""Offline bundles benchmark (issue 8): sizes, build times, the offline client against the server, resumed
downloads and trip writes, on the whole basin and its four sub-regions."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from api import create_app
from api.redis_server import EmbeddedRedis
from bench import offline as offline_bench
from gpx_exports.bundles import REGIONS, build_bundle, region_graph
from poi_data import load_catalogue
from poi_data.build import catalogue_version
from poi_data.circuits import circuits_version, load_or_build_circuits
from routing.build import load_or_build
from routing.checks import sample_points
from routing.engine import Engine
from routing.offline.client import OfflineClient
from routing.progress import Reporter
from routing.settings import Settings

PARITY_REQUESTS = 200


def _ms(samples: list[float], q: float) -> float:
    return round(float(np.percentile(samples, q)) * 1000, 1)


def build_figures(cfg: Settings, basin, catalogue, circuits, version: str) -> list[dict]:
    """Each region's bundle rebuilt from scratch (its graph loaded from the cache): time and sizes."""
    rows, quiet = [], Reporter(quiet=True)
    for region in REGIONS:
        graph = region_graph(cfg, region, basin, quiet)
        started = time.perf_counter()
        b = build_bundle(cfg, region, graph, catalogue, circuits, version, catalogue_version(basin), quiet, force=True)
        seconds = time.perf_counter() - started
        size = {f["role"]: f["size"] for f in b.manifest["files"] if f["role"] != "circuit-gpx"}
        rows.append({"region": region, "s": round(seconds, 1), "mb": b.manifest["routing_bytes"] / 1e6,
                     "graph_mb": size["graph"] / 1e6, "pois_mb": size["pois"] / 1e6,
                     "circuits_mb": b.manifest["routing_bytes"] / 1e6 - (size["graph"] + size["pois"]) / 1e6,
                     "map_mb": b.manifest["map_bytes"] / 1e6,
                     "nodes": graph.n_nodes, "pois": b.manifest["counts"]["pois"],
                     "circuits": b.manifest["counts"]["circuits"], "dir": b.directory})
    return rows


def cold_bundles() -> tuple[float, str]:
    """``galibot bundle --all`` into an empty cache: graphs, catalogue, circuits and the five bundles, from nothing."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "routing.cli", "bundle", "--all", "--quiet", "--cache-dir", tmp],
                              capture_output=True, text=True, check=True)
        return time.perf_counter() - started, proc.stdout


def parity(engine: Engine, client: OfflineClient, catalogue, points: list) -> dict:
    """The same A→B requests on the server and offline (``bench.offline.parity``), summed up for this section."""
    par = offline_bench.parity(engine, client, catalogue, points)
    bike = [t for t, profile in zip(par["off"], par["profile"]) if profile == "bike"]
    return {
        "n": len(par["cost"]), "skipped": par["skipped"],
        "cost_max": max(par["cost"]), "cost_ok": sum(e < 0.001 for e in par["cost"]),
        "gpx_max": max(par["gpx"]), "gpx_ok": sum(e < 0.005 for e in par["gpx"]),
        "off_p50": _ms(par["off"], 50), "off_p95": _ms(par["off"], 95), "bike_p50": _ms(bike, 50),
        "srv_p50": _ms(par["srv"], 50), "srv_p95": _ms(par["srv"], 95),
    }


def round_trips(client: OfflineClient, catalogue) -> dict:
    starts = ["louvre-lens", "great-site-base-11-19", "great-site-chm-lewarde", "great-site-arenberg",
              "great-site-fosse-9-9bis"]
    times, errors = [], []
    for i, pid in enumerate(starts):
        p = catalogue.get(pid)
        started = time.perf_counter()
        loop = client.round_trip((p["lon"], p["lat"]), 20_000, "trail", seed=i)
        times.append(time.perf_counter() - started)
        errors.append(abs(loop.distance_m / 20_000 - 1))
    return {"n": len(times), "p50": _ms(times, 50), "max_err": max(errors)}


def resume_and_trips(cfg: Settings, basin) -> dict:
    """A graph download cut halfway and resumed with Range; 200 trip PUTs with appendfsync always."""
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp), appendfsync="always") as redis:
        app = create_app({"REDIS_URL": redis.url, "GALIBOT_SETTINGS": cfg, "GALIBOT_GRAPH": basin})
        api = app.test_client()
        manifest = api.get("/v1/bundles/basin/manifest.json").get_json()
        entry = next(f for f in manifest["files"] if f["role"] == "graph")
        url, half = f"/v1/bundles/basin/{entry['name']}", entry["size"] // 2
        first = api.get(url, headers={"Range": f"bytes=0-{half - 1}"})
        rest = api.get(url, headers={"Range": f"bytes={half}-", "If-Range": first.headers["ETag"]})
        whole = first.data + rest.data
        auth = {"Authorization": f"Bearer {api.post('/v1/devices').get_json()['token']}"}
        body = {"name": "bench", "profile": "bike", "points": [[2.80437, 50.43061], [3.1691, 50.3369]]}
        times = []
        for i in range(200):
            started = time.perf_counter()
            resp = api.put(f"/v1/trips/{uuid.uuid4()}", json={**body, "notes": str(i)}, headers=auth)
            times.append(time.perf_counter() - started)
            assert resp.status_code == 201
        app.extensions["galibot.graph"].wait(120)
        return {"statuses": (first.status_code, rest.status_code), "bytes": (len(first.data), len(rest.data)),
                "size": entry["size"], "sha_ok": hashlib.sha256(whole).hexdigest() == entry["sha256"],
                "put_p50": _ms(times, 50), "put_p95": _ms(times, 95)}


def run(cfg: Settings) -> str:
    basin, _, _ = load_or_build(cfg)
    engine = Engine(basin, cfg.cache_dir)
    catalogue = load_catalogue(cfg, basin)
    circuits = load_or_build_circuits(cfg, engine, catalogue, progress=None)
    builds = build_figures(cfg, basin, catalogue, circuits, circuits_version(engine))
    fresh = Path(tempfile.mkdtemp()) / "basin"  # a copy with nothing installed yet: the first load installs
    shutil.copytree(builds[0]["dir"], fresh, ignore=shutil.ignore_patterns(".graph.*"))
    started = time.perf_counter()
    client = OfflineClient(fresh)
    load_s = time.perf_counter() - started
    par = parity(engine, client, catalogue, sample_points(basin, 3 * PARITY_REQUESTS, seed=8))
    loops = round_trips(client, catalogue)
    dl = resume_and_trips(cfg, basin)
    cold_s, cold_out = cold_bundles()
    size_rows = [f"| {r['region']} | {r['mb']:.2f} | {r['graph_mb']:.2f} | {r['pois_mb']:.2f} | "
                 f"{r['circuits_mb']:.2f} | {r['map_mb']:.1f} | {r['nodes']:,} | {r['pois']:,} | {r['circuits']} | "
                 f"{r['s']} |" for r in builds]
    return "\n".join([
        "## Offline bundles, offline client and trip sync (issue 8)",
        "",
        "`python -m bench.run bundles`. Bundles rebuilt with `force` from the cached graphs, catalogue and circuits "
        "(a sub-region's graph itself builds in 5-10 s the first time, `galibot bundle --all`).",
        "",
        "| region | bundle MB (without the map) | graph MB | POIs MB | circuits (GeoJSON + GPX) MB | basemap and "
        "style MB | nodes | POIs | circuits | build s |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *size_rows,
        "",
        "Target: under 25 MB compressed for the whole basin (issue 17: 15 MB, the basemap apart).",
        "",
        f"From nothing, `galibot bundle --all` into an empty cache (the basin's graph, CCH order, POI catalogue and "
        f"circuits, the four sub-region graphs, then the five bundles) takes {cold_s:.0f} s:",
        "",
        "```",
        cold_out.rstrip(),
        "```",
        "",
        "| offline client on the basin bundle | value |",
        "|---|---|",
        f"| first load (sha256 check, install: decode, adjacency, hierarchy topology) | {load_s:.2f} s |",
        f"| A→B, {par['n']} random requests over the 5 profiles: p50 / p95 | {par['off_p50']} / {par['off_p95']} ms |",
        f"| A→B, bike only, p50 | {par['bike_p50']} ms |",
        f"| baseline, the server's `Engine.route` (CCH) on the same requests: p50 / p95 | "
        f"{par['srv_p50']} / {par['srv_p95']} ms (offline ×{par['off_p50'] / par['srv_p50']:.0f}) |",
        f"| same cost within 0.1 % | {par['cost_ok']} / {par['n']} (largest gap {par['cost_max']:.5%}) |",
        f"| same GPX distance within 0.5 % | {par['gpx_ok']} / {par['n']} (largest gap {par['gpx_max']:.4%}) |",
        f"| points the server refused (over 500 m from a way), skipped | {par['skipped']} |",
        f"| round trip of 20 km (trail), p50 of {loops['n']} starts | {loops['p50']} ms, "
        f"largest length error {loops['max_err']:.1%} |",
        "",
        "| download and sync | value |",
        "|---|---|",
        f"| graph file cut at 50 %, then `Range` + `If-Range` | statuses {dl['statuses'][0]} then "
        f"{dl['statuses'][1]}, {dl['bytes'][0]:,} + {dl['bytes'][1]:,} = {dl['size']:,} bytes, "
        f"sha256 matches: {dl['sha_ok']} |",
        f"| trip PUT (new trip, Lua compare-and-set, appendfsync always), p50 / p95 | "
        f"{dl['put_p50']} / {dl['put_p95']} ms |",
    ])
