"""Throughput benchmark (issue 19): what a request costs in process, and what the served API sustains under wrk.

In process: ``route()`` against the CCH search alone on 1,000 random basin pairs, the 17 pairs between the great
sites against networkx, and the profile of an uncached ``POST /v1/routes``. Served (``python -m api.serve`` as
``make run`` starts it: nginx, gunicorn, Redis): worker start and memory for 2 and 4 workers, then wrk, Debian's
compiled load generator, on the loopback against health, a cached route, uncached random routes, a circuit GPX and
1,000 connections downloading one race GPX.
"""

from __future__ import annotations

import cProfile
import dataclasses
import gc
import json
import os
import pstats
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import networkx as nx
import numpy as np
import requests

from bench.engine import _digraph
from bench.hardening import UNLIMITED, Served
from bench.load import random_pairs
from bench.scenarios import CACHED, CIRCUIT_GPX, RACE_GPX
from routing import landmarks
from routing.build import BuildRequest, load_or_build
from routing.engine import Engine
from routing.errors import RoutingError
from routing.settings import Settings

PAIRS, SEED, PROFILE = 1000, 19, "bike"
GREAT_SITES = ("chm_lewarde", "base_11_19", "fosse_9_9bis", "arenberg", "cite_electriciens")
#: What a request's time is spent on: the functions the profile reports, as (label, module path, function name).
PROFILE_PARTS = (("Engine.route (search, geometry, instructions)", "routing/engine.py", "route"),
                 ("POIs along the route", "poi_data/__init__.py", "attach_pois"),
                 ("the route as GeoJSON", "gpx_exports/geojson.py", "route_feature"),
                 ("dump through the schemas", "api/responses.py", "dump_result"),
                 ("wording in the reader's language", "presentation/results.py", "render_result"),
                 ("JSON encoding", "api/results.py", "to_json"),
                 ("Redis", "redis/client.py", "execute_command"))
WRK_S = 15
#: Distinct random pairs for the uncached runs, with and without details: more than 15 s of either can ask.
UNCACHED, UNCACHED_BARE = 12_000, 48_000
ROOT = Path(__file__).resolve().parents[1]


def site_pairs(cfg: Settings, graph) -> list[tuple[str, str, tuple, tuple]]:
    """The 17 pairs: the 5 great sites between themselves (10), the Louvre-Lens to each (5), Béthune and Don to the
    Louvre-Lens (2)."""
    at = landmarks.locate(cfg, graph, (*GREAT_SITES, "louvre_lens", "bethune", "don"))
    pairs = [(a, b) for i, a in enumerate(GREAT_SITES) for b in GREAT_SITES[i + 1:]]
    pairs += [("louvre_lens", s) for s in GREAT_SITES] + [("bethune", "louvre_lens"), ("don", "louvre_lens")]
    return [(a, b, at[a], at[b]) for a, b in pairs]


def _ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(seconds, q)) * 1000


def route_against_search(graph, engine: Engine) -> list[str]:
    """``route()`` from two points, with and without turn-by-turn, against the CCH node-to-node search on the same
    random pairs, in this run."""
    rng = np.random.default_rng(SEED)
    pairs = [(int(s), int(t)) for s, t in rng.integers(0, graph.n_nodes, size=(PAIRS, 2))]
    query = engine.query(PROFILE)
    search, full, bare = [], [], []
    for s, t in pairs:
        t0 = time.perf_counter()
        engine.node_to_node(s, t, PROFILE, query)
        search.append(time.perf_counter() - t0)
    for s, t in pairs:
        pts = [(float(graph.node_lon[n]), float(graph.node_lat[n])) for n in (s, t)]
        for times, instructions in ((full, True), (bare, False)):
            t0 = time.perf_counter()
            try:
                engine.route(pts, PROFILE, instructions=instructions)
            except RoutingError:
                pass
            times.append(time.perf_counter() - t0)
    return [f"| CCH search alone (baseline) | {_ms(search, 50):.3f} | {_ms(search, 95):.3f} | 1× |",
            f"| route(): snap, search, geometry, climbs, instructions | **{_ms(full, 50):.2f}** | "
            f"{_ms(full, 95):.2f} | {np.median(full) / np.median(search):.0f}× the search |",
            f"| route() without turn-by-turn (live re-routing, `details` without `instructions`) | "
            f"**{_ms(bare, 50):.2f}** | {_ms(bare, 95):.2f} | {np.median(bare) / np.median(search):.0f}× the search |"]


def _median_s(call, repeat: int = 5) -> float:
    """The median of ``repeat`` timed calls (s)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def sites_against_networkx(cfg: Settings, graph, engine: Engine) -> list[str]:
    """The 17 site pairs: ``route()``, with and without turn-by-turn, against networkx's bidirectional Dijkstra on
    the same arcs and weights."""
    weights = engine.weights(PROFILE)
    G = _digraph(engine.tail, engine.head, weights.cost_ms)
    rows, full_ratios, bare_ratios = [], [], []
    for a, b, pa, pb in site_pairs(cfg, graph):
        r = engine.route([pa, pb], PROFILE)[0]
        full = _median_s(lambda: engine.route([pa, pb], PROFILE))  # noqa: B023 (called at once)
        bare = _median_s(lambda: engine.route([pa, pb], PROFILE, instructions=False))  # noqa: B023
        s, t = engine.snap([pa])[0], engine.snap([pb])[0]
        u, v = int(graph.edge_u[s.edge]), int(graph.edge_v[t.edge])  # the nodes of the snapped ways
        t0 = time.perf_counter()
        nx.bidirectional_dijkstra(G, u, v)
        theirs = time.perf_counter() - t0
        full_ratios.append(theirs / full)
        bare_ratios.append(theirs / bare)
        rows.append(f"| {a} → {b} | {r.distance_m / 1000:.1f} | {full * 1000:.2f} | {bare * 1000:.2f} | "
                    f"{theirs * 1000:.0f} | {full_ratios[-1]:,.0f}× | {bare_ratios[-1]:,.0f}× |")
    return rows + [f"| **median of the 17** | | | | | **{np.median(full_ratios):,.0f}×** | "
                   f"**{np.median(bare_ratios):,.0f}×** |"]


def request_profile(cfg: Settings, pairs: list, tmp: Path) -> tuple[float, list[str]]:
    """p50 (ms) of an uncached ``POST /v1/routes`` through the Flask app in this process, and where it goes. What the
    app loaded is frozen out of the garbage collector first, as in a served worker (``api.prefork``): else one full
    collection of this process's ~900,000 objects (~0.2 s) lands in one of the 40 requests and in whichever part
    it interrupts."""
    from api import create_app
    from api.prefork import freeze_before_fork
    from api.redis_server import EmbeddedRedis

    redis = EmbeddedRedis(tmp / "redis-profile").start()
    try:
        app = create_app({"REDIS_URL": redis.url, "TESTING": True, **UNLIMITED,
                          "GALIBOT_SETTINGS": dataclasses.replace(cfg, export_dir=tmp / "exports-profile")})
        client = app.test_client()
        while client.get("/v1/health").status_code != 200:
            time.sleep(0.5)
        app.extensions["galibot.graph"].wait()  # the circuits and bundle a new code version builds, not timed
        for p in pairs[:5]:
            client.post("/v1/routes", json={"points": p})
        freeze_before_fork()
        prof, times = cProfile.Profile(), []
        for p in pairs[5:45]:
            t0 = time.perf_counter()
            prof.enable()
            assert client.post("/v1/routes", json={"points": p}).status_code == 200
            prof.disable()
            times.append(time.perf_counter() - t0)
    finally:
        gc.unfreeze()
        redis.stop()
    stats = pstats.Stats(prof).stats
    total = sum(v[3] for k, v in stats.items() if k[2] == "post_route")
    rows = []
    for label, path, func in PROFILE_PARTS:
        spent = sum(v[3] for k, v in stats.items() if k[0].endswith(path) and k[2] == func)
        rows.append(f"| {label} | {100 * spent / total:.0f} % |")
    return _ms(times, 50), rows


#: The phases of a trail course, as (label, function name in routing/planners/trail.py or engine.py).
TRAIL_PARTS = (("candidate summits and the planner's checks", "trail.py", "trail_candidates"),
               ("cost matrix between start and candidates (CCH)", "matrix.py", "cost_matrix"),
               ("greedy hint and sparse arcs", "trail.py", "greedy_course"),
               ("leg lengths of the kept arcs", "trail.py", "leg_lengths"),
               ("CP-SAT solve", "trail.py", "solve_prize_circuit"),
               ("the course routed through its sequence", "engine.py", "route_through"))


def trail_course(cfg: Settings, engine: Engine) -> list[str]:
    """The TPN-style course (Louvre-Lens, 110 km, 20 terrils) at the named circuits' budget and at the API request's,
    three times each: wall time, where it goes, and whether the three courses are the same."""
    from routing import settings
    from routing.planners.tour import Stop
    from routing.planners.trail import plan_trail

    start = Stop(*landmarks.locate(cfg, engine.graph, ("louvre_lens",))["louvre_lens"])
    rows = []
    for label, budget in (("circuit budget (`TRAIL_TIME_LIMIT_S`)", settings.TRAIL_TIME_LIMIT_S),
                          ("API request budget (`TRAIL_REQUEST_LIMIT_S`)", settings.TRAIL_REQUEST_LIMIT_S)):
        times, courses, prof = [], set(), cProfile.Profile()
        for _ in range(3):
            t0 = time.perf_counter()
            prof.enable()
            c = plan_trail(engine, start, 110_000, 20, time_limit_s=budget, workers=cfg.workers)
            prof.disable()
            times.append(time.perf_counter() - t0)
            courses.add((tuple(s["number"] for s in c.summits), round(c.route.distance_m), round(c.route.ascent_m)))
        stats = pstats.Stats(prof).stats
        spent = {part: sum(v[3] for k, v in stats.items() if k[0].endswith(path) and k[2] == func) / 3
                 for part, path, func in TRAIL_PARTS}
        parts = ", ".join(f"{part} {seconds:.2f} s" for part, seconds in spent.items())
        summits, metres, ascent = next(iter(courses))
        wall = f"{np.median(times):.1f} ({min(times):.1f}–{max(times):.1f})"
        rows.append(f"| {label}: {budget:g} deterministic s | {wall} | "
                    f"{metres / 1000:.1f} km, {ascent} m D+, {len(summits)} terrils | "
                    f"{'identical' if len(courses) == 1 else f'{len(courses)} different'} | {parts} |")
    return rows


def worker_memory(served: Served) -> tuple[list[int], list[int]]:
    """(RSS, PSS) in MB of each gunicorn worker: PSS counts the pages shared after the fork once between them."""
    rss, pss = [], []
    for pid in served.workers():
        status = Path(f"/proc/{pid}/status").read_text()
        rss.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) // 1024)
        pss.append(int(_rollup_kb(pid, "Pss") // 1024))
    return rss, pss


def _rollup_kb(pid: int | str, *fields: str) -> int:
    """The sum of ``fields`` (kB) in a process's ``/proc/<pid>/smaps_rollup``."""
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    return sum(int(re.search(rf"^{f}:\s+(\d+)", rollup, re.M).group(1)) for f in fields)


def start_and_memory(cfg: Settings, tmp: Path, workers: int) -> str:
    started = time.perf_counter()
    served = Served(cfg, tmp / f"start-{workers}", workers=workers)
    try:
        requests.post(f"{served.base}/v1/routes", json={"points": [[2.80437, 50.43061], [3.1691, 50.3369]]},
                      timeout=120).raise_for_status()
        first = time.perf_counter() - started
        rss, pss = worker_memory(served)
    finally:
        served.stop()
    return (f"| {workers} | {first:.1f} | {', '.join(map(str, rss))} | {sum(rss):,} | {', '.join(map(str, pss))} | "
            f"{sum(pss):,} |")


def _private_mb() -> float:
    """This process's private memory (MB): the pages it no longer shares with the process it was forked from."""
    return _rollup_kb("self", "Private_Clean", "Private_Dirty") / 1024


def collection_after_fork() -> tuple[float, float, float]:
    """(private MB before, private MB after, seconds) of one full garbage collection in a child forked from this
    process now, as a gunicorn worker or an RQ work horse is forked from its loaded parent."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: measure, report through the pipe, leave without running the parent's exit handlers
        try:
            before, t0 = _private_mb(), time.perf_counter()
            gc.collect()
            os.write(write, json.dumps([before, _private_mb(), time.perf_counter() - t0]).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        figures = json.loads(pipe.read())
    os.waitpid(pid, 0)
    return tuple(figures)


def shared_after_fork(cfg: Settings, tmp: Path) -> list[str]:
    """What one full collection costs a child of the loaded app, without and with ``freeze_before_fork`` (what
    ``wsgi.py`` under ``--preload`` and ``api.worker`` call before they fork)."""
    from api import create_app
    from api.prefork import freeze_before_fork
    from api.redis_server import EmbeddedRedis

    redis = EmbeddedRedis(tmp / "redis-fork").start()
    try:
        app = create_app({"REDIS_URL": redis.url, "TESTING": True,
                          "GALIBOT_SETTINGS": dataclasses.replace(cfg, export_dir=tmp / "exports-fork")})
        app.extensions["galibot.graph"].wait()
        rows = []
        for label, freeze in (("as loaded", False), ("after `freeze_before_fork()`", True)):
            frozen = freeze_before_fork() if freeze else gc.get_freeze_count()
            tracked = len(gc.get_objects())
            before, after, seconds = collection_after_fork()
            rows.append(f"| {label} | {tracked:,} | {frozen:,} | {after - before:,.0f} | {seconds * 1000:,.0f} |")
        return rows
    finally:
        gc.unfreeze()  # the rest of the benchmark runs as a process that forks nothing
        redis.stop()


#: wrk's threads each run their own copy of the script: each takes every WRK_THREADS-th body from its own start, so
#: no two requests of a run send the same body unless the list is used up (``load`` reports it if so).
WRK_THREADS = 2
WRK_POST = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies, threads, i = {}, 0, 0
for line in io.lines("%s") do bodies[#bodies + 1] = line end
function setup(thread) thread:set("id", threads); threads = threads + 1 end
request = function()
  local k = (i * %d + id) %% #bodies + 1
  i = i + 1
  return wrk.format(nil, nil, nil, bodies[k])
end
"""
#: The same body under a new query string each time: nginx's cache keys on the query, the app ignores it, so each
#: request passes nginx and is answered from the app's own cache (Redis), as a result cached on another server would.
WRK_POST_PAST_NGINX = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local threads, i = 0, 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
local body = io.open("%s"):read("*l")
request = function()
  i = i + 1
  return wrk.format(nil, "/v1/routes?n=" .. id .. "-" .. i, nil, body)
end
"""
WRK_DONE = """done = function(summary, latency, requests)
  io.write(string.format("GALIBOT %d %d %d %d %d %d %f %f %f\\n", summary.requests, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests / (summary.duration / 1e6)))
end
"""


def _machine_cpu_s() -> tuple[float, float]:
    """(busy, idle) CPU seconds of the whole machine since boot (``/proc/stat``: idle and iowait are idle)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / hz, idle / hz


def _children_cpu_s() -> float:
    """CPU seconds used by this process's finished children (wrk, once ``subprocess.run`` has reaped it)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(url: str, connections: int, script: str, tmp: Path, *, seconds: int = WRK_S) -> dict:
    """One wrk run (2 threads, as many cores as the machine has): requests, errors, p50 and p99 (ms), req/s, the
    share of the machine's CPU busy meanwhile, and the CPU ms per request spent by everything but wrk itself
    (nginx, gunicorn, Redis): what says whether a run is bound by the cores."""
    lua = tmp / "wrk.lua"
    lua.write_text(script + WRK_DONE)
    (busy0, idle0), wrk0 = _machine_cpu_s(), _children_cpu_s()
    out = subprocess.run(["wrk", "-t", str(WRK_THREADS), "-c", str(connections), "-d", f"{seconds}s", "--timeout",
                          "30s", "-s", str(lua), url], capture_output=True, text=True, timeout=seconds + 120).stdout
    (busy1, idle1), wrk_s = _machine_cpu_s(), _children_cpu_s() - wrk0
    fields = next(line for line in out.splitlines() if line.startswith("GALIBOT")).split()[1:]
    n, *errors, p50, p99, rps = fields
    busy = busy1 - busy0
    return {"requests": int(n), "errors": sum(int(e) for e in errors), "p50": float(p50), "p99": float(p99),
            "rps": float(rps), "busy": busy / max(busy + idle1 - idle0, 1e-9),
            "cpu_ms": 1000 * max(busy - wrk_s, 0.0) / max(int(n), 1), "wrk_share": wrk_s / max(busy, 1e-9)}


def _bodies(path: Path, items: list[dict]) -> str:
    path.write_text("\n".join(json.dumps(i, separators=(",", ":")) for i in items) + "\n")
    return WRK_POST % (path, WRK_THREADS)


def load(cfg: Settings, tmp: Path, pairs: list) -> list[str]:
    served = Served(cfg, tmp / "load")
    try:
        base = served.base
        requests.post(f"{base}/v1/routes", data=json.dumps(CACHED, separators=(",", ":")), timeout=60,
                      headers={"Content-Type": "application/json"}).raise_for_status()  # wrk's own bytes
        for path in (CIRCUIT_GPX, RACE_GPX):
            requests.get(base + path, timeout=120).raise_for_status()
        uncached = [{"points": p, "profile": PROFILE} for p in pairs[:UNCACHED]]
        bare = [{"points": p, "profile": PROFILE, "details": []} for p in pairs[UNCACHED:]]
        runs = [("GET /v1/health (baseline)", f"{base}/v1/health", 32, "", None),
                ("POST /v1/routes, cached (nginx answers it)", f"{base}/v1/routes", 32,
                 _bodies(tmp / "cached.txt", [CACHED]), None),
                ("POST /v1/routes, cached, past nginx's cache (the app answers it from Redis)", f"{base}/v1/routes",
                 32, WRK_POST_PAST_NGINX % (tmp / "cached.txt"), None),
                ("POST /v1/routes, uncached random pairs", f"{base}/v1/routes", 32,
                 _bodies(tmp / "pairs.txt", uncached), len(uncached)),
                ('POST /v1/routes, uncached, `"details": []` (live re-routing)', f"{base}/v1/routes", 32,
                 _bodies(tmp / "bare.txt", bare), len(bare)),
                ("GET circuit GPX (TPN-style course)", base + CIRCUIT_GPX, 32, "", None),
                ("race morning: 1,000 connections, one race GPX", base + RACE_GPX, 1000, "", None)]
        rows = []
        for label, url, conns, script, distinct in runs:  # distinct: how many bodies an uncached run may send
            s = wrk(url, conns, script, tmp)
            repeated = f" (**{s['requests'] - distinct:,} repeated bodies**: more requests than pairs)" \
                if distinct is not None and s["requests"] > distinct else ""
            rows.append(f"| {label}{repeated} | {conns} | {s['requests']:,} | {s['errors']} | {s['rps']:,.0f} | "
                        f"{s['p50']:.1f} | {s['p99']:.1f} | {100 * s['busy']:.0f} % ({100 * s['wrk_share']:.0f} % "
                        f"of it wrk) | {s['cpu_ms']:.2f} |")
        return rows
    finally:
        served.stop()


JOBS = 20
#: 20 distinct courses from the Base 11/19 (each its own job): 20 to 39 km over 3 to 6 terrils.
JOB_COURSES = [{"start": "great-site-base-11-19", "distance_km": 20 + i, "terrils": 3 + i % 4} for i in range(JOBS)]


def _job_workers(served: Served) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(served.proc.pid), "-f", "api.worker"], capture_output=True, text=True)
    return sorted(int(p) for p in out.stdout.split())


def _rq_workers(served: Served) -> int:
    """RQ workers registered in the served Redis (each registers once it has loaded the graph)."""
    import redis
    from rq import Worker

    return len(Worker.all(connection=redis.Redis.from_url(served.redis.url)))


def _poll(base: str, location: str, timeout_s: float = 600) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        resp = requests.get(base + location, timeout=30)
        if resp.status_code != 200:
            return {"status": f"lost ({resp.status_code})"}
        job = resp.json()
        if job["status"] in ("finished", "failed"):
            return job
        time.sleep(0.5)
    return {"status": "timed out"}


def _health_while(base: str, busy: threading.Event) -> list[float]:
    """``/v1/health`` timed 5 times a second while ``busy`` is set."""
    latencies = []
    while busy.is_set():
        t0 = time.perf_counter()
        requests.get(f"{base}/v1/health", timeout=30)
        latencies.append(time.perf_counter() - t0)
        time.sleep(0.2)
    return latencies


def jobs(cfg: Settings, tmp: Path) -> list[str]:
    """20 concurrent trail courses on 2 RQ workers (health timed meanwhile), then a work horse killed mid-job."""
    served = Served(cfg, tmp / "jobs", workers=2, job_workers=2)
    try:
        base = served.base
        deadline = time.monotonic() + 600
        while _rq_workers(served) < 2:
            assert time.monotonic() < deadline, "the RQ workers did not start"
            time.sleep(1)
        busy = threading.Event()
        busy.set()
        with ThreadPoolExecutor(JOBS + 1) as pool:
            health = pool.submit(_health_while, base, busy)
            started = time.perf_counter()
            posted = list(pool.map(lambda body: requests.post(f"{base}/v1/trails", json=body, timeout=60), JOB_COURSES))
            accepted = [r for r in posted if r.status_code == 202]
            outcomes = list(pool.map(lambda r: _poll(base, r.headers["Location"]), accepted))
            elapsed = time.perf_counter() - started
            busy.clear()
            latencies = health.result()
        finished = sum(o["status"] == "finished" for o in outcomes)
        failed = [o for o in outcomes if o["status"] == "failed"]
        lost = len(outcomes) - finished - len(failed)
        killed = _kill_mid_job(served)
        drawn = [_queued_file(base, "the 5 great sites' PDF sheet (161 km, A4)",
                              "/v1/circuits/cinq-grands-sites?format=pdf"),
                 _queued_analysis(base, cfg)]
    finally:
        served.stop()
    answers = ", ".join(f"{n} × {code}" for code, n in sorted(Counter(r.status_code for r in posted).items()))
    refusals = "; ".join(sorted({f"{o['problem']['status']} {o['problem']['field']}" for o in failed})) or "none"
    return [f"| {JOBS} trail courses posted at once (20–39 km, 3–6 terrils) | answers: {answers}; finished "
            f"{finished}, failed {len(failed)} (their problems: {refusals}), lost {lost}; all done in "
            f"{elapsed:.1f} s |",
            f"| `GET /v1/health` meanwhile ({len(latencies)} requests) | p50 {_ms(latencies, 50):.1f} ms, "
            f"p99 **{_ms(latencies, 99):.1f} ms**, max {max(latencies) * 1000:.1f} ms |",
            f"| a work horse SIGKILLed mid-job | {killed} |", *drawn]


def _through_the_queue(base: str, ask, link: str) -> tuple[requests.Response, dict, requests.Response | None, float,
                                                            requests.Response, float]:
    """``ask()`` once (the 202), the job to its end and its ``link``, then ``ask()`` again: (first answer, job, what
    the link serves, seconds to it, the second answer, its ms)."""
    t0 = time.perf_counter()
    first = ask()
    job = _poll(base, first.headers["Location"]) if first.status_code == 202 else {"status": str(first.status_code)}
    got = requests.get(base + job["links"][link], timeout=60) if job["status"] == "finished" else None
    done = time.perf_counter() - t0
    t1 = time.perf_counter()
    again = ask()
    return first, job, got, done, again, (time.perf_counter() - t1) * 1000


def _queued_file(base: str, what: str, path: str) -> str:
    """A slow file through the queue: the 202, the job to its end, the file, then the same request again."""
    resp, job, got, done, again, again_ms = _through_the_queue(
        base, lambda: requests.get(base + path, timeout=60), "file")
    size = f"{len(got.content):,} bytes" if got is not None and got.ok else "no file"
    return (f"| {what}, not drawn yet | {resp.status_code}, job **{job['status']}**, its `file` link "
            f"{got.status_code if got is not None else '-'} ({size}) {done:.1f} s after the request; asked again: "
            f"{again.status_code} from the store in {again_ms:.0f} ms |")


def _queued_analysis(base: str, cfg: Settings) -> str:
    """The EV5 GPX (302 KB, over the job threshold) analysed through the queue, then posted again."""
    data = (cfg.data_dir / "ev5-waymarkedtrails" / "ev5-relation5245117-wmt-2023-05-24.gpx").read_bytes()
    resp, job, got, done, again, again_ms = _through_the_queue(
        base, lambda: requests.post(f"{base}/v1/gpx/analyze", files={"file": ("ev5.gpx", data)},
                                    data={"snap": "true"}, timeout=120), "result")
    return (f"| the EV5 GPX uploaded for analysis ({len(data) // 1024} KB, snapped) | {resp.status_code}, job "
            f"**{job['status']}**, its `result` {got.status_code if got is not None else '-'} {done:.1f} s after the "
            f"upload; uploaded again: {again.status_code} from the store in {again_ms:.0f} ms |")


def _kill_mid_job(served: Served) -> str:
    """Post a course, SIGKILL the work horse while it solves, and follow the job to its end."""
    base = served.base
    # not proven optimal, so the solve takes the whole deterministic budget: the kill lands in it
    resp = requests.post(f"{base}/v1/trails", json={"start": "great-site-base-11-19", "distance_km": 60,
                                                     "terrils": 12}, timeout=60)
    location = resp.headers["Location"]
    deadline = time.monotonic() + 300
    while requests.get(base + location, timeout=30).json()["stage"] != "solving":
        assert time.monotonic() < deadline, "the job did not start"
        time.sleep(0.1)
    horses = [int(p) for w in _job_workers(served) for p in subprocess.run(
        ["pgrep", "-P", str(w)], capture_output=True, text=True).stdout.split()]
    os.kill(horses[0], signal.SIGKILL)
    job = _poll(base, location)
    return (f"the worker reports the run failed (\"Work-horse terminated unexpectedly … signal 9\"), RQ queues it "
            f"again: status **{job['status']}** after {job.get('attempts')} runs")


def run(cfg: Settings) -> str:
    graph, _, _ = load_or_build(cfg, BuildRequest())
    engine = Engine(graph, cfg.cache_dir)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pairs = random_pairs(cfg, n=UNCACHED + UNCACHED_BARE, seed=SEED)
        route_rows = route_against_search(graph, engine)
        print("throughput: route() against the search", *route_rows, sep="\n", file=sys.stderr)
        site_rows = sites_against_networkx(cfg, graph, engine)
        print("throughput: the 17 site pairs", *site_rows, sep="\n", file=sys.stderr)
        p50, profile_rows = request_profile(cfg, pairs, tmp)
        print(f"throughput: one request p50 {p50:.1f} ms", *profile_rows, sep="\n", file=sys.stderr)
        trail_rows = trail_course(cfg, engine)
        print("throughput: trail course", *trail_rows, sep="\n", file=sys.stderr)
        del engine, graph
        load_rows = load(cfg, tmp, pairs[100:])  # first: its start builds what a new code version must (bundles)
        print("throughput: load", *load_rows, sep="\n", file=sys.stderr)
        start_rows = [start_and_memory(cfg, tmp, n) for n in (2, 4)]
        print("throughput: workers", *start_rows, sep="\n", file=sys.stderr)
        fork_rows = shared_after_fork(cfg, tmp)
        print("throughput: one full collection after a fork", *fork_rows, sep="\n", file=sys.stderr)
        job_rows = jobs(cfg, tmp)
        print("throughput: jobs", *job_rows, sep="\n", file=sys.stderr)
    return "\n".join([
        "## Throughput (issue 19)",
        "",
        "`python -m bench.run throughput`.",
        "",
        f"### `route()` against the search ({PAIRS} random basin node pairs, seed {SEED}, {PROFILE}, one process)",
        "",
        "| what | p50 (ms) | p95 (ms) | ratio |",
        "|---|---|---|---|",
        *route_rows,
        "",
        "### The 17 site pairs: `route()` against networkx's `bidirectional_dijkstra` (same arcs, same integer "
        "weights; route() median of 5, networkx once; route() with turn-by-turn, and without it as live re-routing "
        "asks)",
        "",
        "| pair | km | route() (ms) | without turn-by-turn (ms) | networkx (ms) | networkx / route() | "
        "networkx / route() without turn-by-turn |",
        "|---|---|---|---|---|---|---|",
        *site_rows,
        "",
        f"### One uncached `POST /v1/routes` in process (Flask test client, real Redis, 40 random pairs): p50 "
        f"{p50:.1f} ms",
        "",
        "| part (cProfile, cumulative) | share of the request |",
        "|---|---|",
        *profile_rows,
        "",
        "### The TPN-style course (Louvre-Lens, 110 km, 20 terrils), 3 runs at each budget (cProfile on)",
        "",
        "| budget | wall (s), median (min–max) | course | 3 runs | where the time goes (per run) |",
        "|---|---|---|---|---|",
        *trail_rows,
        "",
        "### Worker start and memory (`python -m api.serve --workers N`, preloaded gunicorn, the whole basin)",
        "",
        "| workers | launch to the first route (s) | RSS per worker (MB) | RSS total | PSS per worker (MB) | "
        "PSS total |",
        "|---|---|---|---|---|---|",
        *start_rows,
        "",
        "One full garbage collection in a child forked from the loaded app (as a worker is forked from the "
        "preloaded master), without and with `api.prefork.freeze_before_fork`:",
        "",
        "| parent | objects the collector tracks | frozen | pages made private (MB) | collection (ms) |",
        "|---|---|---|---|---|",
        *fork_rows,
        "",
        f"### Load: wrk 4.1 (2 threads, {WRK_S} s each) on the loopback against `python -m api.serve` (nginx, "
        "gunicorn 2 workers × 8 threads, Redis), all on this machine's 2 cores",
        "",
        "| scenario | connections | requests | errors | req/s | p50 (ms) | p99 (ms) | machine CPU busy | CPU ms per "
        "request (all but wrk) |",
        "|---|---|---|---|---|---|---|---|---|",
        *load_rows,
        "",
        "A run with the machine's CPU busy near 100 % is bound by its 2 cores: its req/s is about "
        "2,000 ms × (1 − wrk's share) ÷ the CPU ms per request. The uncached routes' CPU per request is the one "
        "request's profile above, spread over nginx, gunicorn and Redis.",
        "",
        "### Jobs: `python -m api.serve --workers 2 --job-workers 2` (2 RQ worker processes beside gunicorn)",
        "",
        "| what | outcome |",
        "|---|---|",
        *job_rows,
    ])
