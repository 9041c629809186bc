"""``/v1/tiles``: the basemap's vector tiles with ETags, its TileJSON and its style, and their refusals."""

from __future__ import annotations

import gzip

import mapbox_vector_tile as mvt
import pytest

import api.tiles
from gpx_exports import tileset
from tests.test_basemap import LENS, tile_of


@pytest.fixture(scope="module")
def served(client, cfg):
    """The pyramid the API serves (the tests' box), built if this run has not built it yet."""
    return tileset.build_pyramid(cfg)


def test_a_tile_comes_gzip_with_a_strong_etag_and_revalidates(client, served):
    x, y = tile_of(*LENS, 14)
    resp = client.get(f"/v1/tiles/14/{x}/{y}.mvt", headers={"Accept-Encoding": "gzip"})
    assert resp.status_code == 200 and resp.mimetype == "application/vnd.mapbox-vector-tile"
    assert resp.headers["Content-Encoding"] == "gzip" and "max-age" in resp.headers["Cache-Control"]
    layers = mvt.decode(gzip.decompress(resp.data))
    assert {"transportation", "building", "water"} <= set(layers)
    again = client.get(f"/v1/tiles/14/{x}/{y}.mvt", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304 and not again.data


def test_a_client_that_takes_no_gzip_gets_the_tile_inflated(client, served):
    x, y = tile_of(*LENS, 10)
    resp = client.get(f"/v1/tiles/10/{x}/{y}.mvt", headers={"Accept-Encoding": "identity"})
    assert resp.status_code == 200 and "Content-Encoding" not in resp.headers
    assert "transportation" in mvt.decode(resp.data)


def test_outside_the_area_a_tile_is_empty(client, served):
    x, y = tile_of(1.0, 49.0, 12)
    resp = client.get(f"/v1/tiles/12/{x}/{y}.mvt")
    assert resp.status_code == 204 and not resp.data


@pytest.mark.parametrize("path, field", [("/v1/tiles/15/16640/11052.mvt", "z"), ("/v1/tiles/7/65/43.mvt", "z"),
                                         ("/v1/tiles/10/1024/345.mvt", "x"), ("/v1/tiles/10/520/-1.mvt", "y"),
                                         ("/v1/tiles/ten/520/345.mvt", "z")])
def test_past_the_zooms_or_the_world_is_a_404_naming_the_coordinate(client, served, path, field):
    resp = client.get(path)
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"
    assert resp.get_json()["field"] == field


def test_tilejson_and_style_point_at_this_server(client, served):
    tj = client.get("/v1/tiles/tiles.json").get_json()
    assert tj["tiles"] == ["http://localhost/v1/tiles/{z}/{x}/{y}.mvt"]
    assert (tj["minzoom"], tj["maxzoom"]) == (8, 14) and "OpenStreetMap" in tj["attribution"]
    resp = client.get("/v1/tiles/style.json")
    doc = resp.get_json()
    assert doc["sources"]["basemap"]["tiles"] == tj["tiles"] and "glyphs" not in doc
    assert client.get("/v1/tiles/style.json", headers={"If-None-Match": resp.headers["ETag"]}).status_code == 304


def test_no_basemap_built_is_a_503_that_says_what_to_run(client, served, monkeypatch, tmp_path):
    app = client.application
    opened = app.extensions.pop("galibot.basemap", None)
    monkeypatch.setattr(api.tiles, "pyramid_path", lambda cfg: tmp_path / "none.pmtiles")
    try:
        resp = client.get("/v1/tiles/10/520/345.mvt")
        assert resp.status_code == 503 and "galibot bundle" in resp.get_json()["detail"]
    finally:
        if opened is not None:
            app.extensions["galibot.basemap"] = opened
        else:
            app.extensions.pop("galibot.basemap", None)


def test_the_largest_tile_costs_a_lookup_and_a_copy(client, served):
    """The worst case of the endpoint: the largest stored tile, inflated for a client that takes no gzip. Its cost
    is bounded by the tile's size (README, "Limits and worst cases": 220 KB stored, 452 KB inflated for the basin)."""
    import time
    import tracemalloc

    archive = tileset.open_basemap(served.path)
    sizes = archive.sizes()
    z, x, y = max(sizes, key=sizes.get)
    inflated = len(gzip.decompress(archive.tile(z, x, y)))
    archive.close()
    tracemalloc.start()
    cpu = time.thread_time()
    resp = client.get(f"/v1/tiles/{z}/{x}/{y}.mvt", headers={"Accept-Encoding": "identity"})
    spent = time.thread_time() - cpu
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert resp.status_code == 200 and len(resp.data) == inflated
    assert spent < 0.25, f"{spent:.3f} CPU-s"
    assert peak < 4 * inflated + 2**20, f"{peak / 2**20:.1f} MB at the peak"
