"""Region bundles and the offline client, on the whole basin and a real sub-region."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import gpxpy
import numpy as np
import pytest

import gpx_exports as gx
from gpx_exports.bundles import build_region, region_bbox
from poi_data.circuits import circuits_version
from routing.checks import sample_points
from routing.errors import OutOfArea, RoutingError, UnknownProfile
from routing.offline.client import OfflineClient
from routing.offline.graph import BundleError, decode_sections
from routing.sources import mbm

#: gpxpy measures on a 6,378.137 km sphere, galibot (osmnx) on 6,371.009 km.
GPXPY_SCALE = 6378.137 / 6371.009


@pytest.fixture(scope="session")
def basin_bundle(cfg, basin_graph, basin_engine, catalogue, circuits):
    """The bundle of the whole basin (built once into var/test/bundles, then found there)."""
    return build_region(cfg, "basin", basin_graph, catalogue, circuits, circuits_version(basin_engine))


@pytest.fixture(scope="session")
def offline(basin_bundle):
    return OfflineClient(basin_bundle.directory)


@pytest.fixture(scope="session")
def lens_bundle(cfg, basin_graph, basin_engine, catalogue, circuits):
    """The Lens-Liévin sub-region: its own graph over the CA de Lens-Liévin communes (built once, cached)."""
    return build_region(cfg, "lens-lievin", basin_graph, catalogue, circuits, circuits_version(basin_engine))


def gpx_length(xml: str) -> float:
    return gpxpy.parse(xml).length_2d() / GPXPY_SCALE


def test_manifest_describes_every_file_with_its_hash(basin_bundle, circuits):
    m = basin_bundle.manifest
    assert m["format"] == "galibot-bundle" and m["region"]["id"] == "basin"
    roles = [f["role"] for f in m["files"]]
    assert roles.count("graph") == 1 and roles.count("pois") == 1 and roles.count("circuits") == 1
    assert roles.count("circuit-gpx") == len(circuits) == m["counts"]["circuits"]
    for f in m["files"]:
        data = (basin_bundle.directory / f["name"]).read_bytes()
        assert len(data) == f["size"] and hashlib.sha256(data).hexdigest() == f["sha256"]
        assert f["sha256"][:16] in f["name"]  # content-addressed
    assert "© OpenStreetMap contributors" in m["attribution"]
    assert {lic["text"].split(",")[0] for lic in m["licences"]} >= {"© OpenStreetMap contributors",
                                                                    "Mission Bassin Minier open data"}
    assert m["total_bytes"] == m["routing_bytes"] + m["map_bytes"]
    assert roles.count("basemap") == 1 and roles.count("style") == 1
    basemap = m["basemap"]
    assert (basemap["min_zoom"], basemap["max_zoom"]) == (8, 14) and basemap["tiles"] > 0
    style_file = next(f for f in m["files"] if f["role"] == "style")
    doc = json.loads((basin_bundle.directory / style_file["name"]).read_text(encoding="utf-8"))
    basemap_file = next(f for f in m["files"] if f["role"] == "basemap")
    assert doc["sources"]["basemap"]["url"] == f"pmtiles://{basemap_file['name']}"


def test_pois_and_circuits_files_hold_the_catalogue(basin_bundle, catalogue, circuits):
    files = {f["role"]: f for f in basin_bundle.manifest["files"] if f["role"] != "circuit-gpx"}
    pois = json.loads(gzip.decompress((basin_bundle.directory / files["pois"]["name"]).read_bytes()))
    assert len(pois["features"]) == len(catalogue) == basin_bundle.manifest["counts"]["pois"]
    lewarde = next(f for f in pois["features"] if f["id"] == "great-site-chm-lewarde")
    assert lewarde["geometry"]["coordinates"] == [catalogue.get("great-site-chm-lewarde")["lon"],
                                                  catalogue.get("great-site-chm-lewarde")["lat"]]
    assert set(lewarde["properties"]["description"]) == {"fr", "en"}
    circ = json.loads(gzip.decompress((basin_bundle.directory / files["circuits"]["name"]).read_bytes()))
    assert {f["id"] for f in circ["features"]} == set(circuits)
    tpn = next(f for f in circ["features"] if f["id"] == "trail-pyramides-noires-inspire")
    assert abs(tpn["properties"]["distance_m"] - circuits["trail-pyramides-noires-inspire"].route.distance_m) < 1
    gpx_file = next(f for f in basin_bundle.manifest["files"] if f["name"].startswith("circuit-trail-pyramides"))
    assert gpx_file["compression"] == "gzip" and gpx_file["name"].endswith(".gpx.gz")
    xml = gzip.decompress((basin_bundle.directory / gpx_file["name"]).read_bytes()).decode("utf-8")
    assert abs(gpx_length(xml) / circuits["trail-pyramides-noires-inspire"].route.distance_m - 1) < 0.005


def test_unchanged_inputs_are_not_rebuilt(cfg, basin_bundle, basin_graph, basin_engine, catalogue, circuits):
    again = build_region(cfg, "basin", basin_graph, catalogue, circuits, circuits_version(basin_engine))
    assert not again.built and again.manifest == basin_bundle.manifest


def test_graph_file_decodes_to_the_compiled_graph(basin_bundle, offline, basin_graph):
    g = offline.graph
    assert g.header["nodes"] == basin_graph.n_nodes and g.header["edges"] == len(basin_graph.edge_u)
    assert list(g.edge_u) == basin_graph.edge_u.tolist() and list(g.edge_v) == basin_graph.edge_v.tolist()
    assert np.allclose(np.array(g.a["node_lon"]) / 1e7, basin_graph.node_lon, atol=1e-7)
    e = 12345
    lo, hi = basin_graph.geom_offsets[e], basin_graph.geom_offsets[e + 1]
    decoded = np.array(g.edge_vertices(e))
    assert np.allclose(decoded[:, 0], basin_graph.geom_lon[lo:hi], atol=1.1e-7)
    assert np.allclose(decoded[:, 1], basin_graph.geom_lat[lo:hi], atol=1.1e-7)


def test_subregion_is_the_epci_communes_and_smaller(cfg, lens_bundle, basin_bundle):
    bbox = region_bbox(cfg, "lens-lievin")
    assert lens_bundle.manifest["region"]["bbox"] == list(bbox)
    lens = next(g for g, p in mbm.read_layer(cfg.mbm_dir, "communes-mbm") if p["nom"] == "Lens")
    c = lens.centroid
    assert bbox[0] < c.x < bbox[2] and bbox[1] < c.y < bbox[3]
    assert lens_bundle.manifest["total_bytes"] < basin_bundle.manifest["total_bytes"] / 3
    assert 0 < lens_bundle.manifest["counts"]["pois"] < basin_bundle.manifest["counts"]["pois"]


@pytest.mark.parametrize("profile", ["bike", "road_bike", "mtb", "walk", "trail"])
def test_offline_routes_match_the_server(offline, basin_engine, basin_graph, profile):
    """14 random A→B requests per profile (70 in all; the bundles benchmark runs 200): same cost within 0.1 % (the
    phone snaps on its own grid, to the same way but a few centimetres apart), same GPX distance within 0.5 %, the
    same maneuvers in the same order on the same ways, the same ascent within 2 m (elevations in decimetres)."""
    pts = sample_points(basin_graph, 28, seed=sum(map(ord, profile)))
    compared = 0
    for a, b in zip(pts[0::2], pts[1::2]):
        try:
            server = basin_engine.route([a, b], profile)[0]
        except RoutingError:  # a point the server refuses (too far from a way) is skipped on both sides
            continue
        mine = offline.route([a, b], profile)
        assert abs(mine.cost_ms / (server.cost * 1000) - 1) < 0.001, (a, b)
        server_gpx = gx.to_gpx(gx.course(server, "route", "server"))
        assert abs(gpx_length(offline.to_gpx(mine)) / gpx_length(server_gpx) - 1) < 0.005, (a, b)
        assert maneuvers(mine.instructions) == maneuvers(server.instructions), (a, b)
        assert abs(mine.ascent_m - server.ascent_m) <= max(2.0, 0.02 * server.ascent_m), (a, b)
        compared += 1
    assert compared >= 12


@pytest.mark.parametrize("profile", ["bike", "walk", "trail"])
def test_the_phones_hierarchy_finds_the_servers_least_cost(offline, basin_engine, basin_graph, profile):
    """From the same snapped points, the phone's CCH (customised in plain Python from the shipped order) and the
    server's RoutingKit CCH give the same cost to the millisecond, along a connected chain of arcs."""
    from routing.core import Snap
    from routing.offline import search

    pts = sample_points(basin_graph, 40, seed=7)
    g, metric = offline.graph, offline.graph.metric(profile)
    compared = 0
    for a, b in zip(pts[0::2], pts[1::2]):
        sa, sb = basin_engine.snap([a, b])
        server = basin_engine.leg(sa, sb, profile)
        if server is None:
            continue
        mine = search.leg(g, Snap(sa.edge, sa.fraction, 0, 0, 0), Snap(sb.edge, sb.fraction, 0, 0, 0),
                          g.cost(profile), metric)
        assert mine.cost_ms == server.cost_ms, (a, b)
        arcs = [p.arc for p in mine.pieces]
        ends = [(g.edge_u[x >> 1], g.edge_v[x >> 1])[::-1 if x & 1 else 1] for x in arcs]
        assert all(first[1] == second[0] for first, second in zip(ends, ends[1:])), (a, b)
        compared += 1
    assert compared >= 15


def maneuvers(instructions: list[dict]) -> list[tuple]:
    """What a rider is told: the maneuvers in order, their modifiers and the ways' names."""
    return [(m["type"], m["modifier"], m["name"]) for m in instructions]


@pytest.mark.parametrize("profile", ["bike", "road_bike", "mtb", "walk", "trail"])
def test_offline_round_trip_is_a_loop_of_the_asked_length(offline, catalogue, profile):
    start = (catalogue.get("louvre-lens")["lon"], catalogue.get("louvre-lens")["lat"])
    loop = offline.round_trip(start, 15_000, profile, seed=3)
    assert abs(loop.distance_m / 15_000 - 1) <= 0.10
    first, last = loop.coordinates[0], loop.coordinates[-1]
    assert abs(first[0] - last[0]) < 1e-6 and abs(first[1] - last[1]) < 1e-6
    assert loop.cost_ms > 0 and loop.duration_s > 0


def test_offline_errors_name_the_input(offline):
    with pytest.raises(OutOfArea, match=r"points\[1\]"):
        offline.route([(2.8, 50.43), (5.0, 45.0)], "bike")
    with pytest.raises(UnknownProfile, match="unicycle"):
        offline.route([(2.8, 50.43), (2.81, 50.44)], "unicycle")


def test_tampered_or_partial_bundle_is_refused(basin_bundle, tmp_path):
    """The download is checked when it is installed (the installed form is named by the checked sha256)."""
    copy = tmp_path / "bundle"
    shutil.copytree(basin_bundle.directory, copy, ignore=shutil.ignore_patterns(".graph.*"))
    graph = next(f for f in basin_bundle.manifest["files"] if f["role"] == "graph")
    path = copy / graph["name"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256 .* differs"):
        OfflineClient(copy)
    path.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(BundleError, match="partial"):
        OfflineClient(copy)
    path.unlink()
    with pytest.raises(BundleError, match="missing"):
        OfflineClient(copy)


def test_graph_reader_refuses_other_files():
    with pytest.raises(BundleError, match="magic"):
        decode_sections(b"PK\x03\x04 not a graph")


def test_offline_command_routes_from_the_bundle(basin_bundle, catalogue, tmp_path):
    a, b = catalogue.get("louvre-lens"), catalogue.get("great-site-base-11-19")
    out = tmp_path / "route.gpx"
    proc = subprocess.run([sys.executable, "-m", "routing.cli", "offline", "route", f"{a['lon']},{a['lat']}",
                           f"{b['lon']},{b['lat']}", "--bundle", str(basin_bundle.directory), "--gpx", str(out)],
                          capture_output=True, text=True, check=True)
    summary = json.loads(proc.stdout)
    assert 2000 < summary["distance_m"] < 4000 and summary["profile"] == "bike"
    assert abs(gpx_length(out.read_text()) / summary["distance_m"] - 1) < 0.005
    texts = [m["text"] for m in summary["instructions"]]
    assert texts[0].startswith("Partez") and texts[-1].startswith("Vous")  # the presentation layer's French
    assert not re.search(r"\b(Turn|Continue|Head|You have)\b", " ".join(texts))
    wpts = gpxpy.parse(out.read_text()).waypoints
    assert [w.type for w in wpts[:2]] == ["start", "finish"] and len(wpts) == 2 + len(summary["pois"])
    assert "great-site-base-11-19" in {p["id"] for p in summary["pois"]}


def test_a_bundle_of_another_format_asks_for_an_update(basin_bundle, tmp_path):
    """A bundle written for an older (or newer) reader: a clear message, not a crash in the middle of a route."""
    copy = tmp_path / "bundle"
    shutil.copytree(basin_bundle.directory, copy, ignore=shutil.ignore_patterns(".graph.*"))
    manifest = json.loads((copy / "manifest.json").read_text())
    graph = next(f for f in manifest["files"] if f["role"] == "graph")
    raw = bytearray(gzip.decompress((copy / graph["name"]).read_bytes()))
    raw[4:8] = (1).to_bytes(4, "little")  # the graph format of bundle format 2
    data = gzip.compress(bytes(raw), compresslevel=1, mtime=0)
    (copy / graph["name"]).write_bytes(data)
    graph.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="graph file format 1 is not supported.*update the app"):
        OfflineClient(copy)
    manifest["format_version"] = 2
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="bundle format 2 .* download the bundle again"):
        OfflineClient(copy)


def test_bundle_command_reports_each_region(cfg, lens_bundle):
    """``galibot bundle`` comes from gpx_exports through the galibot.commands entry point; inputs unchanged, so
    the Lens-Liévin bundle built by the fixture is found, not rebuilt."""
    env = {**os.environ, "GALIBOT_BASEMAP_BBOX": ",".join(map(str, cfg.basemap_bbox))}
    proc = subprocess.run([sys.executable, "-m", "routing.cli", "bundle", "--region", "lens-lievin", "--quiet",
                           "--cache-dir", str(cfg.cache_dir), "--data-dir", str(cfg.data_dir)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = next(line for line in proc.stdout.splitlines() if line.startswith("lens-lievin"))
    assert lens_bundle.manifest["bundle_version"] in row and "cached" in row
    bad = subprocess.run([sys.executable, "-m", "routing.cli", "bundle", "--region", "atlantis"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "atlantis" in bad.stderr


def test_offline_client_needs_neither_numpy_nor_flask_nor_redis(basin_bundle, catalogue):
    """The reference client is what a phone ports: the ``galibot offline`` command loads and routes with the
    standard library (and gpxpy), and words its instructions with the presentation layer (babel and the message
    files, and the theme labels of ``poi_data.labels``), without the build stack (numpy, shapely…) or the catalogue,
    the exports and the server of the layers above."""
    a, b = catalogue.get("louvre-lens"), catalogue.get("great-site-chm-lewarde")
    argv = ["offline", "route", f"{a['lon']},{a['lat']}", f"{b['lon']},{b['lat']}", "--bundle",
            str(basin_bundle.directory)]
    code = ("import sys\nfrom routing.cli import main\n"
            f"status = main({argv!r})\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'scipy', 'shapely', 'flask', 'redis', "
            "'networkx', 'osmnx', 'routingkit_cch', 'matplotlib', 'pyproj', 'gpx_exports', 'api'})\n"
            "heavy += sorted({'poi_data.' + m for m in ('build', 'catalogue', 'circuits')} & set(sys.modules))\n"
            "print(status, heavy, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 20_000 < json.loads(proc.stdout)["distance_m"] < 60_000
    assert proc.stderr.strip().splitlines()[-1] == "0 []"


def test_a_rebuild_replaces_the_files_of_the_old_manifest(cfg, lens_bundle, basin_graph, basin_engine, catalogue,
                                                           circuits, tmp_path):
    """Forced rebuilds write new GPX files (a new creation time); the old ones leave with the old manifest."""
    from dataclasses import replace

    from gpx_exports.bundles import build_bundle, region_graph
    from poi_data.build import catalogue_version
    from routing.progress import Reporter

    own = replace(cfg, cache_dir=tmp_path)
    graph = region_graph(cfg, "lens-lievin", basin_graph, Reporter(quiet=True))
    args = (own, "lens-lievin", graph, catalogue, circuits, circuits_version(basin_engine),
            catalogue_version(basin_graph))
    first = build_bundle(*args)
    (first.directory / ".graph.x.bin.gz.tmp").write_bytes(b"a write in progress")
    (first.directory / "circuit-gone.0123456789abcdef.gpx").write_bytes(b"<gpx/>")  # of an older manifest
    second = build_bundle(*args, force=True)
    names = {p.name for p in second.directory.iterdir()}
    assert names == {f["name"] for f in second.manifest["files"]} | {"manifest.json", ".graph.x.bin.gz.tmp"}
    assert second.manifest["bundle_version"] == first.manifest["bundle_version"]
