"""What the web planner page needs from the server, without a browser: the page and its packages, the network
overlays, the POI themes and CORS for browser clients on other origins."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from api import create_app
from gpx_exports.network import NETWORK_KINDS, network_mask
from poi_data import THEMES
from tests.conftest import assert_problem

#: The overlays' worst case (README, "Limits and worst cases"): the cavaliers, the largest, made on first use.
OVERLAY_MAX_BYTES = 200_000
OVERLAY_MAX_CPU_S = 1.5
OVERLAY_MAX_PEAK = 64 * 2**20


def test_the_page_and_its_map_library_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'src="web/planner.js"' in html and "maplibre-gl.css" in html
    for script in ("/web/planner.js", "/web/words.js", "/web/vendor/maplibre-gl/maplibre-gl.mjs",
                   "/web/vendor/maplibre-gl/maplibre-gl-worker.mjs"):
        resp = client.get(script)
        assert resp.status_code == 200 and resp.mimetype == "text/javascript", script  # modules need this type
    assert "export{" in client.get("/web/vendor/maplibre-gl/maplibre-gl.mjs").get_data(as_text=True)[-3000:]


def test_what_is_not_a_page_file_is_a_problem(client, cfg, basin_graph, tmp_path):
    assert client.get("/web/../api/__init__.py").status_code == 404
    assert_problem(client.get("/web/vendor/leaflet/leaflet.js"), 404, "package")
    app = create_app({"GALIBOT_SETTINGS": cfg, "GALIBOT_GRAPH": basin_graph, "GALIBOT_NODE_MODULES": str(tmp_path)})
    body = assert_problem(app.test_client().get("/web/vendor/maplibre-gl/maplibre-gl.mjs"), 503, "package")
    assert "make install" in body["detail"]


def test_the_overlays_are_the_graphs_flagged_ways(client, basin_graph):
    for kind in NETWORK_KINDS:
        resp = client.get(f"/v1/network/{kind}.geojson")
        assert resp.status_code == 200 and resp.mimetype == "application/geo+json"
        feature = resp.get_json()["features"][0]
        km = basin_graph.edge_length[network_mask(basin_graph, kind)].sum() / 1000
        assert feature["properties"]["km"] == pytest.approx(km, abs=0.05) and km > 100
        lines = feature["geometry"]["coordinates"]
        assert feature["geometry"]["type"] == "MultiLineString" and len(lines) > 10
        lons = [p[0] for line in lines for p in line]
        assert 2.3 <= min(lons) and max(lons) <= 3.7
        again = client.get(f"/v1/network/{kind}.geojson", headers={"If-None-Match": resp.headers["ETag"]})
        assert again.status_code == 304
    cavaliers = client.get("/v1/network/cavaliers.geojson").get_json()
    assert "OpenStreetMap" in cavaliers["attribution"]


def test_an_unknown_overlay_is_a_404_naming_it(client):
    body = assert_problem(client.get("/v1/network/motorways.geojson"), 404, "kind")
    assert "cavaliers" in body["detail"]


def test_the_largest_overlay_made_from_scratch_stays_within_its_bound(client):
    """The endpoint's worst case: the cavaliers overlay, made on the worker's first request for it."""
    client.application.extensions.get("galibot.network", {}).clear()
    tracemalloc.start()
    cpu = time.thread_time()
    resp = client.get("/v1/network/cavaliers.geojson")
    spent = time.thread_time() - cpu
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert resp.status_code == 200 and len(resp.data) < OVERLAY_MAX_BYTES
    assert spent < OVERLAY_MAX_CPU_S, f"{spent:.2f} CPU-s"
    assert peak < OVERLAY_MAX_PEAK, f"{peak / 2**20:.1f} MB"


def test_the_themes_have_labels_in_every_language_and_their_counts(client):
    themes = client.get("/v1/pois/themes").get_json()["themes"]
    assert [t["id"] for t in themes] == list(THEMES)
    by_id = {t["id"]: t for t in themes}
    assert by_id["great_mining_sites"]["count"] == 5 and by_id["terrils"]["labels"]["fr"] == "Terrils"
    assert all(set(t["labels"]) == {"fr", "en", "nl", "de"} for t in themes)
    listed = client.get("/v1/pois?theme=terrils&limit=1").get_json()["total"]
    assert by_id["terrils"]["count"] == listed


@pytest.fixture(scope="module")
def cors_app(cfg, lens_graph):
    return create_app({"GALIBOT_SETTINGS": cfg, "GALIBOT_GRAPH": lens_graph, "GALIBOT_AREA": "lens",
                       "GALIBOT_CORS_ORIGINS": "https://race.example, https://tourisme.example/"})


def test_configured_origins_may_call_the_api_from_a_browser(cors_app):
    c = cors_app.test_client()
    preflight = c.options("/v1/routes", headers={"Origin": "https://race.example", "Access-Control-Request-Method":
                                                 "POST", "Access-Control-Request-Headers": "Content-Type"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://race.example"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()
    got = c.get("/v1/pois/themes", headers={"Origin": "https://tourisme.example"})
    assert got.headers["Access-Control-Allow-Origin"] == "https://tourisme.example"
    assert "ETag" in got.headers["Access-Control-Expose-Headers"]
    other = c.get("/v1/pois/themes", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_without_configured_origins_there_are_no_cors_headers(client):
    got = client.get("/v1/pois/themes", headers={"Origin": "https://race.example"})
    assert got.status_code == 200 and "Access-Control-Allow-Origin" not in got.headers
