"""Heavy requests as jobs: the API in queue mode (what ``make run`` serves) and a real RQ worker process
(``python -m api.worker``) on a real Redis, on the whole basin."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.redis_server import EmbeddedRedis
from tests.conftest import BASE_11_19, assert_problem

#: a worker process loading the whole basin: the slow tier
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
COURSE = {"start": "great-site-base-11-19", "distance_km": 30, "terrils": 5}


@pytest.fixture(scope="module")
def queued(cfg, basin_graph, catalogue, circuits, tmp_path_factory):
    """(test client of an API that queues heavy requests, the worker process) on their own Redis."""
    from api import create_app

    redis = EmbeddedRedis(tmp_path_factory.mktemp("jobs-redis")).start()
    log = tmp_path_factory.mktemp("jobs-log") / "worker.log"
    env = {**os.environ, "REDIS_URL": redis.url, "GALIBOT_CACHE_DIR": str(cfg.cache_dir),
           "GALIBOT_DATA_DIR": str(cfg.data_dir), "GALIBOT_EXPORT_DIR": str(tmp_path_factory.mktemp("worker-exports")),
           "GALIBOT_BASEMAP_BBOX": ",".join(map(str, cfg.basemap_bbox))}
    worker = subprocess.Popen([sys.executable, "-m", "api.worker"], cwd=ROOT, env=env, stderr=log.open("wb"))
    settings = dataclasses.replace(cfg, export_dir=tmp_path_factory.mktemp("queued-exports"))
    app = create_app({"REDIS_URL": redis.url, "GALIBOT_SETTINGS": settings, "GALIBOT_GRAPH": basin_graph,
                      "GALIBOT_JOBS": "queue"})
    try:
        assert app.extensions["galibot.graph"].wait(300)
        _wait_for(lambda: b"ready" in log.read_bytes() or worker.poll() is not None, 300)
        assert worker.poll() is None, log.read_text()
        yield app.test_client(), worker
    finally:
        worker.terminate()
        worker.wait(30)
        redis.stop()


def _wait_for(condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def _stage(client, location: str) -> tuple[str | None, float]:
    job = client.get(location).get_json()
    return job["stage"], job["progress"]


def _finished(client, location: str, timeout_s: float = 240) -> dict:
    """Poll a job until it has finished or failed."""
    deadline = time.monotonic() + timeout_s
    while True:
        job = client.get(location)
        assert job.status_code == 200, job.get_data(as_text=True)
        body = job.get_json()
        if body["status"] in ("finished", "failed"):
            return body
        assert job.headers["Retry-After"]
        assert time.monotonic() < deadline, body
        time.sleep(0.5)


def test_a_trail_course_is_a_job_whose_result_is_the_inline_one(queued, client):
    api, _ = queued
    first = api.post("/v1/trails", json=COURSE)
    assert first.status_code == 202 and first.headers["Location"].startswith("/v1/jobs/")
    assert first.get_json()["status"] in ("queued", "started") and first.get_json()["endpoint"] == "trails"
    again = api.post("/v1/trails", json={**COURSE, "lang": "fr"})  # the same course in another language: one job
    assert again.status_code == 202 and again.headers["Location"] == first.headers["Location"]
    job = _finished(api, first.headers["Location"])
    assert job["status"] == "finished" and job["progress"] == 1.0 and job["problem"] is None, job
    assert job["attempts"] == 1
    result = api.get(job["links"]["result"])
    assert result.status_code == 200
    inline = client.post("/v1/trails", json=COURSE)
    assert inline.status_code == 200
    queued_course, inline_course = result.get_json()["features"][0], inline.get_json()["features"][0]
    assert queued_course["geometry"] == inline_course["geometry"]
    assert queued_course["properties"]["summits"] == inline_course["properties"]["summits"]
    assert len(queued_course["properties"]["summits"]) == 5
    # once computed, the request is answered in place, in the reader's language, from the stored body
    served = api.post("/v1/trails", json={**COURSE, "lang": "fr"})
    assert served.status_code == 200 and served.get_json()["features"][0]["geometry"] == inline_course["geometry"]
    assert api.get(job["links"]["gpx"]).status_code == 200


def test_an_impossible_course_is_refused_before_it_is_queued(queued):
    api, _ = queued
    body = assert_problem(api.post("/v1/trails", json={"start": BASE_11_19, "distance_km": 2, "terrils": 20}), 422,
                          "terrils")
    assert "within reach" in body["detail"]
    assert_problem(api.post("/v1/trails", json={"start": [2.0, 48.8], "distance_km": 20, "terrils": 2}), 422,
                   "start[0]")


def test_a_course_the_planner_cannot_close_fails_its_job_with_the_request_problem(queued):
    """What only the solve finds (4 summits within reach of the Base 11/19, but no 6 km loop over them) fails the
    job with the problem the request would answer in place, and is not run again."""
    api, _ = queued
    resp = api.post("/v1/trails", json={"start": BASE_11_19, "distance_km": 6, "terrils": 4})
    assert resp.status_code == 202
    job = _finished(api, resp.headers["Location"])
    assert job["status"] == "failed" and job["problem"]["status"] == 422 and job["attempts"] == 1, job
    assert job["problem"]["field"] == "distance_km" and "no course of 6 km" in job["problem"]["detail"]


def test_a_worker_killed_mid_job_runs_it_again(queued):
    """SIGKILL on the work horse computing a job: RQ marks the run failed and runs the job once more.

    60 km over 12 terrils is not proven optimal, so its solve takes the whole deterministic budget (seconds on
    any machine): the kill lands in it, however fast the machine."""
    api, worker = queued
    resp = api.post("/v1/trails", json={**COURSE, "distance_km": 60, "terrils": 12})
    assert resp.status_code == 202
    location = resp.headers["Location"]
    # the planner's stages reach the job: killed while it solves
    _wait_for(lambda: _stage(api, location) == ("solving", 0.1), 120)
    horses = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True).stdout.split()
    assert len(horses) == 1, horses
    os.kill(int(horses[0]), signal.SIGKILL)
    job = _finished(api, location)
    assert job["status"] == "finished" and job["attempts"] == 2, job
    assert api.get(job["links"]["result"]).status_code == 200


def test_an_unknown_job_is_a_404_naming_it(queued):
    api, _ = queued
    assert_problem(api.get("/v1/jobs/" + "0" * 32), 404, "job_id")
    assert "32 hex digits" in assert_problem(api.get("/v1/jobs/not-a-job"), 404, "job_id")["detail"]


def _terrils_near_lens(catalogue, n: int) -> list[str]:
    """The ids of the ``n`` terrils nearest the Louvre-Lens, from the catalogue."""
    terrils = catalogue.by_theme("terrils")
    return [p["id"] for p in sorted(terrils, key=lambda p: (p["lon"] - 2.8044) ** 2 + (p["lat"] - 50.4306) ** 2)][:n]


def test_a_long_tour_is_a_job_and_a_short_one_is_answered_at_once(queued, catalogue):
    api, _ = queued
    stops = _terrils_near_lens(catalogue, 13)
    short = api.post("/v1/tours", json={"start": "louvre-lens", "stops": stops[:3]})
    assert short.status_code == 200 and short.get_json()["properties"]["kind"] == "tour"
    assert_problem(api.post("/v1/tours", json={"start": "louvre-lens", "stops": [*stops[:12], "terril-t999x"]}),
                   404, "stops[12]")
    long = api.post("/v1/tours", json={"start": "louvre-lens", "stops": stops})
    assert long.status_code == 202 and long.get_json()["endpoint"] == "tours"
    job = _finished(api, long.headers["Location"])
    assert job["status"] == "finished", job
    tour = api.get(job["links"]["result"]).get_json()
    assert tour["properties"]["kind"] == "tour"
    assert sorted(s["id"] for s in tour["properties"]["stops"]) == sorted(stops)


def test_the_same_course_asked_at_once_is_one_job(queued):
    """Requests racing for a new course enqueue it once (RQ's unique enqueue), and all follow that job."""
    from concurrent.futures import ThreadPoolExecutor

    from rq import Queue

    from api.jobs import QUEUE

    api, _ = queued
    body = {**COURSE, "distance_km": 27}
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: api.post("/v1/trails", json=body), range(4)))
    assert {a.status_code for a in answers} == {202}
    locations = {a.headers["Location"] for a in answers}
    assert len(locations) == 1
    job_id = locations.pop().rsplit("/", 1)[1]
    queue = Queue(QUEUE, connection=api.application.extensions["galibot.redis"])
    assert queue.job_ids.count(job_id) <= 1
    job = _finished(api, f"/v1/jobs/{job_id}")
    assert job["status"] == "finished" and job["attempts"] == 1
