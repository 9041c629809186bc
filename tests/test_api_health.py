"""``GET /v1/health`` through Flask's test client, against a real Redis."""

from __future__ import annotations

import threading

import pytest

from api import create_app


@pytest.fixture()
def app_with(cfg, basin_graph, catalogue):
    def make(redis_url):
        app = create_app({"REDIS_URL": redis_url, "GALIBOT_SETTINGS": cfg, "GALIBOT_GRAPH": basin_graph,
                          "GALIBOT_AREA": "basin"})
        assert app.extensions["galibot.graph"].wait(300), app.extensions["galibot.graph"].error
        return app
    return make


def test_health_reports_graph_and_redis(app_with, redis_server, basin_graph):
    resp = app_with(redis_server.url).test_client().get("/v1/health")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok" and body["redis"] == "up"
    assert body["data_version"] == basin_graph.data_version
    assert body["graph"] == {"nodes": basin_graph.n_nodes, "edges": basin_graph.n_edges}
    assert any("OpenStreetMap" in a for a in body["attribution"])


def test_health_says_when_redis_dies(app_with, redis_server):
    client = app_with(redis_server.url).test_client()
    assert client.get("/v1/health").get_json()["redis"] == "up"
    redis_server.kill()
    resp = client.get("/v1/health")
    assert resp.status_code == 200 and resp.get_json()["redis"] == "down"


@pytest.mark.slow  # a galibot subprocess or a larger build: seconds each
def test_health_is_503_while_the_graph_loads(cfg, tmp_path):
    """The loader waits on a gate, so the loading state is seen on every run, not only on a slow machine."""
    from routing.settings import Settings

    gate = threading.Event()
    empty_cache = Settings(data_dir=cfg.data_dir, cache_dir=tmp_path, workers=1)
    app = create_app({"GALIBOT_SETTINGS": empty_cache, "GALIBOT_AREA": "2.77,50.43,2.78,50.44",
                      "GALIBOT_LOAD_GATE": gate})
    resp = app.test_client().get("/v1/health")
    assert resp.status_code == 503
    assert resp.get_json()["status"] == "loading" and resp.get_json()["graph"] is None
    gate.set()
    state = app.extensions["galibot.graph"]
    assert state.wait(300), state.error
    assert app.test_client().get("/v1/health").status_code == 200


def test_unknown_path_is_problem_json(app_with):
    resp = app_with(None).test_client().get("/v1/nothing-here")
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    assert resp.get_json()["status"] == 404 and resp.get_json()["title"] == "Not Found"
