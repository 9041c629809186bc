"""Every endpoint through `python -m api.serve` (nginx in front of a preloaded gunicorn) on loopback, against a real
Redis: what the app sees in production."""

from __future__ import annotations

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import mapbox_vector_tile as mvt
import pytest
import requests

from api.devices import make_token
from api.nginx import find_nginx
from api.redis_server import EmbeddedRedis, free_port
from bench.fuzz import command as fuzz_command
from gpx_exports import tileset
from tests.conftest import BASE_11_19, LOUVRE
from tests.conftest import assert_problem as problem

#: a real gunicorn serving the whole basin: the slow tier
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SECRET = "gunicorn-test-secret"
DEVICE = make_token(SECRET.encode(), "gunicorn-test-device")


@pytest.fixture(scope="module")
def server(cfg, basin_graph, catalogue, circuits, tmp_path_factory):
    """``python -m api.serve`` (what ``make run`` runs: nginx in front of a preloaded gunicorn) with the test caches
    (graph, catalogue and circuits already built), on its own Redis."""
    assert find_nginx(), "make install installs nginx; api.serve puts it in front of gunicorn"
    tileset.build_pyramid(cfg)  # the tests' basemap (seconds; found if another test built it)
    redis = EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendfsync="always").start()
    port = free_port()
    log = tmp_path_factory.mktemp("log") / "serve.log"
    env = _serving_env(cfg, redis.url, tmp_path_factory.mktemp("exports"))
    proc = subprocess.Popen([sys.executable, "-m", "api.serve", "--port", str(port), "--workers", "2", "--threads",
                             "4"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc, log)
        yield base, redis, log
    finally:
        proc.terminate()
        proc.wait(30)
        redis.stop()


def _serving_env(cfg, redis_url: str, exports: Path) -> dict[str, str]:
    """The environment of the served app: the test caches (graph, catalogue and circuits already built)."""
    return {**os.environ, "REDIS_URL": redis_url, "GALIBOT_CACHE_DIR": str(cfg.cache_dir),
            "GALIBOT_PLANNER_LIMIT": "100000 per minute",  # the fuzzing below is one client; limits: test_api_limits
            "GALIBOT_HEAVY_LIMIT": "100000 per minute", "GALIBOT_ROUTE_LIMIT": "1000000 per minute",
            "GALIBOT_DEVICE_LIMIT": "100000 per minute", "GALIBOT_SECRET": SECRET,
            "GALIBOT_DATA_DIR": str(cfg.data_dir), "GALIBOT_EXPORT_DIR": str(exports),
            "GALIBOT_BASEMAP_BBOX": ",".join(map(str, cfg.basemap_bbox))}


def _wait_ready(base: str, proc: subprocess.Popen, log: Path, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            if requests.get(f"{base}/v1/health", timeout=2).status_code == 200:
                circuits = requests.get(f"{base}/v1/circuits", timeout=5)
                if circuits.status_code == 200:
                    return
        except requests.RequestException:  # refused while starting, slow while the graph loads
            pass
        time.sleep(0.5)
    pytest.fail("gunicorn did not become ready")


def test_every_endpoint_answers(server, cfg):
    base, _, _ = server
    health = requests.get(f"{base}/v1/health").json()
    assert health["status"] == "ok" and health["redis"] == "up" and health["graph"]["nodes"] > 100_000
    pois = requests.get(f"{base}/v1/pois", params={"theme": "terrils", "limit": 5}).json()
    assert pois["total"] > 100 and len(pois["features"]) == 5
    assert requests.get(f"{base}/v1/pois/terril-t074").json()["properties"]["name"]
    route = requests.post(f"{base}/v1/routes", json={"points": [LOUVRE, BASE_11_19]})
    assert route.status_code == 200 and route.json()["properties"]["distance_m"] > 1000
    tour = requests.post(f"{base}/v1/tours", json={"start": "louvre-lens", "stops": ["great-site-base-11-19"]})
    assert tour.status_code == 200 and tour.json()["properties"]["kind"] == "tour"
    loops = requests.post(f"{base}/v1/roundtrips", json={"start": LOUVRE, "distance_km": 10, "count": 2})
    assert loops.status_code == 200 and len(loops.json()["features"]) == 2
    trail = _job_result(base, requests.post(f"{base}/v1/trails",
                                            json={"start": BASE_11_19, "distance_km": 15, "terrils": 3}))
    assert len(trail["features"][0]["properties"]["summits"]) == 3
    iso = requests.get(f"{base}/v1/isochrones", params={"start": "2.8037,50.4306", "minutes": "5,10"})
    assert [f["properties"]["minutes"] for f in iso.json()["features"]] == [5, 10]
    assert len(requests.get(f"{base}/v1/circuits").json()["circuits"]) >= 6
    circuit = requests.get(f"{base}/v1/circuits/memoire-14-18", params={"format": "gpx"})
    assert circuit.status_code == 200 and circuit.headers["Content-Type"].startswith("application/gpx+xml")
    shared = requests.get(base + route.json()["links"]["gpx"])
    assert shared.status_code == 200 and b"<trk>" in shared.content
    ev5 = (cfg.data_dir / "ev5-waymarkedtrails" / "ev5-relation5245117-wmt-2023-05-24.gpx").read_bytes()
    analysis = _job_result(base, requests.post(f"{base}/v1/gpx/analyze", files={"file": ("ev5.gpx", ev5)},
                                               data={"snap": "false"}))  # 302 KB: analysed by the worker
    assert analysis["matched_share"] > 0.9
    manifest = requests.get(f"{base}/v1/bundles/basin/manifest.json").json()
    pois_file = next(f for f in manifest["files"] if f["role"] == "pois")
    part = requests.get(f"{base}/v1/bundles/basin/{pois_file['name']}", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100 and part.headers["ETag"] == f'"{pois_file["sha256"]}"'
    tile = requests.get(f"{base}/v1/tiles/14/8320/5526.mvt")  # the Louvre-Lens, through nginx
    assert tile.status_code == 200 and "transportation" in mvt.decode(tile.content)
    delta = requests.get(f"{base}/v1/pois/changes", params={"since": manifest["poi_version"]}).json()
    assert delta["version"] == manifest["poi_version"] and delta["added"] == []
    auth = {"Authorization": f"Bearer {DEVICE}"}
    tid = "0b7d3c5e-2f0a-4c1e-9a57-3d2f6c8e1a90"
    saved = requests.put(f"{base}/v1/trips/{tid}", headers=auth,
                         json={"name": "11/19", "profile": "walk", "points": [LOUVRE, BASE_11_19]})
    assert saved.status_code in (200, 201) and saved.headers["ETag"]
    assert any(c["id"] == tid for c in requests.get(f"{base}/v1/trips/changes", headers=auth).json()["changes"])
    assert requests.get(f"{base}/openapi.json").json()["openapi"].startswith("3.")
    assert requests.get(f"{base}/docs").headers["Content-Type"].startswith("text/html")


def _job_result(base: str, queued: requests.Response, timeout_s: float = 240) -> dict:
    """The result of a request api.serve hands to its RQ worker (202, then the job at Location)."""
    assert queued.status_code == 202 and queued.headers["Location"].startswith("/v1/jobs/"), queued.text
    deadline = time.monotonic() + timeout_s
    while (job := requests.get(base + queued.headers["Location"]).json())["status"] not in ("finished", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.5)
    assert job["status"] == "finished", job
    return requests.get(base + job["links"]["result"]).json()


def test_errors_are_problems_and_etags_give_304(server):
    base, _, _ = server
    problem(requests.post(f"{base}/v1/routes", json={"points": [LOUVRE, [4.35, 50.85]]}), 422, "points[1]")
    problem(requests.post(f"{base}/v1/routes", json={"points": [LOUVRE], "profile": "horse"}), 422)
    problem(requests.get(f"{base}/v1/pois/no-such-place"), 404)
    problem(requests.post(f"{base}/v1/trails", json={"start": BASE_11_19, "distance_km": 2, "terrils": 20}), 422,
            "terrils")
    problem(requests.post(f"{base}/v1/gpx/analyze", files={"file": ("x.gpx", b"not xml")}), 400, "file")
    problem(requests.post(f"{base}/v1/gpx/analyze", files={"file": ("x.gpx", b" " * (12 * 1024 * 1024))}), 413)
    problem(requests.get(f"{base}/v1/nowhere"), 404)
    first = requests.post(f"{base}/v1/routes", json={"points": [BASE_11_19, LOUVRE], "profile": "walk"})
    again = requests.post(f"{base}/v1/routes", json={"points": [BASE_11_19, LOUVRE], "profile": "walk"},
                          headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == first.headers["ETag"]


def test_nginx_answers_a_result_asked_again(server):
    """A computed result asked again is nginx's to answer (X-Proxy-Cache: HIT), keyed on the body and the headers the
    answer depends on; a problem or a job is never kept."""
    base, _, _ = server
    body = {"points": [LOUVRE, BASE_11_19], "profile": "trail"}
    first = requests.post(f"{base}/v1/routes", json=body)
    again = requests.post(f"{base}/v1/routes", json=body)
    assert first.status_code == again.status_code == 200
    assert (first.headers["X-Proxy-Cache"], again.headers["X-Proxy-Cache"]) == ("MISS", "HIT")
    assert again.content == first.content and again.headers["ETag"] == first.headers["ETag"]
    # one client's counters are never repeated to another (the route limit is on in this server)
    assert not {"X-RateLimit-Remaining", "X-Cache"} & {*first.headers, *again.headers}
    assert "X-RateLimit-Remaining" in requests.get(f"{base}/v1/isochrones", params={"start": "2.8037,50.4306",
                                                                                   "minutes": "5"}).headers
    other = requests.post(f"{base}/v1/routes", json={**body, "profile": "walk"})
    assert other.headers["X-Proxy-Cache"] == "MISS" and other.content != first.content
    german = requests.post(f"{base}/v1/routes", json=body, headers={"Accept-Language": "de"})
    assert german.headers["X-Proxy-Cache"] == "MISS"
    assert german.json()["properties"]["instructions"][0]["text"] != \
        first.json()["properties"]["instructions"][0]["text"]
    assert requests.post(f"{base}/v1/routes", json=body,
                         headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    bad = {"points": [LOUVRE, [4.35, 50.85]]}
    for _ in range(2):
        refused = requests.post(f"{base}/v1/routes", json=bad)
        assert refused.status_code == 422 and refused.headers["X-Proxy-Cache"] == "MISS"
    shared = requests.get(base + first.json()["links"]["gpx"])
    assert requests.get(base + first.json()["links"]["gpx"]).headers["X-Proxy-Cache"] == "HIT"
    assert shared.status_code == 200


#: Schema fuzzing budget: examples per operation, so a CI run is bounded (a few minutes); the seed is bench.fuzz's.
#: ``python -m bench.run fuzz`` runs the same fuzzers with 600 (over 25,000 cases).
FUZZ_EXAMPLES = 25


def _schemathesis(base: str, cwd: Path, token: str | None) -> subprocess.Popen:
    """One schemathesis run, as bench.fuzz makes it: every check, every phase (the stateful one over the OpenAPI
    links), tests/schemathesis.toml."""
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(fuzz_command(base, examples=FUZZ_EXAMPLES, token=token), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=cwd)


def test_schemathesis_finds_no_5xx_and_no_contract_violation(server, tmp_path):
    """With a device token and without one, side by side."""
    base, _, log = server
    runs = {"with a token": _schemathesis(base, tmp_path / "token", DEVICE),
            "without a token": _schemathesis(base, tmp_path / "anonymous", None)}
    for name, run in runs.items():
        out, _ = run.communicate(timeout=600)
        report = "\n".join(line[:400] for line in out.splitlines())  # fuzzed URLs can be very long
        assert run.returncode == 0, f"{name}:\n" + report[-8000:] + "\n--- server log ---\n" + log.read_text()[-4000:]


def test_slow_clients_do_not_hold_the_workers(server):
    """64 clients send a 1 MB body one byte every 2 s: nginx holds them, and health answers throughout."""
    base, _, _ = server
    port = int(base.rsplit(":", 1)[1])
    stop = time.monotonic() + 8
    socks = []
    for _ in range(64):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /v1/routes HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000000\r\n\r\n{")
        socks.append(s)
    codes = []
    try:
        while time.monotonic() < stop:
            for s in socks:
                s.sendall(b" ")
            codes.append(requests.get(f"{base}/v1/health", timeout=5).status_code)
            time.sleep(0.25)
    finally:
        for s in socks:
            s.close()
    assert codes and set(codes) == {200}  # each within the 5 s timeout; the benchmark measures the p99


def test_a_body_too_large_is_refused_before_it_is_sent(server):
    base, _, _ = server
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /v1/gpx/analyze HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                  b"Content-Length: 300000000\r\n\r\n")
        head = s.recv(4096).decode()
    assert head.startswith("HTTP/1.1 413") and "application/problem+json" in head


def test_the_server_in_front_answers_its_own_errors_as_problems(server):
    base, _, _ = server
    problem(requests.get(f"{base}/v1/pois?q={'a' * 5000}"), 414)
    problem(requests.get(f"{base}/v1/health", headers={"X-Big": "a" * 9000}), 431)
    # nginx refuses TRACE itself; its 405 lists what the path serves, as the app's own 405 does (found by fuzzing)
    for path, allow in (("/v1/trips/0b7d3c5e-2f0a-4c1e-9a57-3d2f6c8e1a90", "DELETE, GET, HEAD, OPTIONS, PUT"),
                        ("/v1/trips/changes?cursor=0", "GET, HEAD, OPTIONS"), ("/v1/routes", "OPTIONS, POST")):
        trace = requests.request("TRACE", base + path)
        problem(trace, 405)
        assert trace.headers["Allow"] == allow
        app_405 = requests.request("PATCH", base + path.split("?")[0])  # the app's own 405 lists the same methods
        assert set(app_405.headers["Allow"].split(", ")) == set(allow.split(", "))


def test_the_preloaded_app_stays_shared_with_the_workers_forked_from_it(server, cfg, tmp_path):
    """``wsgi.py`` under ``--preload`` freezes what it loaded out of the garbage collector: a full collection in a
    process forked from it (a gunicorn worker) leaves the loaded objects' pages shared. Without the freeze, one
    collection makes about 110 MB of them private (``python -m bench.run throughput``). ``server`` has built the
    caches this load reads."""
    redis = EmbeddedRedis(tmp_path / "redis").start()
    env = {**_serving_env(cfg, redis.url, tmp_path / "exports"), "GALIBOT_PRELOAD": "1"}
    try:
        run = subprocess.run([sys.executable, "-c", "import gc, json, wsgi\n"
                              "from bench.throughput import collection_after_fork\n"
                              "print(json.dumps([gc.get_freeze_count(), *collection_after_fork()]))"],
                             cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=600)
    finally:
        redis.stop()
    assert run.returncode == 0, run.stderr[-2000:]
    frozen, before_mb, after_mb, _ = json.loads(run.stdout.splitlines()[-1])
    assert frozen > 100_000  # the catalogue, the graph's attribute tables, the circuits
    assert after_mb - before_mb < 16


def test_a_killed_worker_costs_no_request(server):
    """SIGKILL one of the two workers under load: nginx retries what it held on the other, and gunicorn forks a
    ready replacement from the preloaded master."""
    base, _, _ = server
    codes: list[int] = []
    stop = time.monotonic() + 6

    def load():
        with requests.Session() as session:
            while time.monotonic() < stop:
                codes.append(session.post(f"{base}/v1/routes", json={"points": [LOUVRE, BASE_11_19]},
                                          timeout=30).status_code)
                codes.append(session.get(f"{base}/v1/health", timeout=30).status_code)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(2)
    workers = _gunicorn_workers()
    os.kill(workers[0], signal.SIGKILL)
    for t in threads:
        t.join()
    assert codes and set(codes) == {200}, collections.Counter(codes)
    assert len(_gunicorn_workers()) == 2


def _gunicorn_workers() -> list[int]:
    """The pids of this module's gunicorn workers: the children of the master serving wsgi:app here."""
    out = subprocess.run(["pgrep", "-f", f"gunicorn.*{ROOT.name}.*wsgi:app"], capture_output=True, text=True).stdout
    pids = sorted(int(p) for p in out.split())
    parents = {p: int(Path(f"/proc/{p}/stat").read_text().split(")")[1].split()[1]) for p in pids
               if Path(f"/proc/{p}/stat").exists()}
    return [p for p, parent in parents.items() if parent in parents]


def test_when_redis_dies_gunicorn_keeps_serving(server):
    base, redis, _ = server
    redis.kill()
    resp = requests.post(f"{base}/v1/routes", json={"points": [LOUVRE, BASE_11_19], "profile": "mtb"})
    assert resp.status_code == 200
    assert requests.get(f"{base}/v1/health").json()["redis"] == "down"
    assert requests.post(f"{base}/v1/roundtrips", json={"start": LOUVRE, "distance_km": 6}).status_code == 200


def test_make_run_stops_gunicorn_and_its_redis_on_sigterm(cfg, tmp_path):
    """``python -m api.serve`` (what ``make run`` runs) leaves nothing behind when it is told to stop."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(GALIBOT_CACHE_DIR=str(tmp_path), GALIBOT_DATA_DIR=str(cfg.data_dir),
               GALIBOT_AREA="2.78,50.44,2.79,50.45")
    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "api.serve", "--port", str(port), "--workers", "1"], cwd=ROOT,
                             env=env, stderr=subprocess.PIPE, text=True)
    first = serve.stderr.readline()  # "galibot: embedded redis-server on redis://127.0.0.1:<port>/0 …"
    redis_url = first.split(" on ")[1].split()[0]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=2)
            break
        except requests.RequestException:
            time.sleep(0.5)
    serve.terminate()
    assert serve.wait(30) == 0
    import redis as redis_client

    with pytest.raises(redis_client.ConnectionError):
        redis_client.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=2)
