"""The basemap pyramid (PMTiles, zooms 14 down to 8) and its style, on the tests' box over central Lens.

The tests' box is 12 source tiles; the whole basin's pyramid is built by ``galibot bundle`` and measured by
``python -m bench.run basemap``. Nothing here needs the routing graph: the fast tier.
"""

from __future__ import annotations

import gzip
import math
import shutil

import mapbox_vector_tile as mvt
import pytest

from gpx_exports import tileset
from gpx_exports.mapstyle import style
from routing.sources.tiles import tiles_for_bbox

LENS = (2.8316, 50.4289)  # the centre of Lens, inside the tests' box
OPENMAPTILES_LAYERS = {"transportation", "transportation_name", "water", "waterway", "water_name", "landuse",
                       "landcover", "park", "building", "place", "poi", "mountain_peak", "boundary", "housenumber",
                       "aeroway", "aerodrome_label"}


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    r = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)


@pytest.fixture(scope="module")
def pyramid(cfg):
    info = tileset.build_pyramid(cfg)
    archive = tileset.open_basemap(info.path)
    yield archive
    archive.close()


def decoded(archive, z: int, lon: float = LENS[0], lat: float = LENS[1]) -> dict:
    data = archive.tile(z, *tile_of(lon, lat, z))
    assert data is not None, f"no tile at zoom {z} over Lens"
    return mvt.decode(gzip.decompress(data))


def test_every_zoom_from_8_to_14_has_a_tile_over_lens(pyramid, cfg):
    info = pyramid.info
    assert (info.min_zoom, info.max_zoom) == (8, 14)
    assert set(info.tiles_per_zoom) == set(range(8, 15))
    assert info.tiles_per_zoom[14] == len(tiles_for_bbox(cfg.tiles_dir, cfg.basemap_bbox))
    assert all(info.tiles_per_zoom[z] <= info.tiles_per_zoom[z + 1] for z in range(8, 14))
    for z in range(8, 15):
        layers = decoded(pyramid, z)
        assert set(layers) <= OPENMAPTILES_LAYERS and "transportation" in layers


def test_zoom_14_is_the_source_tile_as_it_is(pyramid, cfg):
    x, y = tile_of(*LENS, 14)
    source = (cfg.tiles_dir / "14" / str(x) / f"{y}.pbf").read_bytes()
    assert gzip.decompress(pyramid.tile(14, x, y)) == source


def test_lower_zooms_keep_what_shows_at_them(pyramid):
    """Buildings and POIs only at 14; at 8 only the roads of classes that show there; fewer features going up."""
    z14, z12, z8 = decoded(pyramid, 14), decoded(pyramid, 12), decoded(pyramid, 8)
    assert "building" in z14 and "building" not in z12 and "poi" not in z12
    classes_z8 = {f["properties"].get("class") for f in z8["transportation"]["features"]}
    assert classes_z8 and classes_z8 <= {"motorway", "trunk"}
    classes_z12 = {f["properties"].get("class") for f in z12["transportation"]["features"]}
    assert "path" in classes_z12  # the greenways and cavaliers show from 12
    assert len(z12["transportation"]["features"]) < len(z14["transportation"]["features"])


def test_a_made_tile_fits_the_features_of_its_children(pyramid):
    """The motorway A21 crosses the box: at zoom 11 its line runs where it runs at zoom 14 (one parent unit is
    eight child units, so within a few units of the grid after simplification)."""
    z = 11
    tile = decoded(pyramid, z)
    motorway = [f for f in tile["transportation"]["features"] if f["properties"].get("class") == "motorway"]
    assert motorway, "the A21 at zoom 11"
    for f in motorway:
        coords = f["geometry"]["coordinates"]
        flat = [c for part in (coords if f["geometry"]["type"] == "MultiLineString" else [coords]) for c in part]
        assert all(-64 <= x <= 4096 + 64 and -64 <= y <= 4096 + 64 for x, y in flat)


def test_outside_the_area_there_is_no_tile(pyramid):
    assert pyramid.tile(14, *tile_of(1.0, 49.0, 14)) is None
    assert pyramid.tile(9, *tile_of(1.0, 49.0, 9)) is None


def test_the_same_sources_make_the_same_archive(pyramid, cfg, tmp_path):
    tiles = [(z, x, y, pyramid.tile(z, x, y)) for z, x, y in sorted(pyramid.sizes())]
    again = tileset.archive_bytes(sorted(tiles, key=lambda t: tileset.zxy_to_tileid(*t[:3])), cfg.basemap_bbox,
                                  name="galibot basemap")
    assert again == tileset.region_archive(pyramid, cfg.basemap_bbox)


def test_a_truncated_or_foreign_archive_is_refused(pyramid, tmp_path):
    cut = tmp_path / "cut.pmtiles"
    data = pyramid.info.path.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(tileset.BasemapError, match="truncated"):
        tileset.open_basemap(cut)
    foreign = tmp_path / "foreign.pmtiles"
    foreign.write_bytes(b"PK\x03\x04" + bytes(200))
    with pytest.raises(tileset.BasemapError, match="not a readable PMTiles"):
        tileset.open_basemap(foreign)
    with pytest.raises(tileset.BasemapError, match="cannot be opened"):
        tileset.open_basemap(tmp_path / "missing.pmtiles")


def test_the_style_draws_only_layers_the_tiles_have_and_needs_no_glyphs(pyramid):
    doc = style({"url": "pmtiles://basemap.pmtiles"})
    assert doc["version"] == 8 and "glyphs" not in doc and "sprite" not in doc
    names = {layer["id"] for layer in pyramid.metadata["vector_layers"]}
    for layer in doc["layers"][1:]:
        assert layer["source"] == "basemap" and layer["source-layer"] in names
        assert layer["type"] in ("fill", "line", "circle") and "text-field" not in layer.get("layout", {})
    assert "OpenStreetMap" in doc["sources"]["basemap"]["attribution"]
    source = doc["sources"]["basemap"]
    assert (source["minzoom"], source["maxzoom"]) == (8, 14)


def test_an_archive_copied_elsewhere_reads_the_same(pyramid, tmp_path):
    copy = tmp_path / "copy.pmtiles"
    shutil.copy(pyramid.info.path, copy)
    other = tileset.open_basemap(copy)
    try:
        assert other.info.tiles_per_zoom == pyramid.info.tiles_per_zoom
        x, y = tile_of(*LENS, 13)
        assert other.tile(13, x, y) == pyramid.tile(13, x, y)
    finally:
        other.close()
