"""The routing engine on real routes of the Lens area."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely

from presentation import worded, words
from routing import errors
from routing.profiles import PROFILES, get_profile
from routing.route import smoothed_climbs
from routing.sources import mbm


@pytest.fixture(scope="module")
def t074(cfg):
    return next(g for g, p in mbm.terril_polygons(cfg.mbm_dir) if p["number"] == "T074")


def route(engine, a, b, profile="bike", **kw):
    return engine.route([a, b], profile, **kw)[0]


def test_bike_from_the_louvre_lens_to_the_11_19_takes_the_ev5(lens_engine, lens_places):
    r = route(lens_engine, lens_places["louvre_lens"], lens_places["base_11_19"])
    assert 2000 < r.distance_m < 4500
    assert r.ev5_share > 0.4, "the parc centralité link of EV5 carries a substantial share"
    assert r.duration_s == pytest.approx(r.distance_m / (15 / 3.6), rel=0.4)


def test_trail_climbs_more_than_bike_on_more_paths(lens_engine, lens_places):
    a, b = lens_places["louvre_lens"], lens_places["base_11_19"]
    bike, trail = route(lens_engine, a, b, "bike"), route(lens_engine, a, b, "trail")
    assert trail.ascent_m > bike.ascent_m
    paths = lambda r: sum(v for k, v in r.way_types.items() if k.startswith("path")) / r.distance_m  # noqa: E731
    assert paths(trail) > paths(bike)


def test_road_bike_keeps_off_tracks_the_mtb_takes(lens_engine, lens_places):
    a, b = lens_places["t074_summit"], lens_places["louvre_lens"]
    mtb, road = route(lens_engine, a, b, "mtb"), route(lens_engine, a, b, "road_bike")
    unpaved = lambda r: sum(v for k, v in r.way_types.items() if k in ("track", "path")) / r.distance_m  # noqa: E731
    assert unpaved(mtb) > 0.2
    assert unpaved(road) < unpaved(mtb) / 2


def test_there_and_back_are_the_same_length(lens_engine, lens_places):
    a, b = lens_places["louvre_lens"], lens_places["base_11_19"]
    there, back = route(lens_engine, a, b, "walk"), route(lens_engine, b, a, "walk")
    assert back.distance_m == pytest.approx(there.distance_m, rel=0.02)
    assert back.ascent_m == pytest.approx(there.descent_m, abs=5)


def test_via_points_make_legs(lens_engine, lens_places):
    pts = [lens_places["louvre_lens"], lens_places["t074_summit"], lens_places["base_11_19"]]
    r = lens_engine.route(pts, "walk")[0]
    assert len(r.legs) == 2
    assert sum(leg["distance_m"] for leg in r.legs) == pytest.approx(r.distance_m, abs=0.2)
    assert [i["type"] for i in r.instructions].count("waypoint") == 1
    assert r.coordinates[:, 2].max() > 180, "the route reaches the corrected summit of terril 74"
    assert r.ascent_m > 120


def test_route_costs_equal_networkx_dijkstra(lens_engine):
    """Node to node, CCH and networkx's bidirectional Dijkstra agree exactly on the same weights."""
    w = lens_engine.weights("bike").cost_ms
    G = nx.DiGraph()
    for t, h, c in zip(lens_engine.tail.tolist(), lens_engine.head.tolist(), w.tolist()):
        if not G.has_edge(t, h) or G[t][h]["weight"] > c:
            G.add_edge(t, h, weight=c)
    rng = np.random.default_rng(7)
    for s, t in rng.integers(0, lens_engine.graph.n_nodes, size=(25, 2)):
        expected, _ = nx.bidirectional_dijkstra(G, int(s), int(t))
        got, arcs = lens_engine.node_to_node(int(s), int(t), "bike")
        assert got == expected
        assert sum(int(w[a]) for a in arcs) == got


def test_point_to_point_cost_matches_the_sum_of_its_pieces(lens_engine, lens_places):
    r = route(lens_engine, lens_places["louvre_lens"], lens_places["base_11_19"], "mtb")
    w = lens_engine.weights("mtb")
    again = sum(w.cost_ms[a] * length / lens_engine.graph.edge_length[a >> 1]
                for a, length in zip(r.arcs, r.arc_lengths)) / 1000
    assert again == pytest.approx(r.cost, rel=1e-3)
    start = shapely.Point(*lens_places["louvre_lens"])
    assert shapely.Point(r.coordinates[0, :2]).distance(start) < 0.001


def test_alternatives_are_different_and_not_much_longer(lens_engine, lens_places):
    routes = lens_engine.route([lens_places["louvre_lens"], lens_places["base_11_19"]], "bike", alternatives=3)
    best, alts = routes[0], routes[1:]
    assert 1 <= len(alts) <= 3
    for alt in alts:
        assert alt.overlap is not None and alt.overlap <= 0.7
        assert alt.cost <= 1.4 * best.cost + 1e-6
        for other in routes:
            if other is not alt:
                assert alt.overlap_with(other) <= 0.7 + 1e-9


def test_avoided_terril_is_never_entered(lens_engine, t074):
    west, east = (2.7780, 50.4452), (2.7890, 50.4452)
    free = route(lens_engine, west, east, "trail")
    assert shapely.LineString(free.coordinates[:, :2]).intersects(t074), "the test needs a route over T074"
    avoided = lens_engine.route([west, east], "trail", avoid=t074)[0]
    assert not shapely.LineString(avoided.coordinates[:, :2]).intersects(t074)
    assert avoided.cost > free.cost, "a constrained route is never cheaper"


def test_smoothing_removes_phantom_climbs():
    """A flat 10 km towpath with SRTM-like 1.5 m noise climbs almost nothing."""
    rng = np.random.default_rng(1)
    dist = np.arange(0, 10_000, 30.0)
    ele = 25 + rng.normal(0, 1.5, len(dist))
    raw = np.clip(np.diff(ele), 0, None).sum()
    up, down, _, _ = smoothed_climbs(dist, ele)
    assert raw > 150 and up < 10 and down < 10
    hill = 25 + 60 * np.sin(np.clip(dist / 10_000 * np.pi, 0, np.pi))
    up, _, _, _ = smoothed_climbs(dist, hill)
    assert up == pytest.approx(60, abs=3), "a real climb survives smoothing"


def test_maneuvers_are_neutral_and_worded_in_french_and_english(lens_engine, lens_places):
    """The engine says what to do (types, modifiers, ways, distances); the presentation layer says it in words."""
    a, b = lens_places["louvre_lens"], lens_places["base_11_19"]
    maneuvers = lens_engine.route([a, b], "bike")[0].instructions
    assert all("text" not in m for m in maneuvers)
    assert {m["type"] for m in maneuvers} <= {"depart", "turn", "continue", "waypoint", "arrive"}
    assert all(m["modifier"] for m in maneuvers if m["type"] == "turn")
    assert 0 <= maneuvers[0]["bearing"] < 360
    fr, en = worded(maneuvers, words("fr")), worded(maneuvers, words("en"))
    assert fr[0]["type"] == "depart" and fr[-1]["type"] == "arrive" and len(fr) == len(en)
    assert fr[0]["text"].startswith("Partez vers le ") and en[0]["text"].startswith("Head ")
    turns = [i for i in fr if i["type"] == "turn"]
    assert turns and all(i["text"].startswith("Tournez ") for i in turns)
    named = next(i for i in fr if i["name"])
    assert named["name"] in named["text"]
    assert sum(i["distance_m"] for i in fr) == pytest.approx(sum(i["distance_m"] for i in en))


def test_every_profile_is_documented_data():
    for name in ("bike", "road_bike", "mtb", "walk", "trail"):
        p = get_profile(name)
        assert p.description and p.class_factor
    assert PROFILES["walk"].speed_kmh(np.array([0.0]))[0] == pytest.approx(6 * np.exp(-3.5 * 0.05))
    bike = PROFILES["bike"]
    assert bike.speed_kmh(np.array([0.06]))[0] < bike.speed_kmh(np.array([0.0]))[0]
    assert bike.speed_kmh(np.array([-0.3]))[0] <= bike.params["max_downhill_kmh"]


@pytest.mark.parametrize("call, error, field", [
    (lambda e, p: e.route([p["louvre_lens"], (3.9, 50.5)]), errors.OutOfArea, "points[1]"),
    (lambda e, p: e.route([p["louvre_lens"], p["base_11_19"]], "tandem"), errors.UnknownProfile, "profile"),
    (lambda e, p: e.route([p["louvre_lens"]] * 28), errors.TooManyPoints, "points"),
    (lambda e, p: e.route([p["louvre_lens"], p["base_11_19"]],
                          avoid=shapely.Polygon([(2.78, 50.44), (2.79, 50.45), (2.79, 50.44), (2.78, 50.45)])),
     errors.InvalidAvoid, "avoid"),
    (lambda e, p: e.route([p["louvre_lens"], p["base_11_19"]], avoid=shapely.Point(p["louvre_lens"]).buffer(0.002)),
     errors.InvalidAvoid, "avoid"),
    (lambda e, p: e.route([p["louvre_lens"], p["base_11_19"]],
                          avoid=shapely.Point(p["base_11_19"]).buffer(0.004).difference(
                              shapely.Point(p["base_11_19"]).buffer(0.002))),
     errors.NoRoute, "avoid"),
])
def test_bad_requests_raise_typed_errors(lens_engine, lens_places, call, error, field):
    with pytest.raises(error) as info:
        call(lens_engine, lens_places)
    assert info.value.field.startswith(field) and str(info.value)


def test_nodes_on_the_area_edge_are_routable(lens_engine):
    """Ways clipped at the bbox end on its edge; their nodes, rounded to 7 decimals, stay inside."""
    g = lens_engine.graph
    w, s, e, n = lens_engine.bbox
    edge = np.flatnonzero(np.isclose(g.node_lat, s, atol=1e-6) | np.isclose(g.node_lon, w, atol=1e-6))
    assert len(edge) > 0
    i = int(edge[0])
    r = lens_engine.route([(g.node_lon[i], g.node_lat[i]), (2.80, 50.43)], "walk")[0]
    assert r.distance_m > 0


def test_a_point_far_from_any_way_is_refused(lens_engine):
    w, s, e, n = lens_engine.bbox
    xs, ys = np.meshgrid(np.linspace(w, e, 60), np.linspace(s, n, 40))
    snaps = lens_engine.snapper.snap_many(xs.ravel(), ys.ravel())
    far = [(x, y) for x, y, sn in zip(xs.ravel(), ys.ravel(), snaps) if sn.distance_m > 500]
    assert far, "the area has a spot over 500 m from any way"
    with pytest.raises(errors.TooFarFromRoad, match="limit is 500 m"):
        lens_engine.route([far[0], (2.80, 50.43)])
