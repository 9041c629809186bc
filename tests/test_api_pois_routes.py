"""``/v1/pois`` and ``/v1/routes`` through Flask's test client, on the whole basin, against a real Redis."""

from __future__ import annotations

import pytest
import redis

from api import create_app
from tests.conftest import BASE_11_19, LOUVRE, assert_problem


@pytest.fixture(scope="module")
def client_for(cfg, basin_graph, catalogue):
    """A test client of an app without Redis (one for the module: loading an app takes about 2 s), or of a new app
    on a given Redis."""
    apps = {}

    def make(redis_url=None):
        if redis_url is None and None in apps:
            return apps[None].test_client()
        app = create_app({"REDIS_URL": redis_url, "GALIBOT_SETTINGS": cfg, "GALIBOT_GRAPH": basin_graph})
        assert app.extensions["galibot.graph"].wait(120)
        if redis_url is None:
            apps[None] = app
        return app.test_client()
    return make


def test_landmark_coordinates_come_from_the_data(cfg, basin_graph):
    from routing import landmarks

    found = landmarks.locate(cfg, basin_graph, ("louvre_lens", "base_11_19"))
    assert list(found["louvre_lens"]) == LOUVRE and list(found["base_11_19"]) == BASE_11_19


def test_pois_text_search(client_for):
    body = client_for().get("/v1/pois?q=louvre&limit=3").get_json()
    assert body["type"] == "FeatureCollection" and body["total"] >= 3
    first = body["features"][0]
    assert first["id"] == "louvre-lens" and first["geometry"]["type"] == "Point"
    assert first["properties"]["description_sources"]


def test_pois_filters_and_pages(client_for):
    c = client_for()
    near = c.get("/v1/pois?near=2.8043729,50.4306149&radius_m=400&theme=food&limit=5").get_json()
    dists = [f["properties"]["distance_m"] for f in near["features"]]
    assert dists == sorted(dists) and all(d <= 400 for d in dists)
    assert all("food" in f["properties"]["themes"] for f in near["features"])
    box = c.get("/v1/pois?bbox=2.77,50.43,2.80,50.45&theme=terrils").get_json()
    assert {"terril-t074", "terril-t074a"} <= {f["id"] for f in box["features"]}
    page1 = c.get("/v1/pois?theme=pit_shafts&limit=10&offset=0").get_json()
    page2 = c.get("/v1/pois?theme=pit_shafts&limit=10&offset=10").get_json()
    assert page1["total"] == page2["total"] >= 600
    assert not {f["id"] for f in page1["features"]} & {f["id"] for f in page2["features"]}


def test_poi_by_id_in_french_with_its_outline(client_for):
    body = client_for().get("/v1/pois/terril-t074", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).get_json()
    assert body["properties"]["description"].startswith("L'un des deux terrils jumeaux")
    assert body["properties"]["outline"]["type"] == "Polygon"
    assert 180 <= body["properties"]["details"]["summit_m"] <= 190


@pytest.mark.parametrize("query, status, field", [
    ("theme=castles", 422, "theme"),
    ("bbox=2.8,50.4,2.7", 422, "bbox"),
    ("bbox=2.9,50.4,2.8,50.5", 422, "bbox"),  # min above max
    ("bbox=2.8e0,50.4,2.9,50.5", 422, "bbox"),  # the pattern /openapi.json states: decimal degrees
    ("near=2.8", 422, "near"),
    ("near=2.8,95", 422, "near"),
    ("lang=", 422, "lang"),
    ("lang=es", 422, "lang"),
    ("near=2.8,50.4&radius_m=900000", 422, "radius_m"),
    ("limit=0", 422, "limit"),
])
def test_bad_poi_queries(client_for, query, status, field):
    assert_problem(client_for().get(f"/v1/pois?{query}"), status, field)


def test_a_point_box_is_a_box_and_a_language_is_checked_everywhere(client_for, catalogue):
    """What /openapi.json allows is accepted: a bbox of no size (min = max) is a point, and finds the POI on it."""
    c = client_for()
    t074 = catalogue.get("terril-t074")
    lon, lat = t074["lon"], t074["lat"]
    box = c.get(f"/v1/pois?bbox={lon!r},{lat!r},{lon!r},{lat!r}")
    assert box.status_code == 200 and "terril-t074" in [f["id"] for f in box.get_json()["features"]]
    pole = c.get("/v1/pois?near=-164,-90&radius_m=49999")  # found by fuzzing: Lambert-93 has no plane there (a 500)
    assert pole.status_code == 200 and pole.get_json()["total"] == 0
    assert_problem(c.get("/v1/pois/terril-t074?lang=xx"), 422, "lang")
    assert_problem(c.get("/v1/circuits?lang="), 422, "lang")


def test_unknown_poi_is_404(client_for):
    assert_problem(client_for().get("/v1/pois/no-such-place"), 404, "id")


def test_route_feature_has_every_detail(client_for):
    resp = client_for().post("/v1/routes", json={"points": [LOUVRE, BASE_11_19], "profile": "bike", "lang": "fr"})
    assert resp.status_code == 200 and resp.mimetype == "application/geo+json"
    feat = resp.get_json()
    assert feat["type"] == "Feature" and feat["geometry"]["type"] == "LineString"
    assert len(feat["geometry"]["coordinates"][0]) == 3
    p = feat["properties"]
    for key in ("distance_m", "duration_s", "ascent_m", "descent_m", "elevation_profile", "way_types",
                "instructions", "pois", "data_version", "ev5_share", "cavalier_share"):
        assert key in p
    assert 2000 < p["distance_m"] < 4500 and p["ev5_share"] > 0.4
    assert p["instructions"][0]["text"].startswith("Partez")
    assert "great-site-base-11-19" in {poi["id"] for poi in p["pois"]}


def test_alternatives_are_a_feature_collection(client_for):
    body = client_for().post("/v1/routes", json={"points": [LOUVRE, BASE_11_19], "alternatives": 2}).get_json()
    assert body["type"] == "FeatureCollection" and 2 <= len(body["features"]) <= 3
    assert all("overlap_with_best" in f["properties"] for f in body["features"][1:])


def test_results_are_cached_in_redis_with_etags(client_for, redis_server):
    c = client_for(redis_server.url)
    req = {"points": [LOUVRE, BASE_11_19], "profile": "walk"}
    first = c.post("/v1/routes", json=req)
    assert first.headers["X-Cache"] == "miss" and first.headers["ETag"]
    again = c.post("/v1/routes", json=req)
    assert again.headers["X-Cache"] == "hit" and again.get_data() == first.get_data()
    assert any(k.startswith(b"galibot:") for k in redis.Redis.from_url(redis_server.url).keys())
    unchanged = c.post("/v1/routes", json=req, headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""


def test_routes_still_served_when_redis_dies(client_for, redis_server):
    c = client_for(redis_server.url)
    redis_server.kill()
    resp = c.post("/v1/routes", json={"points": [LOUVRE, BASE_11_19], "profile": "mtb"})
    assert resp.status_code == 200 and resp.headers["X-Cache"] == "miss"
    assert c.get("/v1/health").get_json()["redis"] == "down"


def test_accept_language_picks_the_instruction_language(client_for):
    resp = client_for().post("/v1/routes", json={"points": [LOUVRE, BASE_11_19]},
                             headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert resp.get_json()["properties"]["instructions"][0]["text"].startswith("Richtung")


@pytest.mark.parametrize("body, status, field", [
    ({"points": [LOUVRE, [5.0, 50.0]]}, 422, "points[1]"),
    ({"points": [LOUVRE, BASE_11_19], "profile": "tandem"}, 422, "profile"),
    ({"points": [LOUVRE]}, 422, "points"),
    ({"points": [LOUVRE] * 28}, 422, "points"),
    ({"points": [LOUVRE, [2.8, "north"]]}, 422, "points[1]"),
    ({"points": [LOUVRE, BASE_11_19], "alternatives": 9}, 422, "alternatives"),
    ({"points": [LOUVRE, BASE_11_19], "avoid": {"type": "Point", "coordinates": [2.8, 50.4]}}, 422, "avoid"),
    ({"points": [LOUVRE, BASE_11_19],
      "avoid": {"type": "Polygon", "coordinates": [[[2.80, 50.43], [2.81, 50.43], [2.81, 50.44], [2.80, 50.44],
                                                     [2.80, 50.43]]]}}, 422, "avoid"),
    ({"points": [LOUVRE, BASE_11_19],
      "avoid": {"type": "Polygon", "coordinates": [[[2.78, 50.44], [2.79, 50.45], [2.79, 50.44], [2.78, 50.45],
                                                     [2.78, 50.44]]]}}, 422, "avoid"),
    ({}, 422, "points"),
    (None, 415, "body"),  # no body at all: nothing declared as JSON
])
def test_bad_route_requests(client_for, body, status, field):
    assert_problem(client_for().post("/v1/routes", json=body), status, field)


def test_a_route_avoiding_terril_74_never_enters_it(client_for, catalogue):
    import shapely

    t074 = catalogue.get("terril-t074")["geometry"]
    west, east = [2.7780, 50.4452], [2.7890, 50.4452]
    resp = client_for().post("/v1/routes", json={"points": [west, east], "profile": "trail", "avoid": t074})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    body = resp.get_json()
    line = shapely.LineString([c[:2] for c in body["geometry"]["coordinates"]])
    assert not line.intersects(shapely.geometry.shape(t074))
