"""The raw readers: SRTM tiles, vector tiles and the EV5 GPX, on the real files."""

from __future__ import annotations

import numpy as np
import pytest

from routing.errors import BBoxError, DataError
from routing.sources import ev5, tiles
from routing.sources.srtm import DEM, SAMPLES


def test_dem_hits_raw_samples_at_grid_nodes(cfg):
    """At an SRTM grid node the interpolation returns the raw sample: rows run north to south."""
    dem = DEM(cfg.srtm_dir)
    raw = np.frombuffer((cfg.srtm_dir / "N50E002.hgt").read_bytes(), dtype=">i2").reshape(SAMPLES, SAMPLES)
    for row, col in [(655, 942), (700, 800), (1000, 300)]:
        lat, lon = 51 - row / 1200, 2 + col / 1200
        assert dem(lon, lat)[0] == pytest.approx(raw[row, col], abs=1e-6)


def test_dem_interpolates_between_samples(cfg):
    dem = DEM(cfg.srtm_dir)
    lat, lon = 51 - 655 / 1200, 2 + 942 / 1200
    a, b = dem(lon, lat)[0], dem(lon + 1 / 1200, lat)[0]
    assert dem(lon + 0.5 / 1200, lat)[0] == pytest.approx((a + b) / 2)


def test_dem_artefact_is_treated_as_void(cfg):
    """SOURCE.md's -185 m pixel near 50.605N 3.48E must not survive."""
    dem = DEM(cfg.srtm_dir)
    assert not np.isnan(dem.grid).any()
    assert dem(3.48, 50.605)[0] >= -50
    assert np.nanmin(dem.grid) >= -50


def test_tile_lines_keep_attributes(cfg):
    lines = tiles.read_lines(cfg.tiles_dir, (2.77, 50.43, 2.80, 50.45))
    rows = [dict(zip(lines.attr_names, row)) for row in lines.attr_table]
    assert {r["class"] for r in rows} <= {"primary", "secondary", "tertiary", "minor", "service", "track",
                                          "path", "pedestrian"}
    assert any(r["subclass"] == "footway" and r["class"] == "path" for r in rows)
    assert any(r["class"] == "path" and r["subclass"] == "path" for r in rows), "greenways are path/path"
    assert any(r["name"] == "Avenue de la Fosse n° 11" for r in rows)
    assert all(r["oneway"] in (0, 1) for r in rows), "oneway=-1 is turned into a forward line"


def test_points_are_read_once(cfg):
    """Tile buffers repeat points of neighbouring tiles; each must come out once."""
    peaks = tiles.read_points(cfg.tiles_dir, ("mountain_peak",), (2.74, 50.40, 2.86, 50.47))
    t74 = [p for p in peaks if p.properties.get("name:latin") == "Terril 74"]
    assert len(t74) == 1 and t74[0].properties["ele"] == 188


def test_corrupt_tile_names_the_file(tmp_path):
    bad = tmp_path / "14" / "8320" / "5520.pbf"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\x1a\xff\xff\xff not a tile")
    with pytest.raises(DataError, match="5520.pbf"):
        tiles.read_tile_lines(bad, (0, 0, 1e12, 1e12))


def test_bbox_without_tiles_is_refused(cfg):
    with pytest.raises(BBoxError, match="outside the data"):
        tiles.tiles_for_bbox(cfg.tiles_dir, (5.0, 45.0, 5.1, 45.1))


def test_ev5_gpx_has_the_relation_chains(cfg):
    segments = ev5.read_gpx_segments(cfg.ev5_gpx)
    assert len(segments) == 60  # SOURCE.md: 60 segments, 7,975 points
    assert sum(len(s) for s in segments) == 7975
