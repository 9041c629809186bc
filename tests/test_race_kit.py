"""The race kit on real routes of the Lens area: FIT courses read back by an independent decoder (fitdecode), thinning
that keeps every course point, the CSV table, and cumulative climbs that add up to the course's D+."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import gpxpy
import numpy as np
import pytest
import shapely

import gpx_exports as gx
from bench.races import decode as decode_fit
from gpx_exports import settings as gx_settings
from gpx_exports.fit import fit_name
from gpx_exports.thin import thin
from presentation import words
from routing import geo
from routing.planners.stages import Stage
from routing.planners.tour import Stop
from routing.planners.trail import plan_trail
from routing.route import climbs_with_hysteresis, cumulative_climbs, cumulative_distance

START = datetime(2027, 3, 6, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def lens_trail(lens_engine, lens_places):
    """A real 12 km trail course over 3 terrils from the Base 11/19, as a race with a checkpoint every 2 km."""
    trail = plan_trail(lens_engine, Stop(*lens_places["base_11_19"]), 12_000, 3, workers=2)
    course = gx.course(trail.route, "trail", "Boucle des terrils 11/19", loop=True, summits=trail.summits,
                       wording=words("fr"))
    spec = gx.RaceSpec(start_time=START, version="3", checkpoint_every_km=2.0, aid_every_km=5.0)
    return gx.race_course(course, spec, words("fr"))


def test_a_fit_course_holds_the_records_and_course_points_of_the_gpx(lens_trail):
    fit = gx.to_fit(lens_trail, wording=words("fr"), created=START, revision=3)
    msgs = decode_fit(fit.data)
    assert msgs["file_id"][0]["type"] == "course" and msgs["file_id"][0]["number"] == 3
    assert msgs["course"][0]["sport"] == "running" and msgs["course"][0]["sub_sport"] == "trail"
    gpx = gpxpy.parse(gx.to_gpx(lens_trail, wording=words("fr")))
    track = [p for t in gpx.tracks for s in t.segments for p in s.points]
    records = msgs["record"]
    assert len(records) == len(track) == fit.records
    assert records[-1]["distance"] == pytest.approx(lens_trail.distance_m, rel=1e-3)
    assert msgs["lap"][0]["total_distance"] == pytest.approx(records[-1]["distance"], abs=0.01)
    for rec, pt in zip(records, track):  # semicircles: 2^31 per 180°, about 1 cm
        assert rec["position_lat"] * 180 / 2**31 == pytest.approx(pt.latitude, abs=1e-6)
        assert rec["position_long"] * 180 / 2**31 == pytest.approx(pt.longitude, abs=1e-6)
    # every waypoint of the race (but km markers) is a course point within 10 m of its km, in order
    wanted = [w for w in lens_trail.waypoints if w.kind != "km"]
    assert [w.name for w in gpx.waypoints if w.type != "km"] == [w.name for w in wanted]
    points = msgs["course_point"]
    loop_finish = points.pop()  # a loop's one "Départ / Arrivée" is a start at 0 and a finish at the end
    assert loop_finish["type"] == "segment_end" and loop_finish["distance"] == pytest.approx(records[-1]["distance"])
    assert len(points) == len(wanted)
    kms = {"checkpoint": [], "summit": [], "aid-station": []}
    for p, w in zip(points, wanted):
        assert abs(p["distance"] - w.km * 1000) <= 10.0, (p, w.name)
        assert len(p["name"].encode()) < gx_settings.FIT_NAME_BYTES
        if w.kind in kms:
            kms[w.kind].append(p["name"])
    assert kms["checkpoint"][:2] == ["CP 1", "CP 2"] and kms["aid-station"] == ["Ravito 1", "Ravito 2"]
    assert all(name.startswith("Terril ") for name in kms["summit"]) and len(kms["summit"]) == 3
    assert [p["type"] for p in points][0] == "segment_start"
    assert {"checkpoint", "aid_station", "summit"} <= {p["type"] for p in points}


def test_names_are_cut_to_the_device_limit_at_a_character(lens_trail):
    assert fit_name("CP 1") == "CP 1"
    cut = fit_name("Ravitaillement du Louvre-Lens")
    assert cut == "Ravitaillement" and len(cut.encode()) < gx_settings.FIT_NAME_BYTES
    accented = fit_name("Égalité, Fraternité")  # É and é take two bytes: never half a character
    assert len(accented.encode()) <= gx_settings.FIT_NAME_BYTES - 1 and accented == "Égalité, Frat"[:len(accented)]


def test_thinning_keeps_every_course_point_and_reports_its_deviation(lens_trail):
    coords = lens_trail.coordinates()
    thinned, deviation = gx.thin_course(lens_trail, 120)
    kept = thinned.parts[0].coordinates
    assert len(kept) <= 120 < len(coords)
    # the thinned track is made of original points, in order, with both ends (a subsequence of the original)
    original = iter(coords.tolist())
    assert all(any(p == q for q in original) for p in kept.tolist())
    assert np.array_equal(kept[0], coords[0]) and np.array_equal(kept[-1], coords[-1])
    # the deviation is the largest distance of an original point to the thinned line, and it is bounded by it
    x, y = geo.to_metric(coords[:, 0], coords[:, 1])
    kx, ky = geo.to_metric(kept[:, 0], kept[:, 1])
    far = float(shapely.distance(shapely.points(x, y), shapely.linestrings(np.column_stack([kx, ky]))).max())
    assert 0 < deviation == pytest.approx(far, abs=0.01)
    # each course point's vertex is kept: its position in the FIT file is on the thinned track
    cum = lens_trail.along_m()
    for w in lens_trail.waypoints:
        if w.kind != "km":
            nearest = coords[int(np.argmin(np.abs(cum - (w.km or 0) * 1000)))]
            assert tuple(nearest[:2]) in {tuple(p) for p in kept[:, :2].tolist()}, w.name
    # the same track thinned again gives the same points
    again, same = gx.thin_course(lens_trail, 120)
    assert np.array_equal(again.parts[0].coordinates, kept) and same == deviation


def test_thinning_refuses_fewer_points_than_course_points(lens_trail):
    with pytest.raises(gx.ExportError) as err:
        thin(lens_trail.coordinates(), 50, keep=list(range(0, 400, 5)))
    assert err.value.field == "thin_to"


def test_the_csv_table_lists_the_race_points_with_cumulative_figures(lens_trail):
    rows = list(csv.DictReader(io.StringIO(gx.to_csv(lens_trail, words("fr")))))
    assert tuple(rows[0]) == gx_settings.CSV_COLUMNS
    assert [int(r["order"]) for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0]["type"] == "start" and rows[-1]["type"] == "finish"
    kms = [float(r["km"]) for r in rows]
    assert kms == sorted(kms) and kms[-1] == pytest.approx(lens_trail.distance_m / 1000, abs=0.02)
    cutoffs = [datetime.fromisoformat(r["cutoff"]) for r in rows if r["cutoff"]]
    assert cutoffs == sorted(cutoffs) and cutoffs[0] == START and cutoffs[-1] == lens_trail.finish_cutoff
    ups = [float(r["cum_ascent_m"]) for r in rows]
    assert ups == sorted(ups) and ups[-1] == pytest.approx(lens_trail.ascent_m, abs=3)
    assert all(float(r["km_effort"]) == pytest.approx(float(r["km"]) + float(r["cum_ascent_m"]) / 100, abs=0.06)
               for r in rows)
    aid = next(r for r in rows if r["type"] == "aid-station")
    assert aid["services"] == words("fr").table["sheet"]["aid_services"]


def test_cumulative_climbs_end_at_the_hysteresis_totals(lens_trail):
    coords = lens_trail.coordinates()
    z = coords[:, 2]
    up, down = cumulative_climbs(z, 3.0)
    assert (np.diff(up) >= 0).all() and (np.diff(down) >= 0).all()
    assert (up[-1], down[-1]) == climbs_with_hysteresis(z, 3.0)
    assert len(up) == len(cumulative_distance(coords))


def test_one_stage_as_fit_counts_from_that_stages_start(lens_engine, lens_places):
    """A two-day course: day 2's FIT course starts at 0 at its morning start, and its finish is at its own length."""
    route = lens_engine.route([lens_places["louvre_lens"], lens_places["base_11_19"], lens_places["t074_summit"]],
                              "walk")[0]
    half = float(cumulative_distance(route.coordinates)[-1]) / 2
    stages = [Stage(1, 0.0, half, 0.0, 0.0, None), Stage(2, half, route.distance_m, 0.0, 0.0, None)]
    course = gx.course(route, "stages", "Deux jours", stages=stages, wording=words("fr"))
    day2 = course.only_part(1)
    msgs = decode_fit(gx.to_fit(day2, wording=words("fr"), created=START).data)
    points = msgs["course_point"]
    assert points[0]["type"] == "segment_start" and points[0]["distance"] == 0.0
    assert points[-1]["type"] == "segment_end"
    assert points[-1]["distance"] == pytest.approx(msgs["record"][-1]["distance"], abs=10)
    assert msgs["record"][-1]["distance"] == pytest.approx(course.parts[1].distance_m, abs=1)
    assert msgs["lap"][0]["total_ascent"] == round(day2.ascent_m) < round(course.ascent_m)  # the day's own climbs
