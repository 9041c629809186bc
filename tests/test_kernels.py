"""The compiled assembly of a route (``routing.kernels``) gives what the numpy functions and the phone's plain Python
give, to the bit, on real routes of the Lens area; and each thread keeps its own query objects."""

from __future__ import annotations

import gc
import os
import sys
import threading

import numpy as np
import pytest
import shapely

from routing import core, errors, kernels, settings
from routing import route as R
from routing.engine import _kept_queries


def _point_pairs(graph, n: int, seed: int) -> list[list[tuple[float, float]]]:
    rng = np.random.default_rng(seed)
    return [[(float(graph.node_lon[a]), float(graph.node_lat[a])), (float(graph.node_lon[b]), float(graph.node_lat[b]))]
            for a, b in rng.integers(0, graph.n_nodes, size=(n, 2))]


def _legs(engine, points, profile="bike"):
    return engine.legs(engine.snap(points), profile, engine.query(profile), engine.weights(profile).cost_ms)


def test_a_route_is_joined_and_measured_as_the_numpy_functions_do(lens_engine, lens_places):
    """60 routes, a third through a via (cut pieces inside): the line and its distances equal ``join_points`` and
    ``cumulative_distance`` exactly, though most steps come from the graph's measured ones."""
    g = lens_engine.graph
    checked = 0
    for k, pts in enumerate(_point_pairs(g, 60, 4)):
        if k % 3 == 0:
            pts = [pts[0], lens_places["louvre_lens"], pts[1]]
        legs = _legs(lens_engine, pts)
        arcs, lo, hi = R.leg_table(legs)
        points, offsets, steps = kernels.gather(g.geom_offsets, g.geom_points(), R.vertex_steps(g), arcs, lo, hi)
        coords, dist = kernels.join_and_measure(points, steps)
        assert np.array_equal(coords, R.join_points([points]))
        assert np.array_equal(dist, R.cumulative_distance(coords))
        assert np.isfinite(steps).sum() > len(points) // 2  # most steps were measured once, with the graph
        checked += 1
    assert checked == 60


def test_the_metres_by_way_type_are_numpys_sums(lens_engine):
    """``kernels.type_totals`` adds each piece's metres to its type in route order, as ``np.bincount`` does: the
    same floats, and only the types the route has."""
    g = lens_engine.graph
    types, per_edge = R.way_type_ids(g)
    several = 0
    for pts in _point_pairs(g, 40, 5):
        arcs, lo, hi = R.leg_table(_legs(lens_engine, pts))
        edges = arcs >> 1
        metres = g.edge_length[edges] * (hi - lo)
        present, totals = kernels.type_totals(per_edge, edges, metres, len(types))
        ids = per_edge[edges]
        assert present.tolist() == sorted(set(ids.tolist()))
        assert totals.tolist() == np.bincount(ids, weights=metres, minlength=len(types))[present].tolist()
        several += len(present) > 2
    assert several > 10


def test_a_routes_figures_are_the_phones_sums_and_its_profile_the_numpy_functions(lens_engine, lens_places):
    """``build_route`` takes its figures from ``kernels.piece_figures`` and its profile from
    ``kernels.line_and_profile``, one call each: the metres, seconds, shares, leg figures and metres by way type are
    the phone's ``sum`` over the pieces in route order, to the bit; the line, climbs and profile samples are those
    of ``join_points``, ``smoothed_climbs`` and ``profile_samples``. 45 routes, a third through a via."""
    g = lens_engine.graph
    types, per_edge = R.way_type_ids(g)
    weights = lens_engine.weights("trail")
    for k, pts in enumerate(_point_pairs(g, 45, 8)):
        if k % 3 == 0:
            pts = [pts[0], lens_places["louvre_lens"], pts[1]]
        legs = _legs(lens_engine, pts, "trail")
        route = R.build_route(g, weights, legs, pts, "trail", instructions=False)
        pieces = [p for leg in legs for p in leg.pieces]
        metres = [float(g.edge_length[p.arc >> 1]) * (p.hi - p.lo) for p in pieces]
        seconds = [float(weights.time_s[p.arc]) * (p.hi - p.lo) for p in pieces]
        assert route.distance_m == sum(metres) and route.duration_s == sum(seconds)
        shares = [sum(m for p, m in zip(pieces, metres) if flags[p.arc >> 1]) / sum(metres)
                  for flags in (g.edge_cavalier, g.edge_ev5)]
        assert [route.cavalier_share, route.ev5_share] == shares
        at = 0
        for leg, figures in zip(legs, route.legs, strict=True):
            assert figures == {"distance_m": round(sum(metres[at:at + leg.size]), 1),
                               "duration_s": round(sum(seconds[at:at + leg.size]), 1)}
            at += leg.size
        by_type: dict[str, float] = {}
        for p, m in zip(pieces, metres):
            kind = types[per_edge[p.arc >> 1]]
            by_type[kind] = by_type.get(kind, 0.0) + m
        assert route.way_types == {t: round(m, 1) for t, m in sorted(by_type.items(), key=lambda tm: -tm[1])}
        points, _, _ = kernels.gather(g.geom_offsets, g.geom_points(), R.vertex_steps(g), *R.leg_table(legs))
        line = R.join_points([points])
        up, down, grid, z = R.smoothed_climbs(R.cumulative_distance(line), line[:, 2])
        assert np.array_equal(route.coordinates, line) and (route.ascent_m, route.descent_m) == (up, down)
        assert route.elevation_profile == R.profile_samples(grid, z) and len(route.elevation_profile) > 1


def test_a_step_measures_the_same_either_way(lens_graph):
    pts = lens_graph.geom_points()
    steps = R.vertex_steps(lens_graph)
    first = lens_graph.geom_offsets[:-1]
    inner = np.setdiff1d(np.arange(1, len(pts)), first)[:5000]
    back = [kernels._step_m(pts[v, 0], pts[v, 1], pts[v - 1, 0], pts[v - 1, 1]) for v in inner]
    assert steps[inner].tolist() == back
    assert np.isnan(steps[first[np.diff(lens_graph.geom_offsets) > 0]]).all()


def test_the_compiled_climbs_are_the_phones():
    """The phone's plain Python (``core.smoothed_climbs``) sums its moving average in another order: the same
    samples, the same totals within a micrometre."""
    rng = np.random.default_rng(7)
    for n in (2, 3, 7, 60, 900):
        dist = np.cumsum(rng.uniform(0, 40, n))
        ele = 30 + np.cumsum(rng.normal(0, 1.5, n))
        up, down, grid, z = R.smoothed_climbs(dist, ele)
        p_up, p_down, p_grid, p_z = core.smoothed_climbs(dist.tolist(), ele.tolist())
        assert grid.tolist() == p_grid and np.allclose(z, p_z, rtol=0, atol=1e-9)
        assert up == pytest.approx(p_up, abs=1e-6) and down == pytest.approx(p_down, abs=1e-6)
        assert (up, down) == kernels.hysteresis_totals(z, settings.CLIMB_HYSTERESIS_M)
        assert (up, down) == core.hysteresis_walk(z.tolist(), settings.CLIMB_HYSTERESIS_M, None)


def test_a_thread_keeps_its_own_few_queries(lens_engine, monkeypatch):
    """The same query object for a thread's next search, another for another thread; no more than
    QUERIES_PER_THREAD kept; and a thread's queries dropped by that thread, never by another (the binding would
    warn of an object dropped on the wrong thread)."""
    q = lens_engine.query("bike")
    assert lens_engine.query("bike") is q
    for profile in ("walk", "trail", "mtb"):
        lens_engine.query(profile)
    assert len(_kept_queries()) == settings.QUERIES_PER_THREAD
    a, b = _point_pairs(lens_engine.graph, 1, 9)[0]
    here = lens_engine.route([a, b], "bike")[0]
    seen: dict[int, tuple[bool, bool, float]] = {}

    def work(i: int) -> None:
        mine = lens_engine.query("bike")
        route = lens_engine.route([a, b], "bike")[0]
        seen[i] = (lens_engine.query("bike") is mine, mine is q, route.distance_m)

    unraisable: list = []  # where the binding reports a query dropped on another thread than its own
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gc.collect()
    assert seen == {i: (True, False, here.distance_m) for i in range(4)}
    assert not [u for u in unraisable if "unsendable" in str(u.exc_value)]


def test_a_process_forked_while_threads_route_drops_none_of_their_queries(lens_engine, capfd, monkeypatch):
    """A child forked while other threads hold queries (a pool of request threads, then a process pool) inherits
    copies of those threads' locals, which its only thread clears: they are kept, not dropped on the wrong thread
    (the binding would print an error for each), and the child routes as the parent does."""
    a, b = _point_pairs(lens_engine.graph, 1, 12)[0]
    distance = lens_engine.route([a, b], "walk")[0].distance_m
    ready, done = threading.Event(), threading.Event()

    def hold() -> None:
        lens_engine.route([a, b], "walk")  # this thread now keeps a query
        ready.set()
        done.wait()

    thread = threading.Thread(target=hold)
    thread.start()
    ready.wait()
    # what the binding reports in the child, written where this test reads it (pytest's own hook would keep it)
    monkeypatch.setattr(sys, "unraisablehook", lambda u: os.write(2, f"unraisable: {u.exc_value}\n".encode()))
    pid = os.fork()
    if pid == 0:  # the child: route, then leave at once with the result as its status, whatever happens
        code = 3
        try:
            code = 0 if lens_engine.route([a, b], "walk")[0].distance_m == distance else 4
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    done.set()
    thread.join()
    assert os.waitstatus_to_exitcode(status) == 0
    assert "unsendable" not in capfd.readouterr().err


def test_a_refused_route_collected_on_another_thread_drops_no_query(lens_engine, lens_places, monkeypatch):
    """A route refused for its avoid area raises from frames that hold its query; held in a reference cycle (as a
    caught exception often is), the garbage collector drops them on whichever thread it runs: the query is then
    kept, not dropped on the wrong thread."""
    unraisable: list = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    ring = shapely.Point(lens_places["base_11_19"]).buffer(0.004).difference(
        shapely.Point(lens_places["base_11_19"]).buffer(0.002))
    gc.disable()
    try:
        try:
            lens_engine.route([lens_places["louvre_lens"], lens_places["base_11_19"]], avoid=ring)
        except errors.NoRoute as err:
            kept = [err]
            kept.append(kept)  # a cycle: the exception, its frames and their query, reachable only from it
        del kept
        collector = threading.Thread(target=gc.collect)
        collector.start()
        collector.join()
    finally:
        gc.enable()
    assert not [u for u in unraisable if "unsendable" in str(u.exc_value)]
