"""The compiled graph on real data: stitching, osmnx conventions, enrichment and the .osm path."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import osmnx as ox
import pytest

from routing import checks, landmarks
from routing.build import BuildRequest, load_or_build
from routing.sources import osm_file, tiles
from routing.topology import build_topology
from tests.conftest import BOX_11_19
from tests.osm_fixture import write_osm

matplotlib.use("Agg")


def test_lines_cut_at_tile_borders_are_stitched(cfg, lens_graph):
    """Hundreds of line pieces end on a tile border; in the graph almost none do, and none that
    could have been joined: a way left ending on a border has no other vertex within a pixel."""
    lines = tiles.read_lines(cfg.tiles_dir, lens_graph.meta["bbox"])
    ends = np.concatenate([lines.offsets[:-1], lines.offsets[1:] - 1])
    end_px = lines.coords[ends] / 4
    on_border = np.any(np.isclose(end_px % 4096, 0) | np.isclose(end_px % 4096, 4096), axis=1)
    assert on_border.sum() > 200
    report = checks.border_nodes(lens_graph)
    assert report["on_border"] < 0.05 * on_border.sum()
    px, py = tiles.lonlat_to_pixels(lens_graph.node_lon, lens_graph.node_lat)
    degree = np.bincount(lens_graph.edge_u, minlength=lens_graph.n_nodes) + np.bincount(
        lens_graph.edge_v, minlength=lens_graph.n_nodes)
    border = (np.abs(px / 4096 - np.round(px / 4096)) * 4096 < 0.2) | (
        np.abs(py / 4096 - np.round(py / 4096)) * 4096 < 0.2)
    for i in np.flatnonzero(border & (degree == 1)):
        d = np.hypot(lines.coords[:, 0] / 4 - px[i], lines.coords[:, 1] / 4 - py[i])
        assert np.sort(d)[1] > 1.0, "a dangling border end had a partner to stitch to"


def test_a_named_way_crosses_a_tile_border_as_one_edge(lens_graph):
    """Edges whose geometry spans two tiles: the stitch joined the pieces each tile held."""
    g = lens_graph
    px, py = tiles.lonlat_to_pixels(g.geom_lon, g.geom_lat)
    tile = np.floor(px / 4096 - 1e-9) * 100_000 + np.floor(py / 4096 - 1e-9)
    edge_of = np.repeat(np.arange(len(g.edge_u)), np.diff(g.geom_offsets))
    first = tile[g.geom_offsets[:-1]][edge_of]
    spanning = np.unique(edge_of[tile != first])
    assert len(spanning) > 200
    names = g.edge_column("name")[spanning]
    assert "Avenue Alfred Maës" in set(names) or "Boulevard Émile Basly" in set(names)


@pytest.mark.slow  # a galibot subprocess or a larger build: seconds each
def test_networkx_view_follows_osmnx_conventions(lens_graph, lens_nx):
    G = lens_nx
    assert G.graph["crs"] == "epsg:4326"
    assert G.number_of_nodes() == lens_graph.n_nodes and G.number_of_edges() == lens_graph.n_edges
    u, v, data = next(iter(G.edges(data=True)))
    assert {"length", "geometry", "class", "subclass", "oneway", "reversed", "grade", "cavalier", "ev5"} <= set(data)
    assert data["geometry"].coords[0] == (G.nodes[u]["x"], G.nodes[u]["y"])
    stats = ox.basic_stats(G)
    assert stats["n"] == G.number_of_nodes()
    assert stats["street_length_total"] / 1000 == pytest.approx(lens_graph.meta["stats"]["km_total"], rel=1e-3)
    assert ox.stats.count_streets_per_node(G) == dict(G.nodes(data="street_count"))
    nodes, edges = ox.graph_to_gdfs(G)
    assert len(nodes) == G.number_of_nodes() and len(edges) == G.number_of_edges()
    fig, ax = ox.plot_graph(G, show=False, close=True)
    assert fig is not None


def test_osmnx_nearest_node_of_the_louvre_lens(cfg, lens_graph, lens_nx):
    lon, lat = landmarks.locate(cfg, lens_graph, ("louvre_lens",))["louvre_lens"]
    node = ox.nearest_nodes(lens_nx, lon, lat)
    x, y = lens_nx.nodes[node]["x"], lens_nx.nodes[node]["y"]
    assert ox.distance.great_circle(lat, lon, y, x) < 150


def test_osmnx_simplification_agrees_with_the_builder(cfg):
    """osmnx.simplify_graph on the every-vertex graph gives the builder's own simplified graph."""
    full, _, _ = load_or_build(cfg, BuildRequest(bbox=BOX_11_19, simplify=False))
    mine, _, _ = load_or_build(cfg, BuildRequest(bbox=BOX_11_19))
    attrs = ["class", "subclass", "name", "ref", "brunnel", "oneway", "service"]
    simplified = ox.simplify_graph(full.to_networkx(), edge_attrs_differ=attrs)
    assert full.n_edges > 2 * mine.n_edges
    assert simplified.number_of_edges() == pytest.approx(mine.n_edges, rel=0.01)
    total = sum(d["length"] for _, _, d in simplified.edges(data=True))
    assert total == pytest.approx(mine.edge_length.sum() * 2, rel=1e-6)


def test_largest_component_keeps_nearly_all_nodes(lens_graph):
    assert lens_graph.meta["stats"]["lcc_share"] >= 0.98


def test_motorways_trunks_and_rail_are_dropped(lens_graph):
    classes = set(lens_graph.edge_column("class"))
    assert not classes & {"motorway", "trunk", "rail"}
    assert {"path", "track", "minor"} <= classes


def test_terril_74_summit_is_corrected_to_the_osm_peak(lens_graph):
    t74 = next(t for t in lens_graph.meta["terrils"] if t["number"] == "T074")
    assert t74["peak_m"] == 188 and 150 <= t74["dem_max_m"] <= 160
    assert 180 <= checks.terril_max_node_elevation(lens_graph, "T074") <= 190
    off_terril = lens_graph.node_terril < 0
    assert lens_graph.node_elevation[off_terril].max() < 120, "no correction leaks off the terrils"


def test_edge_climbs_are_consistent_with_node_elevations(lens_graph):
    g = lens_graph
    net = g.edge_ascent - g.edge_descent
    rise = g.node_elevation[g.edge_v] - g.node_elevation[g.edge_u]
    assert np.allclose(net, rise, atol=0.05)
    assert np.all(g.edge_ascent >= 0) and np.all(g.edge_descent >= 0)
    assert np.allclose(g.edge_grade(), rise / g.edge_length)


def test_reverse_edges_swap_climbs(lens_nx):
    for u, v, d in list(lens_nx.edges(data=True))[:200]:
        if not d["reversed"]:
            back = next(b for b in lens_nx[v][u].values() if b["reversed"] and b["length"] == d["length"])
            assert (back["ascent"], back["descent"], back["grade"]) == (d["descent"], d["ascent"], -d["grade"])


def test_cavaliers_are_flagged_on_paths_not_on_main_roads(lens_graph):
    g = lens_graph
    classes, names = g.edge_column("class"), g.edge_column("name")
    cav = g.edge_cavalier
    assert g.edge_length[cav].sum() > 10_000
    assert not np.isin(classes[cav], ["primary", "secondary", "tertiary"]).any()
    named = np.array([bool(n) and "Cavalier" in n for n in names]) & np.isin(classes, ["path", "track"])
    assert named.any() and cav[named].all()


def test_ev5_edges_follow_the_relation(cfg, lens_graph):
    """Through Lens the EV5 runs along the parc centralité: its edges form long connected runs."""
    g = lens_graph
    assert g.edge_length[g.edge_ev5].sum() > 10_000
    ends = np.concatenate([g.edge_u[g.edge_ev5], g.edge_v[g.edge_ev5]])
    counts = np.bincount(ends)
    assert (counts == 1).sum() < 0.2 * g.edge_ev5.sum(), "matched edges are chained, not scattered"


def test_unesco_elements_border_the_11_19(lens_graph):
    g = lens_graph
    idx = next(i for i, e in enumerate(g.meta["unesco_elements"]) if "11/19" in (e["name"] or "") or
               e["id"] == "63")
    assert (g.edge_unesco == idx).sum() > 20


def test_landmarks_in_lens_snap_and_connect(cfg, lens_graph):
    keys = ("louvre_lens", "base_11_19", "t074_summit")
    report = checks.snap_and_reach(lens_graph, landmarks.locate(cfg, lens_graph, keys))
    assert max(report["snap_m"].values()) <= 150
    km = report["km"]
    assert np.isfinite(km).all()
    assert 1.5 < km[0, 1] < 6, "Louvre-Lens to the 11/19 is a few km, not a detour across the basin"


def test_osm_file_gives_the_same_graph_as_the_tiles(cfg, tmp_path):
    """A real .osm.pbf with the same ways yields the same topology, and carries richer tags."""
    lines = tiles.read_lines(cfg.tiles_dir, BOX_11_19)
    pbf = tmp_path / "box.osm.pbf"
    write_osm(lines, pbf)
    pad = (BOX_11_19[0] - 0.01, BOX_11_19[1] - 0.01, BOX_11_19[2] + 0.01, BOX_11_19[3] + 0.01)
    from_osm, _ = osm_file.read_osm(pbf, pad)
    a, b = build_topology(lines), build_topology(from_osm)
    assert (a.n_edges, len(a.node_keys)) == (b.n_edges, len(b.node_keys))
    write_osm(lines, pbf, surface_every=3)
    graph, _, _ = load_or_build(cfg, BuildRequest(bbox=BOX_11_19, osm_file=pbf))
    surfaces = set(graph.edge_column("surface"))
    assert "asphalt" in surfaces
    assert graph.meta["stats"]["km_total"] == pytest.approx(
        load_or_build(cfg, BuildRequest(bbox=BOX_11_19))[0].meta["stats"]["km_total"], rel=0.01)
    assert not math.isnan(checks.terril_max_node_elevation(graph, "T074"))
