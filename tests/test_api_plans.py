"""Planner endpoints through Flask's test client, on the whole basin, against a real Redis."""

from __future__ import annotations

import pytest

from tests.conftest import BASE_11_19, LOUVRE, assert_problem

SITES = ["great-site-chm-lewarde", "great-site-arenberg", "great-site-fosse-9-9bis", "great-site-base-11-19",
         "great-site-cite-des-electriciens"]


def test_five_sites_tour_by_poi_ids_with_stages(client):
    resp = client.post("/v1/tours", json={"start": "louvre-lens", "stops": SITES, "daily_km": 50})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    props = body["properties"]
    assert props["kind"] == "tour" and props["optimal"] and props["gap"] == 0
    assert sorted(s["id"] for s in props["stops"]) == sorted(SITES)
    route = body["features"][0]["properties"]
    assert sum(st["distance_m"] for st in props["stages"]) == pytest.approx(route["distance_m"], abs=5)
    assert all(st["lodging"] for st in props["stages"][:-1])
    again = client.post("/v1/tours", json={"start": "louvre-lens", "stops": SITES, "daily_km": 50})
    assert again.headers["X-Cache"] == "hit" and again.get_json() == body


def test_tour_errors_name_the_field(client):
    assert_problem(client.post("/v1/tours", json={"start": LOUVRE, "stops": [SITES[0], SITES[0]]}), 422,
                   "stops[1]")
    assert_problem(client.post("/v1/tours", json={"start": LOUVRE, "stops": ["no-such-poi"]}), 404, "stops[0]")
    assert_problem(client.post("/v1/tours", json={"start": LOUVRE, "stops": [[4.35, 50.85]]}), 422, "stops[1]")
    assert_problem(client.post("/v1/tours", json={"start": LOUVRE, "stops": [BASE_11_19] * 1 + SITES[:1],
                                                  "daily_km": 0}), 422, "daily_km")
    assert_problem(client.post("/v1/tours", json={"start": LOUVRE, "stops": SITES[:2], "end": BASE_11_19}), 422,
                   "end")
    free_end = client.post("/v1/tours", json={"start": "louvre-lens", "stops": SITES[:2], "return_to_start": False})
    assert free_end.status_code == 200 and free_end.get_json()["properties"]["return_to_start"] is False
    too_many = [[2.8 + i * 0.001, 50.43] for i in range(41)]
    assert_problem(client.post("/v1/tours", json={"start": LOUVRE, "stops": too_many}), 422, "stops")


def test_roundtrips(client):
    resp = client.post("/v1/roundtrips", json={"start": LOUVRE, "distance_km": 25, "count": 2, "seed": 4})
    assert resp.status_code == 200, resp.get_json()
    feats = resp.get_json()["features"]
    assert len(feats) == 2
    for f in feats:
        assert abs(f["properties"]["length_error"]) <= 0.10 and f["properties"]["reused_share"] < 0.15
        assert f["geometry"]["coordinates"][0][:2] == f["geometry"]["coordinates"][-1][:2]
    by_time = client.post("/v1/roundtrips", json={"start": LOUVRE, "duration_min": 60, "profile": "walk"}).get_json()
    assert by_time["features"][0]["properties"]["target_m"] == pytest.approx(5000, rel=0.25)  # an hour on foot
    assert_problem(client.post("/v1/roundtrips", json={"start": LOUVRE, "distance_km": -1}), 422, "distance_km")
    assert_problem(client.post("/v1/roundtrips", json={"start": LOUVRE}), 422, "distance_km")
    assert_problem(client.post("/v1/roundtrips", json={"start": LOUVRE, "distance_km": 5, "duration_min": 20}), 422,
                   "distance_km")
    assert_problem(client.post("/v1/roundtrips", json={"start": LOUVRE, "distance_km": 5, "count": 4}), 422, "count")
    assert_problem(client.post("/v1/roundtrips", json={"start": LOUVRE, "distance_km": 5, "profile": "horse"}),
                   422, "profile")


def test_trail_and_impossible_trail(client):
    resp = client.post("/v1/trails", json={"start": "great-site-base-11-19", "distance_km": 30, "terrils": 5})
    assert resp.status_code == 200, resp.get_json()
    props = resp.get_json()["features"][0]["properties"]
    assert len({s["number"] for s in props["summits"]}) == 5 and props["profile"] == "trail"
    body = assert_problem(client.post("/v1/trails", json={"start": BASE_11_19, "distance_km": 2, "terrils": 20}),
                          422, "terrils")
    assert "20" in body["detail"]


def test_isochrone(client):
    resp = client.get("/v1/isochrones?profile=bike&start=2.80437,50.43061&minutes=10,20,30")
    assert resp.status_code == 200
    feats = resp.get_json()["features"]
    assert [f["properties"]["minutes"] for f in feats] == [10, 20, 30]
    assert feats[0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert_problem(client.get("/v1/isochrones?start=2.8,50.43&minutes=0"), 422, "minutes")
    assert_problem(client.get("/v1/isochrones?start=2.8,50.43&minutes=ten"), 422, "minutes")
    assert_problem(client.get("/v1/isochrones?start=2.8,95&minutes=10"), 422, "start")
    assert_problem(client.get("/v1/isochrones?minutes=10"), 422, "start")


def test_circuits(client):
    listing = client.get("/v1/circuits?lang=fr").get_json()["circuits"]
    ids = {c["id"] for c in listing}
    assert "eurovelo-5-bassin-minier" in ids and "trail-pyramides-noires-inspire" in ids
    tpn = client.get("/v1/circuits/trail-pyramides-noires-inspire").get_json()
    assert tpn["properties"]["inspired_by"] and len(tpn["properties"]["summits"]) >= 20
    assert tpn["features"][0]["geometry"]["type"] == "LineString"
    assert_problem(client.get("/v1/circuits/nope"), 404, "circuit_id")


def test_requests_solve_on_the_request_budgets_and_configured_threads(client, monkeypatch):
    """A request's solver gets the request budget, which bounds its CPU, not the larger budget the named circuits
    are built with once; its threads come from configuration, whatever the machine's cores."""
    import os

    from routing import settings
    from routing.planners import order, trail

    budgets, real = [], order.cp_solver

    def spy(time_limit_s: float, workers: int):
        budgets.append((time_limit_s, workers))
        return real(time_limit_s, workers)

    monkeypatch.setattr(order, "cp_solver", spy)
    monkeypatch.setattr(trail, "cp_solver", spy)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    near = {"theme": "terrils", "near": "2.80,50.43", "radius_m": 15000, "limit": settings.EXACT_STOPS + 1}
    stops = [p["id"] for p in client.get("/v1/pois", query_string=near).get_json()["features"]]
    assert len(stops) == settings.EXACT_STOPS + 1  # past the exactly solved sizes, so the budget decides
    tour = client.post("/v1/tours", json={"start": "louvre-lens", "stops": stops, "lang": "de"})
    assert tour.status_code == 200, tour.get_json()
    # a course no other test asks for: a stored one would be served without a solve, whatever ran before
    course = client.post("/v1/trails", json={"start": BASE_11_19, "distance_km": 20.5, "terrils": 4, "lang": "de"})
    assert course.status_code == 200, course.get_json()
    assert budgets == [(settings.TOUR_REQUEST_LIMIT_S, 2), (settings.TRAIL_REQUEST_LIMIT_S, 2)]
    assert settings.TOUR_REQUEST_LIMIT_S < settings.TOUR_TIME_LIMIT_S
    assert settings.TRAIL_REQUEST_LIMIT_S < settings.TRAIL_TIME_LIMIT_S
