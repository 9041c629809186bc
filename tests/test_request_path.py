"""The fast request path (issue 19) gives what the slow one gave: the same JSON as the schemas' dump, the same
route pieces, maneuvers and climbs as the per-piece code, the same POIs along a route as a whole-line search."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from api.responses import RouteCollectionSchema, RouteFeatureSchema, dump_result
from gpx_exports import route_feature
from poi_data import attach_pois
from routing import geo
from routing import route as R
from routing.core import cut_line, hysteresis_walk, profile_samples
from routing.instructions import instructions_for
from tests.conftest import assert_problem

pytestmark = pytest.mark.slow

LOUVRE, BASE_11_19, LEWARDE = (2.80437, 50.43061), (2.78975, 50.44406), (3.1691, 50.3369)


def _pairs(graph, n: int, seed: int) -> list[list[tuple[float, float]]]:
    rng = np.random.default_rng(seed)
    return [[(float(graph.node_lon[a]), float(graph.node_lat[a])), (float(graph.node_lon[b]), float(graph.node_lat[b]))]
            for a, b in rng.integers(0, graph.n_nodes, size=(n, 2))]


def _old_piece_points(graph, piece) -> np.ndarray:
    """A piece's points one piece at a time, as build_route made them before the gather."""
    e = piece.arc >> 1
    pts = graph.geom_points()[graph.geom_offsets[e]:graph.geom_offsets[e + 1]]
    pts = pts[::-1] if piece.arc & 1 else pts
    return pts if piece.lo <= 0.0 and piece.hi >= 1.0 else np.array(cut_line(pts.tolist(), piece.lo, piece.hi))


def test_the_compiled_maneuvers_are_the_per_piece_ones_key_for_key(basin_graph, basin_engine):
    """The server's maneuvers (``route._maneuvers``: gathered pieces, one compiled pass) are the phone's
    (``instructions_for``, a piece at a time): the same dicts, keys in the same order, waypoints numbered alike."""
    checked = waypoints = 0
    for k, pts in enumerate(_pairs(basin_graph, 90, 3)):
        names: tuple = ()
        if k % 3 == 0:
            pts = [pts[0], LOUVRE, pts[1]]  # a via point: cut pieces inside the route
            names = ("Départ", "Louvre-Lens", None)
        elif k % 5 == 1:
            pts = [pts[0], BASE_11_19, LEWARDE, pts[1]]  # two vias: waypoints 1 and 2
            names = (None, "Base 11/19", None, "Arrivée")
        profile = ("bike", "walk", "trail", "road_bike")[k % 4]
        legs = basin_engine.legs(basin_engine.snap(pts), profile, basin_engine.query(profile),
                                 basin_engine.weights(profile).cost_ms)
        pieces = [p for leg in legs for p in leg.pieces]
        chunks = [_old_piece_points(basin_graph, p) for p in pieces]
        table = R.leg_table(legs)  # the legs' whole arcs as the search gave them, read without a piece each
        assert all(np.array_equal(a, b) for a, b in zip(table, R.piece_table(pieces)))
        points, offsets = R.gather_pieces(basin_graph, *table)
        assert np.array_equal(points, np.vstack(chunks))
        arcs = np.array([p.arc for p in pieces])
        lengths = basin_graph.edge_length[arcs >> 1] * np.array([p.hi - p.lo for p in pieces])
        sizes = [len(leg.pieces) for leg in legs]
        push = R.pushed_subclasses(profile)
        by_piece = instructions_for(R.way_keys(basin_graph), pieces, chunks, lengths, sizes, push=push, names=names)
        at_once = R._maneuvers(basin_graph, arcs, points, offsets, lengths, np.array(sizes, dtype=np.int64), profile,
                               names)  # as build_route calls it
        assert at_once == by_piece
        assert [list(m) for m in at_once] == [list(m) for m in by_piece]
        assert len(by_piece) > 2 and any(i["modifier"] for i in by_piece)
        stops = [m for m in at_once if m["type"] == "waypoint"]
        assert [m["number"] for m in stops] == list(range(1, len(pts) - 1))
        assert [m["place"] for m in stops] == list(names[1:-1]) and at_once[-1]["place"] == (names or [None])[-1]
        waypoints += len(stops)
        checked += 1
    assert checked == 90 and waypoints >= 40
def test_arrays_are_rounded_as_python_rounds_each_value():
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.uniform(-200, 3000, 20_000), rng.uniform(2.0, 4.0, 20_000),
                             np.arange(-50, 50) / 100 + 0.05,  # halves at 1 decimal, most of them not exact in binary
                             np.array([0.35, 2.675, 1.25, -0.25, 0.0, -0.04, 3.14159265358979])])
    for ndigits in (1, 7):
        assert R.rounded(values, ndigits).tolist() == [round(v, ndigits) for v in values.tolist()]


def test_the_profile_samples_on_arrays_are_the_phones():
    rng = np.random.default_rng(11)
    for n in (1, 2, 299, 300, 301, 601, 4_000):
        grid = np.cumsum(rng.uniform(0, 25, n))
        z = 30 + np.cumsum(rng.normal(0, 0.4, n))
        assert R.profile_samples(grid, z) == profile_samples(grid.tolist(), z.tolist())


def test_the_compiled_hysteresis_counts_every_climb_as_the_phone_does():
    rng = np.random.default_rng(1)
    for _ in range(200):
        z = np.round(np.cumsum(rng.normal(0, 2, size=rng.integers(2, 400))), 1)
        z[rng.integers(0, len(z), size=len(z) // 4)] = z[0]  # plateaus and repeats
        assert R.climbs_with_hysteresis(z, 5.0) == hysteresis_walk(z.tolist(), 5.0, None)


def _whole_line_hits(catalogue, coords, corridor_m=150.0) -> set[tuple[str, float]]:
    """POIs and distances by the former search: every hit against the whole route line."""
    x, y = geo.to_metric(coords[:, 0], coords[:, 1])
    line = shapely.LineString(np.column_stack([x, y]))
    idx = catalogue._shape_tree.query(line, predicate="dwithin", distance=corridor_m)
    dist = shapely.distance(catalogue._shapes[idx], line)
    return {(catalogue.pois[i]["id"], round(float(d), 1)) for i, d in zip(idx, dist)}


def test_pois_along_a_route_are_those_of_a_whole_line_search_in_route_order(basin_engine, catalogue):
    hits = 0
    for pts in [[LOUVRE, LEWARDE], [LOUVRE, BASE_11_19], *_pairs(basin_engine.graph, 20, 4)]:
        route = basin_engine.route(pts, "trail")[0]
        along = catalogue.along(route.coordinates)
        assert {(h.poi["id"], h.distance_m) for h in along} == _whole_line_hits(catalogue, route.coordinates)
        marks = [h.along_m for h in along]
        assert marks == sorted(marks) and all(0 <= m <= route.distance_m * 1.01 for m in marks)
        hits += len(along)
    assert hits > 100


def _per_segment_hits(catalogue, coords, corridor_m=150.0) -> list[tuple[str, float, float]]:
    """POIs along a route by brute force: every segment measured against every POI near the line; a POI's place
    is its nearest segment's nearest point, the earliest segment among equals."""
    x, y = geo.to_metric(coords[:, 0], coords[:, 1])
    xy = np.column_stack([x, y])
    idx = catalogue._shape_tree.query(shapely.LineString(xy), predicate="dwithin", distance=corridor_m)
    segments = shapely.linestrings(np.stack([xy[:-1], xy[1:]], axis=1))
    start = np.r_[0.0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]
    hits = []
    for i in idx.tolist():
        d = shapely.distance(catalogue._shapes[i], segments)
        k = int(np.argmin(d))  # the first of the nearest
        near = shapely.get_point(shapely.shortest_line(segments[k], catalogue._shapes[i]), 0)
        hits.append((catalogue.pois[i]["id"], round(float(d[k]), 1),
                     round(float(start[k] + shapely.line_locate_point(segments[k], near)), 1)))
    return sorted(hits, key=lambda h: (h[2], h[0]))


def test_pois_along_a_route_are_found_where_a_per_segment_search_finds_them(basin_engine, catalogue):
    """The stretches asked of the POI index, then the nearest stretch (and, inside an area, the first segment in
    it), give each POI the distance and the metres along that measuring every segment gives, to the 0.1 m."""
    entered = 0
    for pts in ([LOUVRE, LEWARDE], *_pairs(basin_engine.graph, 5, 9)):
        coords = basin_engine.route(pts, "bike")[0].coordinates
        found = [(h.poi["id"], h.distance_m, h.along_m) for h in catalogue.along(coords)]
        assert sorted(found, key=lambda h: (h[2], h[0])) == _per_segment_hits(catalogue, coords)
        entered += sum(h[1] == 0.0 for h in found)
    assert entered > 5  # routes that cross cités and terrils: the first point inside counts


def test_the_fast_dump_is_the_schemas_dump(basin_engine, catalogue):
    routes = basin_engine.route([LOUVRE, BASE_11_19, LEWARDE], "bike", 2)
    for r in routes:
        attach_pois(r, catalogue)
    one = route_feature(routes[0])
    assert one["properties"]["pois"] and len(one["properties"]["instructions"]) > 10
    assert dump_result(one) == RouteFeatureSchema().dump(one)
    many = {"type": "FeatureCollection", "features": [route_feature(r) for r in routes], "total": {"routes": 3}}
    assert dump_result(many) == RouteCollectionSchema().dump(many)
    stray = route_feature(routes[0])
    stray["properties"]["instructions"][0]["debug"] = 1  # a field the schema does not declare is dropped as before
    assert "debug" not in dump_result(stray)["properties"]["instructions"][0]


def test_a_client_asks_only_the_details_it_needs(client):
    full = client.post("/v1/routes", json={"points": [LOUVRE, LEWARDE], "lang": "fr"}).get_json()
    bare = client.post("/v1/routes", json={"points": [LOUVRE, LEWARDE], "details": [], "lang": "fr"})
    assert bare.status_code == 200
    bare = bare.get_json()
    assert bare["geometry"] == full["geometry"]
    for figure in ("distance_m", "duration_s", "ascent_m", "descent_m", "ev5_share", "cavalier_share"):
        assert bare["properties"][figure] == full["properties"][figure]
    assert not {"instructions", "pois", "elevation_profile"} & bare["properties"].keys()
    assert len(bare["links"]["self"]) > 10 and bare["links"]["self"] != full["links"]["self"]  # its own result
    pois = client.post("/v1/routes", json={"points": [LOUVRE, LEWARDE], "details": ["pois", "pois"]}).get_json()
    assert [p["id"] for p in pois["properties"]["pois"]] == [p["id"] for p in full["properties"]["pois"]]
    assert "instructions" not in pois["properties"]
    gpx = client.post("/v1/routes?format=gpx", json={"points": [LOUVRE, LEWARDE], "details": []})
    assert gpx.status_code == 200 and b"<trk>" in gpx.data


def test_an_unknown_detail_is_refused_naming_the_field(client):
    resp = client.post("/v1/routes", json={"points": [LOUVRE, LEWARDE], "details": ["weather"]})
    assert "instructions, pois, elevation_profile" in assert_problem(resp, 422, "details[0]")["detail"]
