"""Heavy requests as jobs: the API in queue mode (what ``make run`` serves) and a real RQ worker process
(``python -m api.worker``) on a real Redis, on the whole basin."""

from __future__ import annotations

import dataclasses
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.redis_server import EmbeddedRedis
from tests.conftest import BASE_11_19, LOUVRE, assert_problem

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
        yield app.test_client(), worker, log
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


def _finished(client, location: str, timeout_s: float = 240, *, stages: list | None = None) -> dict:
    """Poll a job until it has finished or failed; into ``stages`` (when given) the stages it reported meanwhile."""
    deadline = time.monotonic() + timeout_s
    while True:
        job = client.get(location)
        assert job.status_code == 200, job.get_data(as_text=True)
        body = job.get_json()
        if body["status"] in ("finished", "failed"):
            return body
        if stages is not None and body["stage"] is not None:
            stages.append(body["stage"])
        assert job.headers["Retry-After"]
        assert time.monotonic() < deadline, body
        time.sleep(0.2 if stages is not None else 0.5)


def test_a_trail_course_is_a_job_whose_result_is_the_inline_one(queued, client):
    api, _, _ = queued
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
    api, _, _ = queued
    body = assert_problem(api.post("/v1/trails", json={"start": BASE_11_19, "distance_km": 2, "terrils": 20}), 422,
                          "terrils")
    assert "within reach" in body["detail"]
    assert_problem(api.post("/v1/trails", json={"start": [2.0, 48.8], "distance_km": 20, "terrils": 2}), 422,
                   "start[0]")


def test_a_course_the_planner_cannot_close_fails_its_job_with_the_request_problem(queued):
    """What only the solve finds (4 summits within reach of the Base 11/19, but no 6 km loop over them) fails the
    job with the problem the request would answer in place, and is not run again."""
    api, _, _ = queued
    resp = api.post("/v1/trails", json={"start": BASE_11_19, "distance_km": 6, "terrils": 4})
    assert resp.status_code == 202
    job = _finished(api, resp.headers["Location"])
    assert job["status"] == "failed" and job["problem"]["status"] == 422 and job["attempts"] == 1, job
    assert job["problem"]["field"] == "distance_km" and "no course of 6 km" in job["problem"]["detail"]


def test_a_worker_killed_mid_job_runs_it_again(queued):
    """SIGKILL on the work horse computing a job: RQ marks the run failed and runs the job once more.

    60 km over 12 terrils is not proven optimal, so its solve takes the whole deterministic budget (seconds on
    any machine): the kill lands in it, however fast the machine."""
    api, worker, _ = queued
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
    api, _, _ = queued
    assert_problem(api.get("/v1/jobs/" + "0" * 32), 404, "job_id")
    assert "32 hex digits" in assert_problem(api.get("/v1/jobs/not-a-job"), 404, "job_id")["detail"]


def _terrils_near_lens(catalogue, n: int) -> list[str]:
    """The ids of the ``n`` terrils nearest the Louvre-Lens, from the catalogue."""
    terrils = catalogue.by_theme("terrils")
    return [p["id"] for p in sorted(terrils, key=lambda p: (p["lon"] - 2.8044) ** 2 + (p["lat"] - 50.4306) ** 2)][:n]


def test_a_long_tour_is_a_job_and_a_short_one_is_answered_at_once(queued, catalogue):
    api, _, log = queued
    stops = _terrils_near_lens(catalogue, 13)
    short = api.post("/v1/tours", json={"start": "louvre-lens", "stops": stops[:3]})
    assert short.status_code == 200 and short.get_json()["properties"]["kind"] == "tour"
    assert_problem(api.post("/v1/tours", json={"start": "louvre-lens", "stops": [*stops[:12], "terril-t999x"]}),
                   404, "stops[12]")
    long = api.post("/v1/tours", json={"start": "louvre-lens", "stops": stops})
    assert long.status_code == 202 and long.get_json()["endpoint"] == "tours"
    stages: list[str] = []
    job = _finished(api, long.headers["Location"], stages=stages)
    assert job["status"] == "finished", job
    assert set(stages) <= {"computing", "costs", "solving", "routing"}, stages  # the order: test_planners.py
    # the work horses inherit the worker's loaded app: it was loaded once, at the worker's start, not per job
    assert log.read_text().count("loading the graph") == 1, log.read_text()
    tour = api.get(job["links"]["result"]).get_json()
    assert tour["properties"]["kind"] == "tour"
    assert sorted(s["id"] for s in tour["properties"]["stops"]) == sorted(stops)


def test_the_same_course_asked_at_once_is_one_job(queued):
    """Requests racing for a new course enqueue it once (RQ's unique enqueue), and all follow that job."""
    from concurrent.futures import ThreadPoolExecutor

    from rq import Queue

    from api.jobs import QUEUE

    api, _, _ = queued
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


def test_a_sheet_and_a_map_are_drawn_by_a_worker_as_the_request_draws_them(queued, client):
    """A printed sheet or map picture not drawn yet is a job (a route itself is answered at once); its link is the
    request again, then served from the store, and the worker's file is the one the request draws in place."""
    api, _, _ = queued
    body = {"points": [LOUVRE, BASE_11_19], "profile": "walk"}
    route = api.post("/v1/routes", json=body)
    assert route.status_code == 200
    sheet = route.get_json()["links"]["pdf"]
    first = api.get(sheet)
    assert first.status_code == 202 and first.headers["Location"].startswith("/v1/jobs/"), first.get_data()
    assert api.get(sheet).headers["Location"] == first.headers["Location"]  # asked again while drawn: one job
    job = _finished(api, first.headers["Location"])
    assert job["status"] == "finished" and job["attempts"] == 1, job
    assert job["links"]["file"] == f"{sheet}?lang=fr"  # a sheet is French unless asked otherwise, said in the link
    drawn = api.get(job["links"]["file"])
    assert drawn.status_code == 200 and drawn.mimetype == "application/pdf" and drawn.data.startswith(b"%PDF")
    assert client.post("/v1/routes", json=body).status_code == 200
    assert drawn.data == client.get(sheet).data  # the request's own sheet, byte for byte
    assert api.get(sheet).headers["X-Cache"] == "hit"

    picture = f"{route.get_json()['links']['png']}?picture=profile&width=640&lang=de"
    queued_png = api.get(picture)
    assert queued_png.status_code == 202
    job = _finished(api, queued_png.headers["Location"])
    assert job["status"] == "finished", job
    png = api.get(job["links"]["file"])
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data == client.get(picture).data


def test_a_sheet_no_page_is_made_for_is_refused_before_it_is_queued(queued, catalogue):
    api, _, _ = queued
    terrils = sorted(catalogue.by_theme("terrils"), key=lambda p: p["lon"])
    west, east = [terrils[0]["lon"], terrils[0]["lat"]], [terrils[-1]["lon"], terrils[-1]["lat"]]
    route = api.post("/v1/routes", json={"points": [west, east, west, east, west], "profile": "bike"})
    assert route.status_code == 200 and route.get_json()["properties"]["distance_m"] > 250_000
    body = assert_problem(api.get(route.get_json()["links"]["pdf"]), 422, "format")
    assert "up to 250 km" in body["detail"]


def test_a_large_upload_is_analysed_by_a_worker_and_a_small_one_at_once(queued, client, cfg):
    api, _, _ = queued
    ev5 = (cfg.data_dir / "ev5-waymarkedtrails" / "ev5-relation5245117-wmt-2023-05-24.gpx").read_bytes()
    assert len(ev5) > 256 * 1024

    def post(app, data: bytes, name: str = "ev5.gpx"):
        return app.post("/v1/gpx/analyze", data={"file": (io.BytesIO(data), name), "snap": "false"},
                        content_type="multipart/form-data")

    first = post(api, ev5)
    assert first.status_code == 202, first.get_data(as_text=True)
    assert post(api, ev5).headers["Location"] == first.headers["Location"]
    job = _finished(api, first.headers["Location"])
    assert job["status"] == "finished" and job["endpoint"] == "results.analyze_gpx", job
    analysis = api.get(job["links"]["result"])
    inline = post(client, ev5)
    assert analysis.status_code == inline.status_code == 200
    assert analysis.get_json() == inline.get_json() and analysis.get_json()["matched_share"] > 0.9
    assert post(api, ev5).status_code == 200  # analysed once: answered from the store

    small = api.get(api.post("/v1/routes", json={"points": [LOUVRE, BASE_11_19]}).get_json()["links"]["gpx"]).data
    assert len(small) < 256 * 1024
    assert post(api, small, "route.gpx").status_code == 200  # a small upload is answered in the request
    assert_problem(api.get("/v1/gpx/analyses/" + "0" * 32), 404, "key")


def test_a_malformed_large_upload_fails_its_job_with_the_files_problem(queued):
    api, _, _ = queued
    junk = b"<gpx><trk>" + b"x" * (300 * 1024)
    resp = api.post("/v1/gpx/analyze", data={"file": (io.BytesIO(junk), "junk.gpx")},
                    content_type="multipart/form-data")
    assert resp.status_code == 202
    job = _finished(api, resp.headers["Location"])
    assert job["status"] == "failed" and job["attempts"] == 1, job
    assert 400 <= job["problem"]["status"] < 500 and job["problem"]["field"] == "file", job
