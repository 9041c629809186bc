"""``galibot build``: figures on success, one clear line and no cache file on every bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from routing.sources.tiles import tiles_for_bbox
from tests.conftest import BOX_11_19

BOX = ",".join(str(v) for v in BOX_11_19)


def galibot(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "routing.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit 2, exactly one error line (after any progress lines), and no traceback."""
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("galibot: error: ")]
    assert len(errors) == 1 and proc.stderr.rstrip().endswith(errors[0]), proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in errors[0]


@pytest.mark.slow  # a galibot subprocess or a larger build: seconds each
def test_build_then_warm_load_prints_the_figures(cfg, tmp_path):
    cold = galibot("build", "--bbox", BOX, "--cache-dir", str(tmp_path))
    assert cold.returncode == 0, cold.stderr
    for label in ("nodes", "edges", "km total", "cavaliers", "EuroVelo 5", "data ", "time", "peak memory"):
        assert label in cold.stdout
    assert "built" in cold.stdout and "decoding tiles" in cold.stderr, "progress is shown while it runs"
    warm = galibot("build", "--bbox", BOX, "--cache-dir", str(tmp_path), "--quiet")
    assert "loaded from cache" in warm.stdout and warm.stderr == ""
    assert len(list(tmp_path.glob("graph-*.npz"))) == 1
    version = next(line for line in cold.stdout.splitlines() if line.startswith("data"))
    assert version == next(line for line in warm.stdout.splitlines() if line.startswith("data"))


@pytest.mark.slow  # a galibot subprocess or a larger build: seconds each
def test_missing_data_directory(tmp_path):
    proc = galibot("build", "--bbox", BOX, "--data-dir", str(tmp_path / "nowhere"), "--cache-dir", str(tmp_path))
    assert_one_line_error(proc, "data directory not found", "nowhere")
    assert not list(tmp_path.glob("graph-*"))


def fake_data_dir(real: Path, root: Path) -> Path:
    """A data directory whose files link to the real ones, so one can be broken in a test."""
    root.mkdir(parents=True)
    for sub in ("srtm3", "bassin-minier-unesco", "ev5-waymarkedtrails"):
        (root / sub).symlink_to(real / sub)
    tiles = real / "osm-npdc-tilemaker-2021" / "tiles" / "14"
    for tile in tiles.glob("*/*.pbf"):
        dest = root / "osm-npdc-tilemaker-2021" / "tiles" / "14" / tile.parent.name / tile.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.symlink_to(tile)
    return root


@pytest.mark.slow  # a galibot subprocess or a larger build: seconds each
def test_corrupt_tile_is_named_and_nothing_is_cached(cfg, tmp_path):
    data = fake_data_dir(cfg.data_dir, tmp_path / "data")
    first = tiles_for_bbox(cfg.tiles_dir, BOX_11_19)[0]
    victim = data / "osm-npdc-tilemaker-2021" / "tiles" / "14" / first.parent.name / first.name
    victim.unlink()
    victim.write_bytes(b"\x1a\x05garbage-not-a-vector-tile")
    cache = tmp_path / "cache"
    proc = galibot("build", "--bbox", BOX, "--data-dir", str(data), "--cache-dir", str(cache))
    assert_one_line_error(proc, "tile does not decode", f"{first.parent.name}/{first.name}")
    assert not cache.exists() or not any(cache.iterdir())


@pytest.mark.slow  # a galibot subprocess or a larger build: seconds each
def test_missing_mbm_layer_is_named(cfg, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for sub in ("srtm3", "ev5-waymarkedtrails", "osm-npdc-tilemaker-2021"):
        (data / sub).symlink_to(cfg.data_dir / sub)
    (data / "bassin-minier-unesco").mkdir()
    proc = galibot("build", "--bbox", BOX, "--data-dir", str(data), "--cache-dir", str(tmp_path / "c"))
    assert_one_line_error(proc, "terrils.geojson")


@pytest.mark.slow  # a galibot subprocess each: seconds
@pytest.mark.parametrize("bbox, message", [
    ("5,45,5.1,45.1", "outside the data area"),
    ("2.8,50.4,2.7,50.5", "is empty"),
    ("2.8,50.4", "--bbox must be"),
    ("lille", "--bbox must be"),
])
def test_bad_bbox(tmp_path, bbox, message):
    assert_one_line_error(galibot("build", "--bbox", bbox, "--cache-dir", str(tmp_path)), message)


@pytest.mark.slow  # a galibot subprocess or a larger build: seconds each
def test_bbox_with_no_way_is_an_empty_graph(tmp_path):
    """A 10 m square in a field near Loos-en-Gohelle holds no way at all."""
    proc = galibot("build", "--bbox", "2.76,50.41,2.7601,50.4101", "--cache-dir", str(tmp_path))
    assert_one_line_error(proc, "no routable way")
    assert not list(tmp_path.glob("graph-*"))
