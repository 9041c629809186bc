"""GPX through the API: any result as GPX, share links, race files, and the analysis of uploaded GPX."""

from __future__ import annotations

import io
import time
import tracemalloc
from pathlib import Path

import gpxpy
import pytest
from lxml import etree

from gpx_exports import settings as gpx_settings
from presentation import terril_number
from tests.conftest import LEWARDE, LOUVRE

XSD = etree.XMLSchema(etree.parse(str(Path(__file__).parent / "data" / "gpx-1.1.xsd")))
GPX11 = "http://www.topografix.com/GPX/1/1"


def valid_gpx(resp) -> gpxpy.gpx.GPX:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == "application/gpx+xml" and "attachment" in resp.headers["Content-Disposition"]
    assert XSD.validate(etree.fromstring(resp.get_data())), XSD.error_log
    return gpxpy.parse(resp.get_data(as_text=True))


def test_a_route_as_gpx_is_stored_once_and_has_an_etag(client, cfg):
    first = client.post("/v1/routes?format=gpx", json={"points": [LOUVRE, LEWARDE], "profile": "road_bike"})
    gpx = valid_gpx(first)
    assert len(gpx.tracks) == 1 and not gpx.routes and gpx.author_name == "galibot"
    stored = list(Path(cfg.export_dir).rglob("*.gpx"))
    mtimes = {p: p.stat().st_mtime_ns for p in stored}
    again = client.post("/v1/routes", json={"points": [LOUVRE, LEWARDE], "profile": "road_bike"},
                        headers={"Accept": "application/gpx+xml"})
    assert again.get_data() == first.get_data() and again.headers["X-Cache"] == "hit"
    assert {p: p.stat().st_mtime_ns for p in Path(cfg.export_dir).rglob("*.gpx")} == mtimes  # nothing rewritten
    unchanged = client.post("/v1/routes?format=gpx", json={"points": [LOUVRE, LEWARDE], "profile": "road_bike"},
                            headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304


def test_share_links_serve_json_geojson_and_gpx_with_options(client):
    body = client.post("/v1/routes", json={"points": [LOUVRE, LEWARDE], "profile": "bike"}).get_json()
    links = body["links"]
    assert client.get(links["self"]).get_json() == body
    gpx = valid_gpx(client.get(links["gpx"] + "?rte=true&km_markers=5&timestamps=true&max_points=300"))
    assert gpx.routes and all(len(s.points) <= 300 for t in gpx.tracks for s in t.segments)
    km = [w for w in gpx.waypoints if w.type == "km"]
    assert len(km) == int(body["properties"]["distance_m"] / 5000)
    assert gpx.link.endswith(links["self"])
    areas = client.get("/v1/isochrones?format=gpx&start=2.8037,50.4306&minutes=10")
    assert areas.status_code == 422 and areas.get_json()["field"] == "format"
    course = client.get(links["geojson"] + "?km_markers=10").get_json()
    kinds = [f["properties"].get("type") for f in course["features"]]
    assert course["features"][0]["geometry"]["type"] == "LineString" and {"start", "finish", "km"} <= set(kinds)
    assert client.get(links["self"] + "?format=geojson").get_json() == client.get(links["geojson"]).get_json()
    missing = client.get("/v1/results/" + "0" * 32 + ".gpx")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert client.get("/v1/results/not-a-key").status_code == 404


def test_tpn_circuit_as_a_race_file(client):
    resp = client.get("/v1/circuits/trail-pyramides-noires-inspire?format=gpx&race=true"
                      "&start_time=2027-03-06T06:00:00%2B01:00&race_version=3&aid_stations_km=15,45,75")
    gpx = valid_gpx(resp)
    summits = [w for w in gpx.waypoints if w.type == "summit"]
    assert len(summits) >= 20
    aid = [w for w in gpx.waypoints if w.type == "aid-station"]
    assert [w.name for w in aid] == ["Aid station 1 – km 15.0", "Aid station 2 – km 45.0", "Aid station 3 – km 75.0"]
    assert len([w for w in gpx.waypoints if w.type == "checkpoint"]) >= 10
    assert "Course version 3." in gpx.description
    no_start = client.get("/v1/circuits/trail-pyramides-noires-inspire?format=gpx&race=true")
    assert no_start.status_code == 422 and no_start.get_json()["field"] == "start_time"
    off_course = client.get("/v1/circuits/trail-pyramides-noires-inspire?format=gpx&race=true"
                            "&start_time=2027-03-06T06:00:00Z&checkpoints_km=500")
    assert off_course.status_code == 422 and off_course.get_json()["field"] == "checkpoints_km"


def test_one_stage_of_a_tour_as_its_own_file(client):
    body = client.post("/v1/tours", json={"start": "louvre-lens", "stops": ["great-site-chm-lewarde",
                                                                            "great-site-arenberg"],
                                          "daily_km": 30}).get_json()
    stages = body["properties"]["stages"]
    assert len(stages) >= 2
    gpx = valid_gpx(client.get(body["links"]["gpx"] + "?part=2"))
    assert len(gpx.tracks) == 1 and gpx.tracks[0].name.endswith("day 2")
    length = gpx.length_2d() / (6378.137 / 6371.009)  # gpxpy's earth radius against galibot's
    assert length == pytest.approx(stages[1]["distance_m"], rel=0.01)
    too_far = client.get(body["links"]["gpx"] + f"?part={len(stages) + 1}")
    assert too_far.status_code == 422 and too_far.get_json()["field"] == "part"


def upload(client, data: bytes, **form):
    return client.post("/v1/gpx/analyze", data={"file": (io.BytesIO(data), "course.gpx"), **form},
                       content_type="multipart/form-data")


def test_analyze_the_ev5_file(client, cfg):
    data = (cfg.data_dir / "ev5-waymarkedtrails" / "ev5-relation5245117-wmt-2023-05-24.gpx").read_bytes()
    resp = upload(client, data, profile="bike", snap="false")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["distance_m"] / 1000 == pytest.approx(207.9, abs=0.1)  # SOURCE.md's figure
    assert body["matched_share"] >= 0.9 and body["points"] == 7159 and "snapped" not in body


def test_an_analysis_is_kept_and_read_again_within_its_bounds(client, cfg):
    """An analysis is kept under the key of the upload and options: the same upload is answered from the store,
    and its Content-Location reads it again, a file read whatever the analysis cost (README, limits)."""
    data = (cfg.data_dir / "ev5-waymarkedtrails" / "ev5-relation5245117-wmt-2022-01-23.gpx").read_bytes()
    first = upload(client, data, profile="trail", snap="true")
    assert first.status_code == 200 and first.headers["X-Cache"] == "miss"
    again = upload(client, data, profile="trail", snap="true")
    assert again.headers["X-Cache"] == "hit" and again.data == first.data
    assert upload(client, data, profile="bike", snap="true").headers["Content-Location"] != \
        first.headers["Content-Location"]  # another profile: another analysis
    tracemalloc.start()
    cpu = time.thread_time()
    try:
        kept = client.get(first.headers["Content-Location"])
        spent, peak = time.thread_time() - cpu, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert kept.status_code == 200 and kept.data == first.data and len(kept.data) > 100_000  # snapped track
    assert spent < 0.25 and peak < 4 * len(kept.data) + 2**20, (spent, peak)
    assert client.get("/v1/gpx/analyses/not-a-key").status_code == 404


@pytest.mark.parametrize("data,status,title,line", [
    (b"definitely not XML", 400, "GPXSyntaxError", 1),
    (b'<?xml version="1.0"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"/>', 400, "NotGPX", 2),
    (b'<?xml version="1.0"?>\n<!DOCTYPE g [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n<gpx/>', 400,
     "GPXUnsafe", 2),
    (f'<gpx xmlns="{GPX11}" version="1.1" creator="t">\n<trk><trkseg>\n<trkpt lat="50.4" lon="2.8"/>\n'
     f'<trkpt lat="50.4" lon="200"/></trkseg></trk></gpx>'.encode(), 422, "InvalidGPX", 4),
    (f'<gpx xmlns="{GPX11}" version="1.1" creator="t"><trk><trkseg/></trk></gpx>'.encode(), 422, "EmptyGPX", None),
    (f'<gpx xmlns="{GPX11}" version="1.1" creator="t"><trk><trkseg><trkpt lat="48.85" lon="2.35"/>'
     f'<trkpt lat="48.86" lon="2.29"/></trkseg></trk></gpx>'.encode(), 422, "OutsideBasin", None),
])
def test_bad_uploads_are_problems_naming_file_and_line(client, data, status, title, line):
    resp = upload(client, data)
    body = resp.get_json()
    assert resp.status_code == status and resp.mimetype == "application/problem+json"
    assert body["title"] == title and body["field"] == "file" and body.get("line") == line


def test_upload_limits_and_fields(client):
    over = upload(client, b"<gpx>" + b" " * (gpx_settings.MAX_GPX_BYTES + 10))
    assert over.status_code == 413 and over.mimetype == "application/problem+json"
    way_over = upload(client, b" " * (gpx_settings.MAX_GPX_BYTES + 2 * 1024 * 1024))
    assert way_over.status_code == 413 and way_over.mimetype == "application/problem+json"
    no_file = client.post("/v1/gpx/analyze", data={}, content_type="multipart/form-data")
    assert no_file.status_code == 422 and no_file.get_json()["field"] == "file"
    bad_profile = upload(client, b"<gpx/>", profile="horse")
    assert bad_profile.status_code == 422 and bad_profile.get_json()["field"] == "profile"


def test_round_trips_and_trail_courses_as_gpx(client):
    loops = valid_gpx(client.post("/v1/roundtrips?format=gpx",
                                  json={"start": "great-site-base-11-19", "distance_km": 15, "count": 2}))
    assert len(loops.tracks) == 2 and [w.type for w in loops.waypoints][:1] == ["start"]
    body = client.post("/v1/trails", json={"start": "great-site-base-11-19", "distance_km": 25, "terrils": 4,
                                           "lang": "fr"}).get_json()
    trail = valid_gpx(client.get(body["links"]["gpx"]))
    summits = [w for w in trail.waypoints if w.type == "summit"]
    planned = body["features"][0]["properties"]["summits"]
    assert [w.name.split(" – ")[0].split()[-1] for w in summits] == [terril_number(s["number"]) for s in planned]


def test_an_unknown_form_field_is_named(client):
    resp = upload(client, b"<gpx/>", colour="red")
    assert resp.status_code == 422 and resp.get_json()["field"] == "colour"


@pytest.mark.parametrize("query,field", [
    ("format=geojson&km_markers=0", "km_markers"), ("format=gpx&km_markers=0.000001", "km_markers"),
    ("format=gpx&race=true&start_time=2027-03-06T06:00:00Z&checkpoint_every_km=0.0000001", "checkpoint_every_km"),
    ("format=gpx&race=true&start_time=2027-03-06T06:00:00Z&aid_every_km=-1", "aid_every_km"),
    ("format=gpx&pace_s_per_km=1", "pace_s_per_km"), ("format=gpx&max_points=2", "max_points"),
    ("format=gpx&race=true&start_time=9999-12-31T23:00:00Z", "start_time"),
])
def test_file_options_that_would_blow_up_are_refused(client, query, field):
    resp = client.get(f"/v1/circuits/memoire-14-18?{query}")
    assert resp.status_code == 422 and resp.get_json()["field"] == field


def test_a_race_file_holds_only_what_a_runner_needs_unless_asked(client):
    """The TPN-style race GPX: start, checkpoints, aid stations, summits and finish; the museum, a bike shop and the
    course's stops come back with race_pois=true."""
    base = "/v1/circuits/trail-pyramides-noires-inspire?format=gpx&race=true&start_time=2027-03-06T06:00:00Z"
    race = valid_gpx(client.get(base))
    assert {w.type for w in race.waypoints} <= {"start", "finish", "checkpoint", "aid-station", "summit"}
    assert len([w for w in race.waypoints if w.type == "summit"]) >= 20
    everything = valid_gpx(client.get(base + "&race_pois=true"))
    assert {"poi", "checkpoint", "summit"} <= {w.type for w in everything.waypoints}
    assert len(everything.waypoints) > len(race.waypoints)
