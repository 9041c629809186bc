"""Results users rely on (issue 13): courses that do not depend on the machine, files that keep their ends and
stops, nights on the right day, believable climbing, readable POI names, bikes that push on steps, and a
contract that says what went wrong in the client's own words."""

from __future__ import annotations

import dataclasses
import pickle
import re

import gpxpy
import numpy as np
import pytest

import gpx_exports as gx
from gpx_exports.bundles import circuits_geojson
from poi_data import versions
from poi_data.catalogue import Catalogue
from poi_data.labels import display_name
from presentation import instruction_text, worded, words
from routing import landmarks, settings
from routing.engine import Leg
from routing.errors import ImpossibleTarget
from routing.planners import order as order_module
from routing.planners import trail as trail_module
from routing.planners.tour import Stop
from routing.planners.trail import plan_trail
from routing.profiles import arc_weights, get_profile
from routing.route import Piece, build_route, cumulative_distance
from tests.conftest import LOUVRE, assert_problem

SITES = ["great-site-chm-lewarde", "great-site-arenberg", "great-site-fosse-9-9bis", "great-site-base-11-19",
         "great-site-cite-des-electriciens"]


def gpx_of(resp) -> gpxpy.gpx.GPX:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:400]
    return gpxpy.parse(resp.get_data(as_text=True))


def kinds(gpx: gpxpy.gpx.GPX) -> list[str]:
    return [w.type for w in gpx.waypoints]


# -- 1. the same course on every machine -----------------------------------------------------------------------------


def test_the_solver_budget_is_work_not_the_clock(monkeypatch, lens_engine, lens_places):
    """A trail course gets its whole deterministic budget however long the request already took (a slow machine
    used to get less, and another course); the wall clock only backs it up."""
    budgets = []
    real = order_module.cp_solver

    def spy(time_limit_s, workers):
        budgets.append(time_limit_s)
        return real(time_limit_s, workers)

    monkeypatch.setattr(trail_module, "cp_solver", spy)
    clock = iter(range(0, 10**6, 25))  # every reading of the clock says 25 s more have passed
    monkeypatch.setattr(trail_module.time, "monotonic", lambda: float(next(clock)))
    course = plan_trail(lens_engine, Stop(*lens_places["base_11_19"]), 12_000, 3, workers=2)
    assert budgets == [settings.TRAIL_TIME_LIMIT_S] and not course.deadline_hit
    solver = real(settings.TRAIL_TIME_LIMIT_S, 2)
    assert solver.parameters.max_deterministic_time == settings.TRAIL_TIME_LIMIT_S
    assert solver.parameters.max_time_in_seconds >= settings.SOLVER_SAFETY_NET_MIN_S
    assert solver.parameters.interleave_search and solver.parameters.random_seed == settings.SOLVER_SEED


def test_one_and_two_workers_plan_the_same_course(lens_engine, lens_places):
    """On a model this small, 1 and 2 solver threads agree; on large ones they may not, which is why the number
    of threads comes from configuration (GALIBOT_WORKERS), not from the machine (test_the_solver_threads_...)."""
    one = plan_trail(lens_engine, Stop(*lens_places["base_11_19"]), 12_000, 3, workers=1)
    two = plan_trail(lens_engine, Stop(*lens_places["base_11_19"]), 12_000, 3, workers=2)
    assert [s["number"] for s in one.summits] == [s["number"] for s in two.summits]
    assert np.array_equal(one.route.coordinates, two.route.coordinates)


def test_a_circuit_pickles_without_its_build_time(circuits):
    """The circuits cache holds only what the inputs decide, not how long this machine took."""
    c = next(iter(circuits.values()))
    again = pickle.loads(pickle.dumps(c))
    assert again.build_s == 0.0 and again.summary("fr") == c.summary("fr")
    assert circuits_geojson({c.id: again}) == circuits_geojson({c.id: c})


def test_an_infeasible_trail_model_is_refused_not_a_crash(basin_engine, catalogue):
    """OR-Tools' max_lp subsolver aborted the whole process on this request; now it is a plain 422 error."""
    def at(pid):
        p = catalogue.get(pid)
        return Stop(p["lon"], p["lat"], p["id"], p["name"])

    with pytest.raises(ImpossibleTarget):
        plan_trail(basin_engine, at("terril-t074"), 35_000, 3, finish=at("great-site-chm-lewarde"))


# -- 2. and 3. files keep their ends, their stops and tonight's bed --------------------------------------------------


def test_a_route_file_keeps_its_finish_and_the_site_at_its_end(client):
    gpx = gpx_of(client.post("/v1/routes?format=gpx", json={"points": ["louvre-lens", "great-site-chm-lewarde"]}))
    assert kinds(gpx).count("start") == 1 and kinds(gpx).count("finish") == 1
    assert any(w.name == "Centre Historique Minier" for w in gpx.waypoints)
    finish = next(w for w in gpx.waypoints if w.type == "finish")
    end = gpx.tracks[-1].segments[-1].points[-1]
    assert (finish.latitude, finish.longitude) == (end.latitude, end.longitude)


def test_a_rounded_finish_past_the_track_stays_in_the_file(lens_engine, lens_places):
    """A finish km rounded up past the track's end fell out of the km window of the last part."""
    route = lens_engine.route([lens_places["louvre_lens"], lens_places["base_11_19"]], "bike")[0]
    course = gx.course(route, "route", "test")
    late = [gx.Waypoint(w.lon, w.lat, w.name, w.kind, km=w.km + 0.005) if w.kind == "finish" else w
            for w in course.waypoints]
    gpx = gpxpy.parse(gx.to_gpx(dataclasses.replace(course, waypoints=late)))
    assert kinds(gpx).count("finish") == 1


def test_each_day_of_a_staged_tour_has_its_ends_and_tonights_bed(client):
    body = {"start": "louvre-lens", "stops": SITES, "daily_km": 60}
    result = client.post("/v1/tours", json=body).get_json()
    stages = result["properties"]["stages"]
    assert len(stages) >= 3
    whole = gpx_of(client.get(result["links"]["gpx"]))
    assert kinds(whole).count("stop") >= len(SITES)
    for day, stage in enumerate(stages, 1):
        gpx = gpx_of(client.get(f"{result['links']['gpx']}?part={day}"))
        assert "start" in kinds(gpx) and "finish" in kinds(gpx), f"day {day}"
        lodging = [w for w in gpx.waypoints if w.type == "lodging"]
        if stage["lodging"]:  # the bed where this day ends, not last night's
            assert [w.name for w in lodging] == [stage["lodging"]["name"]], f"day {day}"
            assert f"Night {day}" in lodging[0].description
        else:
            assert not lodging
    geo = client.get(result["links"]["geojson"]).get_json()
    assert [f["properties"]["part"] for f in geo["features"] if f["geometry"]["type"] == "LineString"] == \
        list(range(1, len(stages) + 1))


def test_a_point_to_point_race_keeps_its_finish_and_its_cut_off(client):
    body = {"start": "great-site-base-11-19", "finish": "louvre-lens", "distance_km": 20, "terrils": 3}
    gpx = gpx_of(client.post("/v1/trails?format=gpx&race=true&start_time=2027-03-06T08:00:00%2B01:00", json=body))
    finish = [w for w in gpx.waypoints if w.type == "finish"]
    assert len(finish) == 1 and "cut-off" in finish[0].comment


# -- 4. climbing a trail runner believes -----------------------------------------------------------------------------


def test_terril_74_up_and_down_climbs_its_height_each_way(cfg, basin_engine, basin_graph):
    places = landmarks.locate(cfg, basin_graph, ("base_11_19", "t074_summit"))
    route = basin_engine.route([places["base_11_19"], places["t074_summit"], places["base_11_19"]], "trail")[0]
    z = route.coordinates[:, 2]
    expected = float(z.max() - z[:int(np.argmax(z)) + 1].min())  # from the walk's low point to the top
    assert expected > 100
    assert route.ascent_m == pytest.approx(expected, rel=0.06)
    assert route.descent_m == pytest.approx(expected, rel=0.06)


def test_the_ev5_from_lens_to_don_stays_flat(cfg, basin_engine, basin_graph):
    places = landmarks.locate(cfg, basin_graph, ("lens", "don"))
    route = basin_engine.route([places["lens"], places["don"]], "bike")[0]
    assert route.ev5_share > 0.5 and route.ascent_m < 80


def test_the_tpn_style_course_is_as_long_as_asked_and_its_texts_claim_no_other_length(circuits):
    tpn = circuits["trail-pyramides-noires-inspire"]
    assert abs(tpn.route.distance_m / 110_000 - 1) <= 0.05  # it came out at 102.7 km for 110
    for lang in ("fr", "en"):
        claimed = [float(k) for k in re.findall(r"(\d+) km", tpn.summary(lang)["description"])]
        assert all(abs(k * 1000 / tpn.route.distance_m - 1) <= 0.05 for k in claimed), claimed


def test_a_trail_course_counts_only_terrils_its_ways_climb(basin_engine, catalogue):
    """A summit 140 m off a path along the foot is not climbed: every summit's way reaches most of its relief."""
    louvre = catalogue.get("louvre-lens")
    course = plan_trail(basin_engine, Stop(louvre["lon"], louvre["lat"]), 40_000, 6)
    table = {t["number"]: t for t in basin_engine.graph.meta["terrils"]}
    dist = cumulative_distance(course.route.coordinates)
    scale = dist[-1] / course.route.distance_m
    for s in course.summits:
        t = table[s["number"]]
        assert s["relief_m"] >= settings.TRAIL_MIN_RELIEF_M, s["number"]
        at = s["km"] * 1000 * scale
        near = np.abs(dist - at) < 200
        assert course.route.coordinates[near, 2].max() >= t["rim_m"] + settings.TRAIL_CLIMB_SHARE * (
            t["summit_m"] - t["rim_m"]) - 2, s["number"]
    assert abs(course.route.distance_m / 40_000 - 1) <= 0.05


# -- 5. POI names a visitor reads ------------------------------------------------------------------------------------


def test_no_poi_is_named_after_its_bare_osm_class(catalogue):
    raw = {(p["properties"].get("subclass") or "").replace("_", " ") for p in catalogue.pois} - {""}
    assert not [p["name"] for p in catalogue.pois if p["name"] in raw]
    unnamed = [p for p in catalogue.pois if p["properties"].get("unnamed")]
    assert len(unnamed) > 500 and all(set(p["names"]) == {"fr", "en", "nl", "de"} for p in unnamed)
    toilets = next(p for p in unnamed if p["properties"]["subclass"] == "toilets")
    assert (display_name(toilets, "fr"), display_name(toilets, "en")) == ("Toilettes publiques", "Public toilets")


def test_unnamed_pois_speak_the_requests_language(client, catalogue):
    toilets = next(p for p in catalogue.pois if p["properties"].get("subclass") == "toilets")
    fr = client.get(f"/v1/pois/{toilets['id']}?lang=fr").get_json()["properties"]
    en = client.get(f"/v1/pois/{toilets['id']}", headers={"Accept-Language": "en"}).get_json()["properties"]
    assert (fr["name"], en["name"]) == ("Toilettes publiques", "Public toilets") and fr["details"]["unnamed"]


def test_near_duplicates_are_one_place_and_old_ids_still_find_it(catalogue):
    assert sum(catalogue.report["merged"].values()) > 20
    parc = catalogue.get("cite-unesco-none-res-du-parc")  # the abbreviated record, merged into the full name
    assert parc["name"] == "Résidence du Parc" and "cite-unesco-none-res-du-parc" in parc["properties"]["merged"]
    names = [p["name"] for p in catalogue.pois if p["name"] == "Cité n°4 de Lens"]
    assert len(names) == 1


def test_text_search_forgives_typos_and_accents(catalogue):
    assert catalogue.search("lewade", 1)[0]["id"] == "great-site-chm-lewarde"
    assert catalogue.search("cite electriciens", 1)[0]["name"] == "Cité des Électriciens"
    assert catalogue.search("arenbreg", 1)[0]["id"] == "great-site-arenberg"
    assert catalogue.search("xqzwv") == []


def test_a_stop_that_is_a_poi_is_one_waypoint(client):
    body = {"start": "louvre-lens", "stops": ["great-site-base-11-19"], "profile": "bike"}
    gpx = gpx_of(client.post("/v1/tours?format=gpx", json=body))
    assert sum(1 for w in gpx.waypoints if w.name == "Base 11/19") == 1


# -- 6. profiles and instructions ------------------------------------------------------------------------------------


def test_steps_cost_a_bike_a_dismount(lens_graph):
    sub = np.repeat(lens_graph.edge_column("subclass"), 2)
    steps = sub == "steps"
    assert steps.any()
    bike = arc_weights(lens_graph, get_profile("bike"))
    walk = arc_weights(lens_graph, get_profile("walk"))
    dismount_ms = 1000 * get_profile("bike").dismount_s["steps"]
    assert (bike.cost_ms[steps] >= walk.cost_ms[steps] + dismount_ms).all()


def test_a_bike_on_steps_is_told_to_push(lens_engine, lens_graph):
    """A path that climbs a real flight of steps: the bike is told to get off and push there; a walker is not."""
    steps = np.flatnonzero(lens_graph.edge_column("subclass") == "steps")
    e = int(steps[np.argmax(lens_graph.edge_length[steps])])
    leg = Leg([Piece(2 * e, 0.0, 1.0)], 0)
    for profile, told in (("bike", True), ("walk", False)):
        route = build_route(lens_graph, lens_engine.weights(profile), [leg], [], profile)
        on_steps = [i for i in worded(route.instructions, words("fr")) if i["type"] in ("depart", "turn", "continue")]
        assert on_steps and all(i["push"] is told for i in on_steps)
        assert all(("poussez votre vélo" in i["text"]) is told for i in on_steps)


@pytest.mark.parametrize("lang, said", [("fr", "Faites demi-tour"), ("en", "Make a U-turn")])
def test_a_u_turn_is_said_the_languages_way(lang, said):
    maneuver = {"type": "turn", "modifier": "uturn", "name": "Rue de Lille", "way_class": "minor", "distance_m": 20}
    text = instruction_text(maneuver, words(lang))
    assert text.startswith(said) and "Tournez demi-tour" not in text and "Rue de Lille, 20\u00a0m" in text


def test_arriving_at_a_via_names_the_place(client):
    body = {"points": ["louvre-lens", "great-site-base-11-19", LOUVRE], "lang": "fr"}
    steps = client.post("/v1/routes", json=body).get_json()["properties"]["instructions"]
    via = next(i for i in steps if i["type"] == "waypoint")
    assert via["text"] == "Vous avez atteint l'étape 1 : Base 11/19"
    assert steps[-1]["text"] == "Vous êtes arrivé"  # the end was bare coordinates


# -- 7. the contract in the client's own words -----------------------------------------------------------------------


def test_routes_take_poi_ids(client):
    body = client.post("/v1/routes", json={"points": ["louvre-lens", "great-site-base-11-19"]}).get_json()
    assert body["properties"]["distance_m"] > 1000
    assert_problem(client.post("/v1/routes", json={"points": ["louvre-lens", "no-such-poi"]}), 404, "points[1]")


@pytest.mark.parametrize("body, field", [
    ({"start": "louvre-lens", "distance_km": 301}, "distance_km"),
    ({"start": "louvre-lens", "distance_km": 0.5}, "distance_km"),
    ({"start": "louvre-lens", "duration_min": 1400, "profile": "road_bike"}, "duration_min"),
])
def test_round_trip_limits_are_stated_in_the_requests_fields(client, body, field):
    detail = assert_problem(client.post("/v1/roundtrips", json=body), 422, field)["detail"]
    assert "300 km" in detail and "000 m" not in detail


def test_an_impossible_round_trip_is_a_422_that_says_why(client):
    body = assert_problem(client.post("/v1/roundtrips", json={"start": "louvre-lens", "distance_km": 200}), 422,
                          "distance_km")
    assert "runs off the map" in body["detail"] and body["title"] == "ImpossibleTarget"


@pytest.mark.parametrize("data, content_type, status", [
    ("{not json", "application/json", 400),
    ('{"points": [[2.8, 50.43], [2.79, 50.44]]}', "text/plain", 415),
    ("[1, 2]", "application/json", 400),
])
def test_a_body_that_is_not_json_says_so(client, data, content_type, status):
    body = assert_problem(client.post("/v1/routes", data=data, content_type=content_type), status, "body")
    assert "points" not in body["detail"]


def test_poi_changes_accept_a_sub_region_bundles_data_version(tmp_path):
    from routing.settings import Settings

    cfg = Settings(cache_dir=tmp_path)
    pois = [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}]
    old, new = Catalogue.__new__(Catalogue), Catalogue.__new__(Catalogue)
    old.pois, new.pois = pois[:1], pois
    versions.remember(cfg, "v1", "basin-data", versions.fingerprints(old))
    versions.remember(cfg, "v2", "basin-data-2", versions.fingerprints(new))
    versions.alias(cfg, "lens-lievin-data", "v1")
    delta = versions.changes(cfg, "lens-lievin-data", "v2", new, versions.fingerprints(new))
    assert delta["since"] == "v1" and [p["id"] for p in delta["added"]] == ["b"]


def test_openapi_documents_languages_isochrones_and_bodies(client):
    doc = client.get("/openapi.json").get_json()
    circuit = doc["paths"]["/v1/circuits/{circuit_id}"]["get"]["parameters"]
    assert any(p["name"] == "lang" for p in circuit)
    iso = doc["paths"]["/v1/isochrones"]["get"]["parameters"]
    props = {p["name"]: p for p in iso}
    assert props["start"]["description"] and props["minutes"]["schema"].get("pattern")
    page = client.get("/docs").get_data(as_text=True)
    assert "request body" in page and re.search(r"<b>points</b>", page)
