"""The "Hardening" section of BENCHMARKS.md: worst cases per endpoint, slow clients, a killed worker, made-up
tokens, and storage held under its caps.

``python -m bench.hardening`` prints the section; ``python -m bench.run hardening`` writes it. Each worst case
runs in a child process of its own (``python -m bench.hardening case NAME``), so its CPU seconds and its peak
memory above the loaded app's are its own.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from api import LIMIT_KEYS
from api.devices import make_token
from api.redis_server import EmbeddedRedis, free_port
from bench.scenarios import RACE_GPX
from poi_data import THEMES
from routing.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
#: Rate limits no benchmark reaches: a benchmark is one client.
UNLIMITED = {key: "100000000 per minute" for key in LIMIT_KEYS}
BASE_11_19, LOUVRE = [2.7897549, 50.4440597], [2.8043729, 50.4306149]


def _terrils(state, n: int, seed: int) -> list:
    terrils = [p for p in state.catalogue.pois if "terrils" in p["themes"]]
    return random.Random(seed).sample(terrils, n)


def _zigzag_gpx(km: float) -> bytes:
    """A track back and forth across the basin, ``km`` long, one point every 10 m."""
    import numpy as np

    n = int(km * 100)
    t = np.linspace(0, km / 60, n)  # 30 km legs west-east and back
    lon = 2.6 + 0.42 * np.abs((t % 2) - 1)
    lat = 50.35 + 0.1 * (t / t[-1])
    pts = "".join(f'<trkpt lat="{y:.6f}" lon="{x:.6f}"/>' for x, y in zip(lon, lat))
    return ('<?xml version="1.0"?><gpx version="1.1" creator="bench" xmlns="http://www.topografix.com/GPX/1/1">'
            f"<trk><trkseg>{pts}</trkseg></trk></gpx>").encode()


@dataclass(frozen=True)
class Picks:
    """The places a case is made of, picked from the catalogue with fixed seeds."""

    spread: list  # 27 terrils across the basin, [lon, lat]
    stops: list  # 40 terril ids


def picks(state) -> Picks:
    return Picks([[p["lon"], p["lat"]] for p in _terrils(state, 27, 1)], [p["id"] for p in _terrils(state, 40, 2)])


#: Each endpoint's most expensive accepted request (and a refused one): name → picks → (method, path, kwargs).
CASES: dict[str, Callable[[Picks], tuple[str, str, dict]]] = {
    "route, 27 points across the basin": lambda p: ("POST", "/v1/routes", {"json": {"points": p.spread}}),
    "route, 3 alternatives": lambda p: ("POST", "/v1/routes", {"json": {"points": p.spread[:2], "alternatives": 3}}),
    "isochrone, road_bike 120 min, 6 bands": lambda p: (
        "GET", "/v1/isochrones?start=2.8037,50.4306&profile=road_bike&minutes=20,40,60,80,100,120", {}),
    "tour, 40 stops": lambda p: ("POST", "/v1/tours", {"json": {"start": "louvre-lens", "stops": p.stops}}),
    "tour, 40 stops in stages": lambda p: ("POST", "/v1/tours", {"json": {"start": "louvre-lens", "stops": p.stops,
                                                                          "daily_km": 40}}),
    "round trips, 3 of 150 km": lambda p: ("POST", "/v1/roundtrips", {"json": {"start": BASE_11_19,
                                                                               "distance_km": 150, "count": 3}}),
    "round trip of 300 km, refused": lambda p: ("POST", "/v1/roundtrips", {"json": {"start": BASE_11_19,
                                                                                    "distance_km": 300}}),
    "trail, 500 km over 39 terrils": lambda p: ("POST", "/v1/trails", {"json": {"start": BASE_11_19,
                                                                                "distance_km": 500, "terrils": 39}}),
    "GPX analysis, 990 km, 99,000 points": lambda p: ("POST", "/v1/gpx/analyze", {"gpx": 990}),
    "POIs, the 500 nearest within 50 km": lambda p: ("GET", "/v1/pois?near=2.8,50.43&radius_m=50000&limit=500", {}),
    "GPX re-render of the 27-point route (938 km): a km marker every km, timestamps, rte": lambda p: (
        "GET", "/v1/results/{route}.gpx?km_markers=1&timestamps=true&rte=true", {}),
    "TPN-style circuit as a race GPX: checkpoints and aid every km, a km marker every 0.2 km": lambda p: (
        "GET", RACE_GPX + "&checkpoint_every_km=1&aid_every_km=1&km_markers=0.2", {}),
    "trip PUT of 1,000 points, 20 KB of notes and 12 KB of settings (63 KB)": lambda p: (
        "PUT", f"/v1/trips/{uuid.uuid4()}", {"json": {"name": "worst", "profile": "walk", "points": p.spread[:1] * 1000,
                                                     "notes": "n" * 20_000, "settings": {"s": "s" * 12_000}},
                                            "trips": 0}),
    "trip list, a page of 500 trips of 13 KB": lambda p: ("GET", "/v1/trips?limit=500", {"trips": 500}),
    "trip change feed, a page of 500": lambda p: ("GET", "/v1/trips/changes?limit=500", {"trips": 500}),
    "bundle file, the basin's largest": lambda p: ("GET", "/v1/bundles/basin/{largest}", {}),
    "basemap tile, the basin's largest, inflated for a client that takes no gzip": lambda p: (
        "GET", "/v1/tiles/{tile}.mvt", {"headers": {"Accept-Encoding": "identity"}}),
    "PDF sheet of the 27-point route (938 km), refused": lambda p: ("GET", "/v1/results/{route}.pdf", {}),
    "PDF sheet of the 5-sites tour (161 km, 9 pages)": lambda p: ("GET", "/v1/circuits/cinq-grands-sites?format=pdf",
                                                                  {}),
    "PNG map of the 27-point route, 2,000 × 2,000": lambda p: (
        "GET", "/v1/results/{route}.png?width=2000&height=2000", {}),
    "themed circuit, 150 km over every theme": lambda p: (
        "POST", "/v1/circuits", {"json": {"start": "louvre-lens", "distance_km": 150, "themes": list(THEMES)}}),
    "race upload, a 99,000-point zigzag (491 km), 100 checkpoints": lambda p: ("POST", "/v1/races", {"race": 990}),
    "race FIT of that upload thinned to 500 points": lambda p: ("GET", "/v1/races/{race}.fit?thin_to=500",
                                                                {"race": 990}),
    "race roadbook PDF of the EV5 upload (208 km)": lambda p: ("GET", "/v1/races/{race}.pdf", {"race": "ev5"}),
}


#: The bound that holds each case (README, "Limits and worst cases").
BOUNDS = {
    "route, 27 points across the basin": "27 points; each leg counts against the route limit",
    "route, 3 alternatives": "3 alternatives",
    "isochrone, road_bike 120 min, 6 bands": "6 bands, 180 min, 50 km on the flat",
    "tour, 40 stops": "40 stops; 3 units of solver work (`TOUR_REQUEST_LIMIT_S`)",
    "tour, 40 stops in stages": "the same, and days of at least 1 km",
    "round trips, 3 of 150 km": "3 loops of 1 to 300 km, 8 tries each",
    "round trip of 300 km, refused": "refused before any try: no circle of that size fits",
    "trail, 500 km over 39 terrils": "500 km, 40 terrils; 2 units of solver work (`TRAIL_REQUEST_LIMIT_S`)",
    "GPX analysis, 990 km, 99,000 points": "10 MiB, 500,000 points, 1,000 km, a point in the area",
    "POIs, the 500 nearest within 50 km": "500 a page, 50 km radius",
    "GPX re-render of the 27-point route (938 km): a km marker every km, timestamps, rte":
        "1,000 km markers a file; the heavy limit",
    "TPN-style circuit as a race GPX: checkpoints and aid every km, a km marker every 0.2 km":
        "200 stations a list, 1,000 km markers",
    "trip PUT of 1,000 points, 20 KB of notes and 12 KB of settings (63 KB)":
        "64 KiB, 1,000 points; 500 trips and 8 MiB a token",
    "trip list, a page of 500 trips of 13 KB": "500 a page, 8 MiB a token",
    "trip change feed, a page of 500": "500 a page; 5,000 entries or 30 days kept",
    "bundle file, the basin's largest": "the manifest's files only, sent from disk, Range to resume",
    "basemap tile, the basin's largest, inflated for a client that takes no gzip":
        "one stored tile: a lookup and a copy from the mapped archive (gunzip only without gzip)",
    "PDF sheet of the 27-point route (938 km), refused": "sheets for courses up to 250 km",
    "PDF sheet of the 5-sites tour (161 km, 9 pages)": "250 km, 60 steps, 60 POIs, 8 detail maps; the heavy limit",
    "PNG map of the 27-point route, 2,000 × 2,000": "4,000,000 pixels, sides 200 to 3,000; the heavy limit",
    "themed circuit, 150 km over every theme":
        "150 km, 40 candidates; 2 units of solver work (`TRAIL_REQUEST_LIMIT_S`)",
    "race upload, a 99,000-point zigzag (491 km), 100 checkpoints":
        "10 MiB, 500,000 points, 1,000 km, 100 stations; 50 races a token; the heavy limit",
    "race FIT of that upload thinned to 500 points": "thin_to 50 to 100,000; the heavy limit",
    "race roadbook PDF of the EV5 upload (208 km)": "sheets for courses up to 250 km; the heavy limit",
}


def largest_tile(state) -> tuple[int, int, int]:
    """The (z, x, y) of the largest tile of the served basemap pyramid."""
    from gpx_exports.tileset import open_basemap, pyramid_path

    archive = open_basemap(pyramid_path(state.cfg))
    try:
        sizes = archive.sizes()
        return max(sizes, key=sizes.get)
    finally:
        archive.close()


def _race_form(what) -> dict:
    """A race upload's multipart form: the zigzag of ``what`` km (about half as long measured: its points are 10 m
    apart along the zigzag's parameter) with a checkpoint every 4.5 km, or the EV5 file."""
    import io

    if what == "ev5":
        data = (Settings.from_env().data_dir / "ev5-waymarkedtrails" / "ev5-relation5245117-wmt-2023-05-24.gpx")
        spec = {"start_time": "2027-05-01T07:00:00+02:00", "profile": "bike", "checkpoints": [{"at": 50}]}
        return {"file": (io.BytesIO(data.read_bytes()), "ev5.gpx"), "race": json.dumps(spec)}
    spec = {"start_time": "2027-05-01T07:00:00+02:00", "profile": "bike",
            "checkpoints": [{"at": round(4.5 * k, 1), "name": f"Point de contrôle numéro {k}"} for k in range(1, 101)]}
    return {"file": (io.BytesIO(_zigzag_gpx(what)), "x.gpx"), "race": json.dumps(spec)}


def _prepare(client, state, path: str, kwargs: dict) -> tuple[str, dict]:
    """What a case needs before it is measured: a stored result, a token with its trips, names from the manifest;
    the request's path and arguments, ready."""
    import io

    kwargs = dict(kwargs)
    if "gpx" in kwargs:
        kwargs = {"data": {"file": (io.BytesIO(_zigzag_gpx(kwargs.pop("gpx"))), "x.gpx")}}
    if "{route}" in path:
        route = client.post("/v1/routes", json={"points": picks(state).spread}).get_json()
        path = path.replace("{route}", route["links"]["self"].rsplit("/", 1)[1])
    if "{tile}" in path:
        path = path.replace("{tile}", "/".join(map(str, largest_tile(state))))
    if "{largest}" in path:
        manifest = client.get("/v1/bundles/basin/manifest.json").get_json()
        path = path.replace("{largest}", max(manifest["files"], key=lambda f: f["size"])["name"])
    if "race" in kwargs:
        headers = {"Authorization": f"Bearer {client.post('/v1/devices').get_json()['token']}"}
        form = _race_form(kwargs.pop("race"))
        if "{race}" in path:
            made = client.post("/v1/races", headers=headers, data=form, content_type="multipart/form-data")
            path = path.replace("{race}", made.get_json()["id"])
        else:
            kwargs.update(data=form, headers=headers, content_type="multipart/form-data")
    if "trips" in kwargs:
        headers = {"Authorization": f"Bearer {client.post('/v1/devices').get_json()['token']}"}
        trip = {"name": "t", "profile": "walk", "points": [LOUVRE] * 200, "notes": "n" * 8_000}  # 500 fill the quota
        for _ in range(kwargs.pop("trips")):
            assert client.put(f"/v1/trips/{uuid.uuid4()}", json=trip, headers=headers).status_code == 201
        kwargs["headers"] = headers
    return path, kwargs


def run_case(name: str, *, trace: bool = False) -> dict:
    """In this (child) process: load the app on its own Redis, warm the endpoint with a small request, prepare the
    case, then run it (with ``trace``, under tracemalloc: the peak of what the request allocates, numpy's buffers
    included, which the process's peak RSS hides when the app's loading peaked higher)."""
    from api import create_app

    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp) / "redis", appendfsync="always") as redis:
        cfg = dataclasses.replace(Settings.from_env(), export_dir=Path(tmp) / "exports")  # nothing computed before
        app = create_app({"REDIS_URL": redis.url, "GALIBOT_SECRET": "bench-secret", "GALIBOT_SETTINGS": cfg,
                          **UNLIMITED})
        state = app.extensions["galibot.graph"]
        assert state.wait(600), state.error
        client = app.test_client()
        method, path, kwargs = CASES[name](picks(state))
        client.post("/v1/routes", json={"points": [LOUVRE, BASE_11_19]})
        path, kwargs = _prepare(client, state, path, kwargs)
        return _measure(client, method, path, kwargs, trace=trace)


def _measure(client, method: str, path: str, kwargs: dict, *, trace: bool = False) -> dict:
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if trace:
        tracemalloc.start()
    cpu, wall = time.process_time(), time.perf_counter()
    resp = client.open(path, method=method, **kwargs)
    traced = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    tracemalloc.stop()
    out = {"status": resp.status_code, "cpu_s": round(time.process_time() - cpu, 2),
           "wall_s": round(time.perf_counter() - wall, 2), "bytes": len(resp.get_data()),
           "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base_rss)}
    if resp.status_code >= 400:
        out["detail"] = (resp.get_json() or {}).get("detail", "")[:120]
    if traced is not None:
        out["traced_mb"] = round(traced)
    return out


def worst_cases(names: list[str], *, trace: bool = False) -> dict[str, dict]:
    """Each case in a child process of its own (``trace``: under tracemalloc, for its memory; not its CPU)."""
    out = {}
    for name in names:
        proc = subprocess.run([sys.executable, "-m", "bench.hardening", "case", name, *(["--trace"] if trace else [])],
                              cwd=ROOT, capture_output=True, text=True)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        out[name] = json.loads(lines[-1]) if lines else {"status": "failed", "detail": proc.stderr[-300:]}
        print(f"  {name}: {out[name]}", file=sys.stderr, flush=True)
    return out


#: The columns of ``worst_rows``.
WORST_HEADER = ["| case | status | CPU s | wall s | peak MB | bytes | bound | detail |",
                "|---|---|---|---|---|---|---|---|"]


def worst_rows(worst: dict[str, dict]) -> list[str]:
    """The table of worst cases measured by ``worst_cases`` (header included), each with the bound that holds it."""
    return [*WORST_HEADER, *(f"| {name} | {v['status']} | {v.get('cpu_s', '')} | {v.get('wall_s', '')} | "
                             f"{v.get('peak_mb', '')} | {v.get('bytes', 0):,} | {BOUNDS[name]} | "
                             f"{v.get('detail', '')} |" for name, v in worst.items())]


class Served:
    """``python -m api.serve`` on the whole basin (nginx, ``workers`` × 8 threads) with its own capped Redis.

    ``job_workers`` RQ workers take the heavy requests; none by default, so what a request costs is measured in
    the request (``make run`` starts one: bench.throughput measures the jobs).
    """

    def __init__(self, cfg: Settings, tmp: Path, *, export_max_mb: float = 1024, redis_maxmemory: str = "256mb",
                 limits: bool = False, log: Path | None = None, workers: int = 2, job_workers: int = 0) -> None:
        self.redis = EmbeddedRedis(tmp / "redis", appendfsync="always", maxmemory=redis_maxmemory).start()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "REDIS_URL": self.redis.url, "GALIBOT_CACHE_DIR": str(cfg.cache_dir),
               "GALIBOT_DATA_DIR": str(cfg.data_dir), "GALIBOT_EXPORT_DIR": str(tmp / "exports"),
               "GALIBOT_EXPORT_MAX_MB": str(export_max_mb), "GALIBOT_SECRET": "bench-secret"}
        if not limits:
            env.update(UNLIMITED)
        self.export_dir = tmp / "exports"
        self.proc = subprocess.Popen([sys.executable, "-m", "api.serve", "--port", str(self.port),
                                      "--workers", str(workers), "--job-workers", str(job_workers)],
                                     cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL,
                                     stderr=log.open("wb") if log else subprocess.DEVNULL)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                if self._built():
                    return
            except requests.RequestException:
                pass
            time.sleep(1)
        raise RuntimeError("api.serve did not become ready")

    def _built(self) -> bool:
        """Whether the server's background build is over: the named circuits, then the basin bundle (its version,
        or the error that stopped it). A new code version routes both anew, on the same cores: no figure may pay
        for it."""
        if requests.get(f"{self.base}/v1/circuits", timeout=5).status_code != 200:
            return False
        return bool(requests.get(f"{self.base}/v1/health", timeout=5).json().get("bundle"))

    def workers(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self._master())], capture_output=True, text=True).stdout
        return sorted(int(p) for p in out.split())

    def _master(self) -> int:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid), "-f", "gunicorn"], capture_output=True, text=True)
        return int(out.stdout.split()[0])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)
        self.redis.stop()


def slow_clients(served: Served, n: int = 64, seconds: float = 20) -> dict:
    """``n`` connections send a 1 MB body one byte every 2 s; /v1/health is timed 4 times a second."""
    stop = time.monotonic() + seconds
    socks = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(n)]
    for s in socks:
        s.sendall(b"POST /v1/routes HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000000\r\n\r\n{")
    latencies, failed, last_drip = [], 0, 0.0
    while time.monotonic() < stop:
        if time.monotonic() - last_drip >= 2:
            for s in socks:
                s.sendall(b" ")
            last_drip = time.monotonic()
        started = time.monotonic()
        try:
            failed += requests.get(f"{served.base}/v1/health", timeout=5).status_code != 200
        except requests.RequestException:
            failed += 1
        latencies.append(time.monotonic() - started)
        time.sleep(0.25)
    for s in socks:
        s.close()
    latencies.sort()
    return {"clients": n, "checks": len(latencies), "failed": failed,
            "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
            "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1),
            "max_ms": round(latencies[-1] * 1000, 1)}


def worker_restart(served: Served, seconds: float = 20) -> dict:
    """SIGKILL a worker under 8 client threads (routes and health); count the answers and time the recovery."""
    codes: collections.Counter = collections.Counter()
    stop = time.monotonic() + seconds
    rng = random.Random(3)

    def load() -> None:
        with requests.Session() as session:
            while time.monotonic() < stop:
                b = [BASE_11_19[0] + rng.uniform(-0.05, 0.05), BASE_11_19[1] + rng.uniform(-0.03, 0.03)]
                try:
                    codes[session.post(f"{served.base}/v1/routes", json={"points": [LOUVRE, b]}, timeout=60)
                          .status_code] += 1
                    codes[session.get(f"{served.base}/v1/health", timeout=60).status_code] += 1
                except requests.RequestException as exc:
                    codes[type(exc).__name__] += 1

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(seconds / 3)
    before = served.workers()
    killed_at = time.monotonic()
    os.kill(before[0], signal.SIGKILL)
    while len(served.workers()) < len(before) or before[0] in served.workers():
        time.sleep(0.01)
    recovered_s = time.monotonic() - killed_at
    for t in threads:
        t.join()
    return {"answers": dict(codes), "non_200": sum(v for k, v in codes.items() if k != 200),
            "recovery_s": round(recovered_s, 2)}


def made_up_tokens(served: Served, n: int = 100) -> dict:
    """``n`` round trips, each with a new made-up bearer token, against the default limits."""
    loop = {"start": LOUVRE, "distance_km": 5, "profile": "walk"}
    codes = collections.Counter(
        requests.post(f"{served.base}/v1/roundtrips", json=loop,
                      headers={"Authorization": f"Bearer made-up-{k:04d}-{uuid.uuid4().hex}"}, timeout=120).status_code
        for k in range(n))
    return {"requests": n, "answers": dict(codes)}


def storage(served: Served, cfg: Settings, *, routes: int, trips: int) -> dict:
    """``routes`` uncached routes between random nodes and ``trips`` trip writes (60 KB each, over 20 tokens)."""
    from bench.load import random_pairs

    pairs = random_pairs(cfg, n=routes, seed=11)
    codes: collections.Counter = collections.Counter()
    lock = threading.Lock()

    def route_some(chunk: list) -> None:
        with requests.Session() as session:
            for a, b in chunk:
                code = session.post(f"{served.base}/v1/routes", json={"points": [a, b], "profile": "walk"},
                                    timeout=120).status_code
                with lock:
                    codes[code] += 1

    threads = [threading.Thread(target=route_some, args=(pairs[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tokens = [make_token(b"bench-secret", f"bench-{k}") for k in range(20)]
    written, trip_codes = [], collections.Counter()
    notes, settings = "x" * 20_000, {"offline_notes": "y" * 40_000}  # 60 KB, under the 64 KiB trip limit
    for k in range(trips):
        token, tid = tokens[k % len(tokens)], str(uuid.uuid4())
        resp = requests.put(f"{served.base}/v1/trips/{tid}", headers={"Authorization": f"Bearer {token}"},
                            json={"name": f"trip {k}", "profile": "bike", "points": [LOUVRE], "notes": notes,
                                  "settings": settings}, timeout=30)
        trip_codes[resp.status_code] += 1
        if resp.status_code == 201:
            written.append((token, tid))
    lost = sum(requests.get(f"{served.base}/v1/trips/{tid}", headers={"Authorization": f"Bearer {token}"},
                            timeout=30).status_code != 200 for token, tid in written)
    import redis as redis_client

    info = redis_client.Redis.from_url(served.redis.url).info("memory")
    store = sum(f.stat().st_size for f in served.export_dir.rglob("*") if f.is_file())
    return {"routes": dict(codes), "trip_writes": dict(trip_codes), "trips_kept": len(written) - lost,
            "trips_lost": lost, "export_bytes": store, "redis_used": info["used_memory"],
            "redis_max": info["maxmemory"], "evicted_keys": redis_client.Redis.from_url(served.redis.url)
            .info("stats")["evicted_keys"]}


def run(cfg: Settings, *, routes: int = 10_000, trips: int = 5_000) -> dict:
    out = {"worst": worst_cases(list(CASES))}
    with tempfile.TemporaryDirectory() as tmp:
        served = Served(cfg, Path(tmp), limits=True)  # the default rate limits
        try:
            out["slow"] = slow_clients(served)
            out["tokens"] = made_up_tokens(served)
        finally:
            served.stop()
    with tempfile.TemporaryDirectory() as tmp:
        served = Served(cfg, Path(tmp), export_max_mb=200, redis_maxmemory="128mb")  # no rate limits: one client
        try:
            out["restart"] = worker_restart(served)
            out["storage"] = storage(served, cfg, routes=routes, trips=trips)
            out["storage"]["export_cap"] = 200 * 2**20
        finally:
            served.stop()
    return out


def section(cfg: Settings, *, routes: int = 10_000, trips: int = 5_000) -> str:
    """The BENCHMARKS.md section, from one run."""
    r = run(cfg, routes=routes, trips=trips)
    rows = "\n".join(f"| {name} | {v['status']} | {v.get('cpu_s', '')} | {v.get('wall_s', '')} "
                     f"| {v.get('peak_mb', '')} | {v.get('bytes', 0):,} | {BOUNDS[name]} | {v.get('detail', '')} |"
                     for name, v in r["worst"].items())
    s, k, t, st = r["slow"], r["restart"], r["tokens"], r["storage"]
    accepted = [v for v in r["worst"].values() if v["status"] in (200, 201)]
    most_cpu = max(v["cpu_s"] for v in accepted)
    most_mb = max(v["peak_mb"] for v in accepted)
    return f"""## Hardening (issue 14)

Command: `python -m bench.run hardening` (this machine, the whole basin). Each worst case runs in a child process of
its own, in process through Flask's test client: CPU seconds of the process (every thread) and peak RSS above the
loaded app's. The rest goes through `python -m api.serve` (nginx in front of gunicorn, 2 workers × 8 threads).

### Worst cases: each endpoint's most expensive accepted request

| request | status | CPU s | wall s | peak MB above the app | bytes | the bound that holds it | refused because |
|---|---|---|---|---|---|---|---|
{rows}

Target: no accepted request over 10 CPU-seconds or 500 MB above the app. The most any takes here:
**{most_cpu} CPU-s** and **{most_mb} MB**.

### Slow clients, a killed worker, made-up tokens

- {s['clients']} connections each sending a 1 MB body one byte every 2 s, for 20 s: `/v1/health` answered
  {s['checks'] - s['failed']} of {s['checks']} checks, p50 {s['p50_ms']} ms, **p99 {s['p99_ms']} ms**,
  max {s['max_ms']} ms.
- A gunicorn worker SIGKILLed under 8 client threads (routes and health, 20 s): answers {k['answers']},
  **{k['non_200']} not 200**; the replacement worker was forked in **{k['recovery_s']} s**.
- {t['requests']} round trips, each with a new made-up bearer token, default limits: {t['answers']} (the planner limit
  is 30 a minute per client; an unsigned token counts as its address).

### Storage under its caps

{routes:,} uncached walk routes between random nodes (4 client threads) and {trips:,} trip writes of 60 KB over 20
device tokens, with the export store capped at {st['export_cap'] // 2**20} MiB and Redis at
{st['redis_max'] // 2**20} MiB (`volatile-lru`):

- routes: {st['routes']}; trip writes: {st['trip_writes']} (413: a token's quota is full; 503: Redis is full of
  trips, with no cached result left to evict);
- export store at the end: **{st['export_bytes'] / 2**20:.1f} MiB** of {st['export_cap'] // 2**20} MiB;
- Redis used memory at the end: **{st['redis_used'] / 2**20:.1f} MiB** of {st['redis_max'] // 2**20} MiB,
  {st['evicted_keys']:,} keys evicted (cached results);
- trips acknowledged and read back: {st['trips_kept']:,}; **lost: {st['trips_lost']}**.
"""


if __name__ == "__main__":
    if sys.argv[1:2] == ["case"]:
        print(json.dumps(run_case(sys.argv[2], trace="--trace" in sys.argv[3:])))
    else:
        scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
        print(json.dumps(run(Settings.from_env(), routes=int(10_000 * scale), trips=int(5_000 * scale)), indent=1))
