"""Rate limits on the expensive endpoints, counted in a real Redis, and what happens when Redis dies."""

from __future__ import annotations

import pytest

from api import create_app
from api.redis_server import EmbeddedRedis
from tests.conftest import LOUVRE

LOOP = {"start": LOUVRE, "distance_km": 8, "profile": "walk"}


@pytest.fixture()
def limited(cfg, basin_graph, catalogue, circuits, tmp_path):
    """An app allowing 2 planner calls a minute per client, on its own Redis (killed by some tests)."""
    with EmbeddedRedis(tmp_path / "redis") as server:
        app = create_app({"REDIS_URL": server.url, "GALIBOT_SETTINGS": cfg, "GALIBOT_GRAPH": basin_graph,
                          "GALIBOT_PLANNER_LIMIT": "2 per minute"})
        assert app.extensions["galibot.graph"].wait(300)
        yield app.test_client(), server


def test_the_third_call_in_a_minute_is_429_with_retry_after(limited):
    client, _ = limited
    assert [client.post("/v1/roundtrips", json=LOOP).status_code for _ in range(2)] == [200, 200]
    refused = client.post("/v1/roundtrips", json=LOOP)
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.get_json()["status"] == 429
    device = client.post("/v1/devices").get_json()["token"]
    other = client.post("/v1/roundtrips", json=LOOP, headers={"Authorization": f"Bearer {device}"})
    assert other.status_code == 200  # limits are per client: a device token the server signed is its own client
    made_up = client.post("/v1/roundtrips", json=LOOP, headers={"Authorization": "Bearer another-device"})
    assert made_up.status_code == 429  # a token anyone can make up counts as its sender's address
    assert client.post("/v1/routes", json={"points": [LOUVRE, [2.78975, 50.44406]]}).status_code == 200


def test_without_redis_the_api_serves_unlimited(limited):
    client, server = limited
    server.kill()
    codes = [client.post("/v1/roundtrips", json=LOOP).status_code for _ in range(4)]
    assert codes == [200] * 4
    assert client.get("/v1/health").get_json()["redis"] == "down"
