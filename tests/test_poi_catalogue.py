"""The POI catalogue of the whole basin: contents, ids, snapping and queries."""

from __future__ import annotations

import json

import numpy as np
import pytest

from poi_data import BadBBox, RadiusTooLarge, UnknownPOI, UnknownTheme, normalise
from poi_data.build import Report, pit_shaft_records, write_json
from routing.settings import DATA_BBOX


def test_counts_per_theme(catalogue):
    counts = catalogue.counts()
    assert counts["great_mining_sites"] == 5
    assert counts["terrils"] == 161  # 162 MBM polygons: T140 is in both the UNESCO and the buffer-zone layer
    assert counts["pit_shafts"] >= 600
    assert counts["cites_minieres"] >= 100
    assert counts["unesco_elements"] == 109
    for theme in ("museums", "belfries", "memory", "parks", "viewpoints", "stations", "bike_services",
                  "water_toilets", "food", "lodging"):
        assert counts[theme] > 0, theme


def test_terrils_have_numbers_zones_and_summits(catalogue):
    terrils = catalogue.by_theme("terrils")
    numbers = [t["properties"]["number"] for t in terrils]
    assert len(set(numbers)) == len(numbers) == 161 and all(n.startswith("T") for n in numbers)
    zones = [t["properties"]["zone"] for t in terrils]
    assert zones.count("unesco") == 51 and zones.count("buffer") == 110
    assert catalogue.get("terril-t140")["properties"]["also_in"].startswith("bassin-minier-unesco/zt-terrils")
    t074 = catalogue.get("terril-t074")
    assert 180 <= t074["properties"]["summit_m"] <= 190
    assert t074["properties"]["summit_source"] == "osm_peak"
    assert any(t["properties"]["summit_source"] == "dem_max" for t in terrils)
    assert all(t["commune"] for t in terrils)


def test_the_three_belfries(catalogue):
    communes = {b["commune"] for b in catalogue.by_theme("belfries")}
    assert {"Béthune", "Douai", "Arras"} <= communes
    assert len(catalogue.by_theme("belfries")) == len(communes), "one belfry per commune"


def test_memorials_are_key_places_with_cited_descriptions(catalogue):
    for poi_id in ("memorial-vimy", "memorial-lorette", "memorial-anneau-de-la-memoire", "louvre-lens",
                   "great-site-arenberg", "terril-t074"):
        poi = catalogue.get(poi_id)
        assert poi["key"] and poi["description"]["fr"] and poi["description"]["en"]
        assert all(":" in s for s in poi["description"]["sources"])
    assert "11 285" in catalogue.get("memorial-vimy")["description"]["fr"]


def test_every_poi_is_inside_the_data_area(catalogue):
    w, s, e, n = DATA_BBOX
    assert ((catalogue.lon >= w) & (catalogue.lon <= e) & (catalogue.lat >= s) & (catalogue.lat <= n)).all()


def test_key_places_snap_within_300_m(catalogue):
    key = [p for p in catalogue.pois if p["key"]]
    assert len(key) >= 12
    assert max(p["snap"]["distance_m"] for p in key) <= 300
    snapped = np.array([p["snap"]["distance_m"] for p in catalogue.pois])
    assert np.median(snapped) < 60


def test_ids_are_stable_across_rebuilds(cfg, catalogue, tmp_path):
    again = pit_shaft_records(cfg.mbm_dir, Report())
    ids = {p["id"] for p in catalogue.by_theme("pit_shafts")}
    assert {r["id"] for r in again} >= ids
    assert any(i.startswith("puits-bss") for i in ids), "pit-shaft ids come from the BRGM code"
    assert len(ids) == len(catalogue.by_theme("pit_shafts"))


@pytest.mark.parametrize("query, expected", [
    ("louvre", "louvre-lens"),
    ("LOUVRE-lens", "louvre-lens"),
    ("arenberg", "great-site-arenberg"),
    ("lewarde", "great-site-chm-lewarde"),
    ("11/19", "great-site-base-11-19"),
    ("T074", "terril-t074"),
    ("cite des electriciens", "great-site-cite-des-electriciens"),
])
def test_text_search_finds_the_right_place_first(catalogue, query, expected):
    assert catalogue.search(query)[0]["id"] == expected


def test_nearest_and_bbox_queries(catalogue):
    louvre = catalogue.get("louvre-lens")
    near = catalogue.nearest(louvre["lon"], louvre["lat"], radius_m=300, limit=5)
    assert near[0][0]["id"] == "louvre-lens" and near[0][1] < 1
    assert [d for _, d in near] == sorted(d for _, d in near) and all(d <= 300 for _, d in near)
    box = catalogue.in_bbox((2.80, 50.42, 2.81, 50.44))
    assert "louvre-lens" in {p["id"] for p in box}
    assert all(2.80 <= p["lon"] <= 2.81 and 50.42 <= p["lat"] <= 50.44 for p in box)


def test_pois_along_a_route_past_the_11_19(catalogue, lens_engine, lens_places):
    """From the Louvre-Lens past the 11/19 to the top of its western twin terril, 74A."""
    t074a = catalogue.get("terril-t074a")
    r = lens_engine.route([lens_places["louvre_lens"], (t074a["lon"], t074a["lat"])], "walk")[0]
    hits = catalogue.along(r.coordinates, corridor_m=200)
    ids = [h.poi["id"] for h in hits]
    assert "great-site-base-11-19" in ids and "terril-t074" in ids
    assert [h.along_m for h in hits] == sorted(h.along_m for h in hits)
    assert all(h.distance_m <= 200 for h in hits)
    assert ids.index("louvre-lens") < ids.index("great-site-base-11-19") < ids.index("terril-t074a")
    narrow = {h.poi["id"] for h in catalogue.along(r.coordinates, corridor_m=20)}
    assert narrow < set(ids), "a narrower corridor finds fewer places"


@pytest.mark.parametrize("call, error, field", [
    (lambda c: c.by_theme("castles"), UnknownTheme, "theme"),
    (lambda c: c.in_bbox("2.8,50.4,2.7"), BadBBox, "bbox"),
    (lambda c: c.in_bbox((2.9, 50.4, 2.8, 50.5)), BadBBox, "bbox"),
    (lambda c: c.nearest(2.8, 50.4, radius_m=500_000), RadiusTooLarge, "radius_m"),
    (lambda c: c.get("nope"), UnknownPOI, "id"),
])
def test_bad_queries_raise_typed_errors(catalogue, call, error, field):
    with pytest.raises(error) as info:
        call(catalogue)
    assert info.value.field == field


def test_malformed_records_are_skipped_and_counted(cfg, tmp_path):
    layer = json.loads((cfg.mbm_dir / "puits-de-mines.geojson").read_text(encoding="utf-8"))
    layer["features"][0]["geometry"] = {"type": "LineString", "coordinates": [[2.5, 50.4], [2.6, 50.4]]}
    mbm_dir = tmp_path / "mbm"
    mbm_dir.mkdir()
    write_json(mbm_dir / "puits-de-mines.geojson", layer)
    report = Report()
    records = pit_shaft_records(mbm_dir, report)
    assert len(records) == len(layer["features"]) - 1
    assert report.skipped["pit_shafts"] == 1 and report.reasons


def test_normalise_folds_accents_case_and_punctuation():
    assert normalise("Cité des Électriciens") == "cite des electriciens"
    assert normalise("Fosse 11/19") == normalise("fosse 11-19") == "fosse 11 19"


def test_route_results_list_the_places_along_them(catalogue, lens_engine, lens_places):
    from poi_data import attach_pois

    r = lens_engine.route([lens_places["louvre_lens"], lens_places["base_11_19"]], "bike")[0]
    attach_pois(r, catalogue, corridor_m=150)
    ids = [p["id"] for p in r.pois]
    assert ids[0] == "louvre-lens" and "great-site-base-11-19" in ids
    assert all(p["distance_m"] <= 150 for p in r.pois)
    assert [p["along_m"] for p in r.pois] == sorted(p["along_m"] for p in r.pois)
    assert "description" not in r.pois[0]  # words are the presentation layer's, from the catalogue
    assert catalogue.find(ids[0])["description"]["fr"].startswith("Musée ouvert le 4 décembre 2012")
