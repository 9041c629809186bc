"""Race files through the API on the whole basin: the TPN-style race as FIT and CSV, thinning, and an organiser's own
course (the EV5 GPX of 2023-05-24) turned into a race, published in versions, with its refusals."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import gpxpy
import numpy as np
import pypdfium2
import pytest
import shapely
from lxml import etree

from bench.races import decode as decode_fit
from gpx_exports import settings as gx_settings
from gpx_exports.fit import fit_name
from routing.settings import Settings
from tests.conftest import assert_problem

XSD = etree.XMLSchema(etree.parse(str(Path(__file__).parent / "data" / "gpx-1.1.xsd")))
TPN = "/v1/circuits/trail-pyramides-noires-inspire?race=true&start_time=2027-03-06T06:00:00%2B01:00&lang=fr"
EV5 = Settings.from_env().data_dir / "ev5-waymarkedtrails" / "ev5-relation5245117-wmt-2023-05-24.gpx"
#: The race of the organiser's course: a checkpoint at km 50, an aid station at the Louvre-Lens (a POI of the
#: catalogue the EV5 passes), another at a [lon, lat] beside the course at Don, with a name too long for a watch.
SPEC = {"title": "EuroVelo 5, de Saint-Omer à Lille", "start_time": "2027-05-01T07:00:00+02:00", "profile": "bike",
        "checkpoints": [{"at": 50}, {"at": "louvre-lens", "kind": "aid-station", "services": ["eau", "fruits"]},
                        {"at": [2.9205, 50.5502], "kind": "aid-station", "name": "Ravitaillement de Don-Sainghin"}]}


def token(client) -> dict:
    return {"Authorization": f"Bearer {client.post('/v1/devices').get_json()['token']}"}


def upload(client, headers: dict, spec: dict, data: bytes | None = None, *, method: str = "post",
           url: str = "/v1/races"):
    form = {"race": json.dumps(spec)}
    if data is not None:
        form["file"] = (io.BytesIO(data), "course.gpx")
    return getattr(client, method)(url, headers=headers, data=form, content_type="multipart/form-data")


def gpx_of(resp) -> gpxpy.gpx.GPX:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert XSD.validate(etree.fromstring(resp.get_data())), XSD.error_log
    return gpxpy.parse(resp.get_data(as_text=True))


@pytest.fixture(scope="module")
def ev5_race(client):
    """The EV5 file uploaded as a course, with three stations (one by km, one by POI id, one by place)."""
    owner = token(client)
    resp = upload(client, owner, SPEC, EV5.read_bytes())
    assert resp.status_code == 201, resp.get_data(as_text=True)[:500]
    return owner, resp.get_json()


def test_the_tpn_race_as_fit_matches_its_gpx(client):
    fit = client.get(TPN + "&format=fit")
    assert fit.status_code == 200 and fit.mimetype == gx_settings.FIT_MIMETYPE
    assert fit.headers["Content-Disposition"].endswith('.fit"')
    msgs = decode_fit(fit.get_data())
    gpx = gpx_of(client.get(TPN + "&format=gpx"))
    track = [p for t in gpx.tracks for s in t.segments for p in s.points]
    assert len(msgs["record"]) == len(track) > 1000
    assert msgs["record"][-1]["distance"] / 1000 == pytest.approx(109.5, abs=1.5)
    points = msgs["course_point"][:-1]  # the loop's finish at the end is the extra one
    assert [p["name"] for p in points][0] == "Départ" and len(points) == len(gpx.waypoints)
    assert len([p for p in points if p["type"] == "summit"]) >= 20
    # the waypoints' km are in the GeoJSON of the same race; each course point is within 10 m of its waypoint's km
    course = client.get(TPN + "&format=geojson").get_json()
    kms = [f["properties"]["km"] for f in course["features"] if f["geometry"]["type"] == "Point"]
    assert len(kms) == len(points)
    assert max(abs(p["distance"] - k * 1000) for p, k in zip(points, kms)) <= 10.0
    assert msgs["course_point"][-1]["name"] == "Arrivée"


def test_the_tpn_race_thinned_keeps_its_course_points(client):
    full = decode_fit(client.get(TPN + "&format=fit").get_data())
    for n in (1000, 500):
        resp = client.get(TPN + f"&format=fit&thin_to={n}")
        deviation = float(resp.headers["Galibot-Thinning-Deviation-M"])
        msgs = decode_fit(resp.get_data())
        assert len(msgs["record"]) <= n and 0 < deviation < (15 if n == 1000 else 40)
        assert [(p["name"], p["distance"]) for p in msgs["course_point"]] == \
            [(p["name"], p["distance"]) for p in full["course_point"]]
        moved = [np.hypot((a["position_lat"] - b["position_lat"]), (a["position_long"] - b["position_long"]) * 0.64)
                 * 20_037_508 / 2**31 for a, b in zip(msgs["course_point"], full["course_point"])]
        assert max(moved) <= 10.0, max(moved)  # each course point stays where it was, on a kept vertex's stretch
        gpx = gpx_of(client.get(TPN + f"&format=gpx&thin_to={n}"))
        assert sum(len(s.points) for t in gpx.tracks for s in t.segments) <= n


def test_the_tpn_race_table_is_csv_for_the_timing_company(client):
    resp = client.get(TPN + "&format=csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    types = [r["type"] for r in rows]
    assert types[0] == "start" and types[-1] == "finish" and types.count("checkpoint") == 10
    assert types.count("aid-station") == 5 and types.count("summit") >= 20
    assert float(rows[-1]["km_effort"]) == pytest.approx(124.2, abs=1.0)


def test_fit_of_a_result_with_alternatives_asks_for_one(client):
    body = {"profile": "bike", "points": [[2.8043729, 50.4306149], [3.1691, 50.3369]], "alternatives": 2}
    result = client.post("/v1/routes", json=body).get_json()
    assert len(result["features"]) > 1  # Louvre-Lens to Lewarde has alternatives
    assert_problem(client.get(result["links"]["self"] + ".fit"), 422, "part")
    second = decode_fit(client.get(result["links"]["self"] + ".fit?part=2").get_data())
    assert second["record"][-1]["distance"] == pytest.approx(result["features"][1]["properties"]["distance_m"],
                                                              rel=0.002)


def test_an_uploaded_course_is_written_back_as_it_came(client, ev5_race):
    _, race = ev5_race
    assert race["revision"] == 1 and race["version"] == "1"
    assert race["distance_m"] == pytest.approx(207_900, abs=200)  # SOURCE.md: 207.9 km in 65 segments
    uploaded = gpxpy.parse(EV5.read_text())
    written = gpx_of(client.get(race["links"]["gpx"]))
    segs_in = [[(p.longitude, p.latitude) for p in s.points] for t in uploaded.tracks for s in t.segments]
    segs_out = [[(p.longitude, p.latitude) for p in s.points] for t in written.tracks for s in t.segments]
    assert segs_out == segs_in  # every point, every segment, in order: nothing re-routed
    a, b = (shapely.MultiLineString(s) for s in (segs_in, segs_out))
    assert a.hausdorff_distance(b) == 0.0
    codes = {w["code"] for w in race["warnings"]}
    assert {"segments", "outside_area", "off_graph", "name_truncated"} <= codes
    gaps = next(w for w in race["warnings"] if w["code"] == "segments")
    assert gaps["segments"] == 65 and "segments" in gaps["text"]
    off = next(w for w in race["warnings"] if w["code"] == "off_graph")
    assert off["length_m"] >= gx_settings.RACE_WARN_OFF_GRAPH_M and "off any known way" in off["text"]


def test_the_organisers_stations_are_placed_on_the_course(client, ev5_race):
    _, race = ev5_race
    stations = race["stations"]
    assert [s["type"] for s in stations] == ["start", "checkpoint", "aid-station", "aid-station", "finish"]
    assert stations[1]["km"] == 50.0
    louvre = client.get("/v1/pois/louvre-lens").get_json()
    lon, lat = louvre["geometry"]["coordinates"][:2]
    aid = stations[2]
    assert np.hypot((aid["lon"] - lon) * 71_000, (aid["lat"] - lat) * 111_000) <= 200
    assert aid["services"] == ["eau", "fruits"]
    don = stations[3]
    assert don["name"] == "Ravitaillement de Don-Sainghin" and don["device_name"] == fit_name(don["name"])
    cutoffs = [s["cutoff"] for s in stations]
    assert cutoffs == sorted(cutoffs)
    truncated = next(w for w in race["warnings"] if w["code"] == "name_truncated")
    assert truncated["field"] == "checkpoints[2].name" and truncated["device_name"] == "Ravitaillement"


def test_an_uploaded_race_has_every_file(client, ev5_race):
    _, race = ev5_race
    fit = decode_fit(client.get(race["links"]["fit"]).get_data())
    assert len(fit["record"]) == 7159 and fit["record"][-1]["distance"] == pytest.approx(race["distance_m"], abs=1)
    named = {p["name"]: p["distance"] for p in fit["course_point"]}
    assert named["Ravitaillement"] == pytest.approx(race["stations"][3]["km"] * 1000, abs=10)
    rows = list(csv.DictReader(io.StringIO(client.get(race["links"]["csv"]).get_data(as_text=True))))
    assert [r["type"] for r in rows if r["type"] != "summit"] == [s["type"] for s in race["stations"]]
    assert rows[-1]["cum_ascent_m"] == f"{race['ascent_m']:.0f}"


def test_a_roadbook_prints_the_organisers_course(client):
    """The 11/19 panoramas circuit's own GPX, uploaded back as an organiser's course (a short one, so the roadbook
    draws quickly): the PDF says the title, the stations with their cut-offs and services, the version."""
    gpx = client.get("/v1/circuits/terrils-panoramas-11-19?format=gpx").get_data()
    spec = {"title": "Les panoramas du 11/19", "start_time": "2027-06-05T09:00:00+02:00", "version": "2027-b",
            "checkpoints": [{"at": 1.5, "kind": "aid-station", "name": "Ravito du 11/19", "services": ["eau"]}]}
    race = upload(client, token(client), spec, gpx).get_json()
    pdf = client.get(race["links"]["pdf"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    doc = pypdfium2.PdfDocument(pdf.get_data())
    text = "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    for words in ("Les panoramas du 11/19", "Points de contrôle", "Ravito du 11/19", "2027-b", "5 juin 2027",
                  "OpenStreetMap"):
        assert words in text, words
    assert {s["number"] for s in race["summits"]} >= {"T074"}  # the circuit climbs terril 74: the upload says so
    assert "Itinéraire pas à pas" not in text  # an organiser's course has no turn-by-turn to print


def test_a_new_version_keeps_the_id_and_only_its_owner_publishes(client, ev5_race):
    owner, race = ev5_race
    moved = {**SPEC, "checkpoints": [{"at": 60}, *SPEC["checkpoints"][1:]]}
    assert_problem(upload(client, token(client), moved, method="put", url=race["links"]["self"]), 403,
                   "Authorization")
    assert_problem(upload(client, {}, moved, method="put", url=race["links"]["self"]), 401, "Authorization")
    same = upload(client, owner, {**moved, "version": "1"}, method="put", url=race["links"]["self"])
    assert_problem(same, 409, "version")
    second = upload(client, owner, moved, method="put", url=race["links"]["self"])
    assert second.status_code == 200, second.get_data(as_text=True)[:300]
    body = second.get_json()
    assert body["id"] == race["id"] and body["revision"] == 2 and body["version"] == "2"
    assert body["stations"][1]["km"] == 60.0
    gpx = client.get(race["links"]["gpx"]).get_data(as_text=True)
    assert 'version="2"' in gpx
    assert decode_fit(client.get(race["links"]["fit"]).get_data())["file_id"][0]["number"] == 2
    assert client.get(race["links"]["self"]).get_json()["revision"] == 2


@pytest.mark.parametrize(("change", "field"), [
    ({"checkpoints": [{"at": 250}]}, "checkpoints[0].at"),  # beyond the finish (207.9 km)
    ({"checkpoints": [{"at": 20, "cutoff": "2027-05-01T12:00:00+02:00"},
                      {"at": 40, "cutoff": "2027-05-01T11:00:00+02:00"}]}, "checkpoints[1].cutoff"),
    ({"checkpoints": [{"at": "terril-t074"}]}, "checkpoints[0].at"),  # 561 m from the EV5
    ({"checkpoints": [{"at": "no-such-poi"}]}, "checkpoints[0].at"),
    ({"checkpoints": [{"at": True}]}, "checkpoints[0].at"),
    ({"start_time": "tomorrow"}, "start_time"),
    ({"finish_cutoff": "2027-05-01T08:00:00+02:00"}, "finish_cutoff"),
])
def test_bad_races_are_refused_naming_the_field(client, change, field):
    assert_problem(upload(client, token(client), {**SPEC, **change}, EV5.read_bytes()), 422, field)


def test_uploads_that_are_not_courses_are_refused(client):
    owner = token(client)
    waypoints = (b'<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
                 b'<wpt lat="50.43" lon="2.80"/><wpt lat="50.44" lon="2.81"/></gpx>')
    assert_problem(upload(client, owner, SPEC, waypoints), 422, "file")
    assert_problem(upload(client, owner, SPEC, b"<html>not a course</html>"), 400, "file")
    assert_problem(upload(client, owner, SPEC), 422, "file")
    bad_json = client.post("/v1/races", headers=owner, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(EV5.read_bytes()), "c.gpx"), "race": "{not json"})
    assert_problem(bad_json, 400, "race")
    assert_problem(upload(client, {}, SPEC, EV5.read_bytes()), 401, "Authorization")
    assert_problem(client.get("/v1/races/AAAAAAAAAAAA"), 404, "id")
