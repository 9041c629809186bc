"""Shared fixtures: real data, a small real area compiled once, and a throwaway Redis."""

from __future__ import annotations

import pytest

from api.redis_server import EmbeddedRedis
from routing import settings
from routing.build import BuildRequest, load_or_build
from routing.settings import Settings

#: Places the API tests route between, as routing.landmarks reads them from the tiles
#: (test_landmark_coordinates_come_from_the_data checks them); Lewarde is the Centre Historique Minier's commune.
LOUVRE, BASE_11_19 = [2.8043729, 50.4306149], [2.7897549, 50.4440597]
LEWARDE = [3.1691, 50.3369]


def assert_problem(resp, status: int, field: str | None = None) -> dict:
    """Check a problem+json answer (a Flask test response or a ``requests`` one): status, media type, a title and
    a detail, the field it names, and no traceback; return its body."""
    text = resp.get_data(as_text=True) if hasattr(resp, "get_data") else resp.text
    assert resp.status_code == status, text[:500]
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    body = resp.get_json() if hasattr(resp, "get_json") else resp.json()
    assert body["status"] == status and body["title"] and body.get("detail")
    if field is not None:
        assert body["field"] == field, body
    assert "Traceback" not in text
    return body


#: Lens, Liévin, Loos-en-Gohelle: the Louvre-Lens, the 11/19 and its terrils; 42 real tiles.
LENS = settings.NAMED_BBOXES["lens"]
#: A smaller box on the 11/19 for the tests that build graph variants.
BOX_11_19 = (2.77, 50.43, 2.80, 50.45)


#: Fixtures of the whole basin: a test that uses one is in the slow tier (``pytest -m "not slow"`` leaves it out).
BASIN_FIXTURES = frozenset({"basin_graph", "basin_engine", "catalogue", "circuits", "elevation", "client"})


def pytest_collection_modifyitems(config, items) -> None:
    """Mark ``slow`` every test that needs the whole basin: the fast tier is the units and the Lens area."""
    for item in items:
        if BASIN_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


#: The tests' basemap: central Lens, the Louvre-Lens and the 11/19 (12 source tiles, built in seconds); the whole
#: basin's pyramid is built by ``galibot bundle`` and measured by ``python -m bench.run basemap``.
BASEMAP_BOX = (2.78, 50.41, 2.86, 50.45)


@pytest.fixture(scope="session")
def cfg(tmp_path_factory) -> Settings:
    """The real data directory; compiled test graphs are cached under var/test between runs, exports are not."""
    base = Settings.from_env()
    if not base.data_dir.is_dir():
        pytest.fail(f"data directory not found: {base.data_dir} (set GALIBOT_DATA_DIR)")
    return Settings(data_dir=base.data_dir, cache_dir=base.cache_dir / "test", workers=base.workers,
                    export_dir=tmp_path_factory.mktemp("exports"), basemap_bbox=BASEMAP_BOX)


@pytest.fixture(scope="session")
def lens_graph(cfg):
    """The compiled graph of the Lens area (built once, then loaded from the cache)."""
    graph, _, _ = load_or_build(cfg, BuildRequest(bbox=LENS))
    return graph


@pytest.fixture(scope="session")
def lens_nx(lens_graph):
    return lens_graph.to_networkx()


@pytest.fixture()
def redis_server(tmp_path):
    """A real redis-server on a free loopback port, stopped after the test."""
    with EmbeddedRedis(tmp_path / "redis") as server:
        yield server


@pytest.fixture(scope="session")
def lens_engine(cfg, lens_graph):
    """The search engine on the Lens graph (its CCH order is cached beside the graph)."""
    from routing.engine import Engine

    return Engine(lens_graph, cfg.cache_dir)


@pytest.fixture(scope="session")
def lens_places(cfg, lens_graph):
    """Louvre-Lens, the Base 11/19 and the summit of terril 74, located from the data."""
    from routing import landmarks

    return landmarks.locate(cfg, lens_graph, ("louvre_lens", "base_11_19", "t074_summit"))


@pytest.fixture(scope="session")
def basin_graph(cfg):
    """The whole basin's graph (cached in var/test: about 35 s the first time, then under a second)."""
    graph, _, _ = load_or_build(cfg, BuildRequest())
    return graph


@pytest.fixture(scope="session")
def catalogue(cfg, basin_graph):
    """The POI catalogue of the whole basin, snapped to the whole-basin graph.

    The catalogue's counts and snapping are claims about the whole data, so it is built on it.
    """
    from poi_data import load_catalogue

    return load_catalogue(cfg, basin_graph)


@pytest.fixture(scope="session")
def basin_engine(cfg, basin_graph):
    """The search engine on the whole basin (CCH order cached in var/test)."""
    from routing.engine import Engine

    return Engine(basin_graph, cfg.cache_dir)


@pytest.fixture(scope="session")
def circuits(cfg, basin_engine, catalogue):
    """The named circuits routed on the whole basin (cached in var/test after the first run)."""
    from poi_data.circuits import load_or_build_circuits

    return load_or_build_circuits(cfg, basin_engine, catalogue, progress=None)


@pytest.fixture(scope="session")
def elevation(cfg, basin_graph):
    """The build's elevation model (SRTM3 with the graph's terril corrections)."""
    from routing.elevation import load_elevation

    return load_elevation(cfg, basin_graph)


@pytest.fixture(scope="session")
def client(cfg, basin_graph, catalogue, circuits, tmp_path_factory):
    """A test client of the whole-basin API, circuits loaded, on its own real Redis."""
    from api import create_app

    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as server:
        app = create_app({"REDIS_URL": server.url, "GALIBOT_SETTINGS": cfg, "GALIBOT_GRAPH": basin_graph})
        state = app.extensions["galibot.graph"]
        assert state.wait(300) and state.circuits is not None, state.error or state.circuits_error
        yield app.test_client()
