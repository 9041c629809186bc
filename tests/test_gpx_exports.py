"""GPX and GeoJSON exports and GPX analysis on the whole basin, checked against the official GPX 1.1 schema."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import gpxpy
import gpxpy.gpx
import numpy as np
import pytest
from lxml import etree

import gpx_exports as gx
from poi_data import attach_pois
from routing import landmarks
from routing.planners.loops import plan_loops
from routing.planners.stages import split_stages
from routing.planners.tour import Stop, plan_tour
from routing.route import cumulative_distance

XSD = Path(__file__).parent / "data" / "gpx-1.1.xsd"
GPX11 = "http://www.topografix.com/GPX/1/1"
START = datetime(2027, 3, 6, 7, 0, tzinfo=UTC)
#: gpxpy measures on a 6,378.137 km sphere, galibot (osmnx) on the 6,371.009 km mean radius: 0.11 % apart.
GPXPY_RADIUS_RATIO = 6378.137 / 6371.009


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


@pytest.fixture(scope="module")
def places(cfg, basin_graph):
    return landmarks.locate(cfg, basin_graph, ("louvre_lens", "base_11_19"))


def stop(catalogue, poi_id: str) -> Stop:
    p = catalogue.get(poi_id)
    return Stop(p["lon"], p["lat"], p["id"], p["name"])


@pytest.fixture(scope="module")
def lens_to_lewarde(basin_engine, catalogue, places):
    lewarde = catalogue.get("great-site-chm-lewarde")
    route = basin_engine.route([places["louvre_lens"], (lewarde["lon"], lewarde["lat"])], "bike")[0]
    return attach_pois(route, catalogue, 150.0)


@pytest.fixture(scope="module")
def tpn(circuits, catalogue):
    c = circuits["trail-pyramides-noires-inspire"]
    route = attach_pois(dataclasses.replace(c.route), catalogue, 150.0)  # a copy: the circuit is shared
    s = c.summary("en")
    return gx.course(route, "circuit", s["name"], s["description"], loop=True, summits=c.summits)


def check_text(xml: str, schema: etree.XMLSchema) -> str:
    """The file, once it has validated against the GPX 1.1 XSD."""
    assert schema.validate(etree.fromstring(xml.encode())), schema.error_log
    return xml


def check_file(xml: str, schema: etree.XMLSchema) -> gpxpy.gpx.GPX:
    """Valid against the GPX 1.1 XSD, and gpxpy reads it back."""
    return gpxpy.parse(check_text(xml, schema))


def track_points(gpx: gpxpy.gpx.GPX) -> list:
    return [p for t in gpx.tracks for s in t.segments for p in s.points]


def gpxpy_length(coords: np.ndarray) -> float:
    return gpxpy.gpx.GPXTrackSegment([gpxpy.gpx.GPXTrackPoint(lat, lon) for lon, lat, _ in coords]).length_2d()


def assert_rereads(course: gx.Course, gpx: gpxpy.gpx.GPX, shared_ends: int = 0) -> None:
    """Same point count (plus the points split tracks share) and distance within 0.1 % as gpxpy measures both."""
    pts = track_points(gpx)
    assert len(pts) == sum(len(p.coordinates) for p in course.parts) + shared_ends
    written = sum(gpxpy_length(p.coordinates) for p in course.parts)
    assert abs(gpx.length_2d() / written - 1) < 0.001
    # and against galibot's own figure, once gpxpy's larger earth radius is allowed for
    assert abs(gpx.length_2d() / GPXPY_RADIUS_RATIO / course.distance_m - 1) < 0.001


# -- writing -------------------------------------------------------------------------------------------------------


def test_tpn_race_file_has_summits_in_km_order_and_checkpoints(tpn, schema):
    race = gx.race_course(tpn, gx.RaceSpec(start_time=START, version="2027.1"))
    gpx = check_file(gx.to_gpx(race), schema)
    assert_rereads(race, gpx)
    summits = [w for w in gpx.waypoints if w.type == "summit"]
    planned = [w for w in race.waypoints if w.kind == "summit"]
    assert len(summits) >= 20 and [w.name for w in summits] == [w.name for w in planned]
    kms = [w.km for w in planned]
    assert kms == sorted(kms) and 0 < kms[0] and kms[-1] < race.distance_m / 1000
    loop_end = [w for w in gpx.waypoints if w.type in ("start", "finish")]  # a loop: one Start / Finish
    assert len(loop_end) == 1 and "cut-off" in loop_end[0].comment and "start" in loop_end[0].comment.lower()
    cps = [w for w in gpx.waypoints if w.type == "checkpoint"]
    # one every 10 km, none within a quarter of the spacing of the finish
    assert len(cps) == len(np.arange(10, gpx.length_2d() / 1000 / GPXPY_RADIUS_RATIO - 2.5, 10))
    cutoffs = [datetime.fromisoformat(w.comment.removeprefix("cut-off ")) for w in cps]
    assert cutoffs == sorted(cutoffs) and cutoffs[0] > START
    # 10 km of running is 10 km-effort at least, at 12 min each
    assert (cutoffs[0] - START).total_seconds() >= 10 * 720
    assert {w.type for w in gpx.waypoints} >= {"start", "summit", "checkpoint", "aid-station"}
    all_kms = [w.km for w in race.waypoints]
    assert all_kms == sorted(all_kms) and [w.name for w in gpx.waypoints] == [w.name for w in race.waypoints]
    meta = etree.fromstring(check_text(gx.to_gpx(race), schema).encode()).find(f"{{{GPX11}}}metadata")
    ext = meta.find(f"{{{GPX11}}}extensions")
    assert ext.find(f"{{{gx.settings.NAMESPACE}}}course").get("version") == "2027.1"
    assert "Start March 6, 2027, 7:00\u202fAM" in gpx.description  # people read the moment, devices ISO 8601


def test_metadata_names_author_licences_bounds_and_time(lens_to_lewarde, schema):
    course = gx.course(lens_to_lewarde, "route", "Louvre-Lens → Lewarde")
    created = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    gpx = check_file(gx.to_gpx(course, created=created), schema)
    assert gpx.author_name == "galibot" and gpx.creator == "galibot"
    assert "OpenStreetMap contributors" in gpx.copyright_author and "Etalab" in gpx.copyright_author
    assert gpx.copyright_license.startswith("https://opendatacommons.org/licenses/odbl")
    assert gpx.link and gpx.time == created
    w, s, e, n = course.bounds()
    assert (gpx.bounds.min_longitude, gpx.bounds.max_latitude) == pytest.approx((w, n), abs=1e-6)
    assert "Etalab" in gpx.description and "km" in gpx.description
    assert [t.type for t in gpx.tracks] == ["route"] and not gpx.routes
    eles = [p.elevation for p in track_points(gpx)]
    assert None not in eles and max(eles) - min(eles) > 10


def test_options_route_km_markers_timestamps_and_split(lens_to_lewarde, schema):
    course = gx.course(lens_to_lewarde, "route", "Louvre-Lens → Lewarde")
    opts = gx.GPXOptions(route=True, km_markers=5, timestamps=True, pace_s_per_km=240, start_time=START,
                         max_points=200)
    gpx = check_file(gx.to_gpx(course, opts), schema)
    assert len(gpx.routes) == 1 and len(gpx.routes[0].points) >= 3
    markers = [w for w in gpx.waypoints if w.type == "km"]
    assert [w.name for w in markers] == [f"km {k}" for k in range(5, int(course.distance_m / 1000) + 1, 5)]
    assert all(len(s.points) <= 200 for t in gpx.tracks for s in t.segments) and len(gpx.tracks) > 1
    for a, b in zip(gpx.tracks[:-1], gpx.tracks[1:]):  # split tracks join without a gap
        assert a.segments[-1].points[-1].latitude == b.segments[0].points[0].latitude
    assert_rereads(course, gpx, shared_ends=len(gpx.tracks) - 1)
    times = [p.time for p in track_points(gpx)]
    assert times == sorted(times) and times[0] == START
    span = (times[-1] - START).total_seconds()
    assert span == pytest.approx(cumulative_distance(course.parts[0].coordinates)[-1] / 1000 * 240, abs=1.0)


def test_no_option_means_a_plain_track(lens_to_lewarde, schema):
    gpx = check_file(gx.to_gpx(gx.course(lens_to_lewarde, "route", "A")), schema)
    assert not gpx.routes and len(gpx.tracks) == 1
    assert all(p.time is None for p in track_points(gpx))
    assert not [w for w in gpx.waypoints if w.type == "km"]


def test_every_kind_of_result_exports(basin_engine, catalogue, circuits, places, schema, tmp_path):
    sites = [stop(catalogue, s) for s in ("great-site-chm-lewarde", "great-site-arenberg", "great-site-fosse-9-9bis")]
    start = Stop(*places["louvre_lens"], id="louvre")
    tour = plan_tour(basin_engine, start, sites)
    stages = split_stages(basin_engine, tour.route, [stop(catalogue, p["id"]) for p in catalogue.by_theme("lodging")],
                          daily_distance_m=40_000)
    loop = plan_loops(basin_engine, places["base_11_19"], 20_000, "bike")[0]
    courses = [
        gx.course(tour.route, "tour", "Three sites", stops=tour.stops, stop_km=tour.stop_km, loop=True),
        gx.course(tour.route, "stages", "Three sites in days", stages=stages, loop=True),
        gx.course(loop.route, "roundtrip", "20 km around the 11/19", loop=True),
        *(gx.course(c.route, "circuit", c.summary()["name"], loop=c.spec.get("loop", False), stops=c.stops,
                    summits=c.summits) for c in circuits.values()),
    ]
    for course in courses:
        gpx = check_file(gx.to_gpx(course), schema)
        assert_rereads(course, gpx)
        geo = gx.course_geojson(course)
        lines = [f for f in geo["features"] if f["geometry"]["type"] == "LineString"]
        assert len(lines) == len(course.parts) and geo["properties"]["distance_m"] == round(course.distance_m, 1)
    staged = courses[1]
    assert len(staged.parts) == len(stages) >= 2
    files = gx.to_gpx_files(staged, gx.GPXOptions(per_part=True))
    assert len(files) == len(stages)
    for (name, xml), part in zip(files, staged.parts):
        gpx = check_file(xml, schema)
        assert len(track_points(gpx)) == len(part.coordinates) and name.endswith(".gpx")
    timed = check_file(gx.to_gpx(staged, gx.GPXOptions(timestamps=True, start_time=START)), schema)
    assert all(t.segments[0].points[0].time == START for t in timed.tracks)  # each day starts in the morning
    stop_wpts = [w for w in courses[0].waypoints if w.kind == "stop"]
    assert [w.name for w in stop_wpts] == [s.name for s in tour.stops]


def test_bad_options_are_refused(lens_to_lewarde):
    course = gx.course(lens_to_lewarde, "route", "A")
    with pytest.raises(gx.ExportError) as err:
        gx.to_gpx(course, gx.GPXOptions(max_points=2))
    assert err.value.field == "max_points"
    with pytest.raises(gx.ExportError) as err:
        gx.race_course(course, gx.RaceSpec(start_time=START, checkpoints_km=(500.0,)))
    assert err.value.field == "checkpoints_km"


def test_store_names_by_inputs_and_never_rewrites(tmp_path, lens_to_lewarde, schema):
    store = gx.ExportStore(tmp_path)
    key = gx.export_key("routes", {"points": [[2.8, 50.4], [3.1, 50.3]], "profile": "bike"}, "v1")
    assert key == gx.export_key("routes", {"profile": "bike", "points": [[2.8, 50.4], [3.1, 50.3]]}, "v1")
    assert key != gx.export_key("routes", {"points": [[2.8, 50.4], [3.1, 50.3]], "profile": "bike"}, "v2")
    xml = check_text(gx.to_gpx(gx.course(lens_to_lewarde, "route", "A")), schema).encode()
    path, written = store.put(key, ".gpx", xml)
    mtime = path.stat().st_mtime_ns
    again, rewritten = store.put(key, ".gpx", b"something else")
    assert written and not rewritten and again == path and path.stat().st_mtime_ns == mtime
    assert store.get(key, ".gpx") == xml and store.get(key, ".geojson") is None
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_the_store_keeps_under_its_cap_by_evicting_the_least_recently_used(tmp_path):
    from gpx_exports.store import EVICT_AT, EVICT_TO

    store = gx.ExportStore(tmp_path, max_bytes=20_000)
    keys = [gx.export_key("routes", {"n": k}, "v1") for k in range(60)]
    for key in keys:
        store.put(key, ".json", bytes(1000))
        assert store.get(keys[0], ".json") is not None  # read after every write: the most recently used
        assert store.size() <= EVICT_AT * store.max_bytes + 1000  # one process: under EVICT_AT but for one write
    assert store.size() >= EVICT_TO * store.max_bytes - 1000  # it evicts down to EVICT_TO, not further
    kept = [k for k in keys if store.get(k, ".json") is not None]
    assert keys[0] in kept and keys[-1] in kept and keys[1] not in kept  # the oldest unread went first


# -- reading and analysis --------------------------------------------------------------------------------------------


def test_round_trip_keeps_distance_and_ascent(lens_to_lewarde, basin_engine, elevation, catalogue, schema):
    xml = check_text(gx.to_gpx(gx.course(lens_to_lewarde, "route", "A"), gx.GPXOptions(route=True)), schema)
    a = gx.analyse(gx.read_gpx(xml.encode()), basin_engine, elevation, catalogue)
    assert a.lines == 1  # the <rte> repeats the track and is not counted twice
    assert a.distance_m == pytest.approx(lens_to_lewarde.distance_m, rel=0.01)
    assert a.ascent_m == pytest.approx(lens_to_lewarde.ascent_m, rel=0.01)
    assert a.matched_share > 0.99 and not a.off_graph
    assert a.snapped_distance_m == pytest.approx(lens_to_lewarde.distance_m, rel=0.02)
    passed = [p["id"] for p in a.pois]
    assert passed[0] == "louvre-lens" and passed[-1] == "great-site-chm-lewarde"  # from one end to the other


def test_tpn_analysis_finds_its_summits_in_order(tpn, basin_engine, elevation, schema):
    xml = check_text(gx.to_gpx(tpn), schema)
    a = gx.analyse(gx.read_gpx(xml.encode()), basin_engine, elevation, snap=False)
    climbed = {t["number"].lower(): t["km"] for t in a.terrils}
    planned = {w.ref.removeprefix("terril-"): w.km for w in tpn.waypoints if w.kind == "summit"}
    assert len(planned) == 20 and set(planned) <= set(climbed)
    # each is reported where the course first gets as close as it ever does: at the planned visit or before
    assert all(climbed[n] <= km + 0.1 for n, km in planned.items())
    assert sum(abs(climbed[n] - km) <= 0.1 for n, km in planned.items()) >= 18
    assert [t["km"] for t in a.terrils] == sorted(t["km"] for t in a.terrils)
    assert a.ascent_m == pytest.approx(tpn.ascent_m, rel=0.01)


def test_ev5_waymarked_trails_matches_the_graph(cfg, basin_engine, elevation, catalogue):
    data = (cfg.data_dir / "ev5-waymarkedtrails" / "ev5-relation5245117-wmt-2022-01-23.gpx").read_bytes()
    track = gx.read_gpx(data)
    assert (track.points, len(track.lines), track.version) == (7975, 60, "1.1")
    a = gx.analyse(track, basin_engine, elevation, catalogue)
    assert a.distance_m / 1000 == pytest.approx(225.6, abs=0.1)  # SOURCE.md's figure
    assert 0.4 < a.inside_share < 0.7  # Calais to Saint-Omer and Lille lie outside the tiles
    assert a.matched_share >= 0.90
    assert a.ascent_m > 100 and a.claimed_ascent_m is None  # the file has no elevation
    passed = {p["id"] for p in a.pois}
    assert passed and "great-site-chm-lewarde" not in passed  # EV5 passes POIs, but not Lewarde, 20 km off it


def test_a_stretch_across_fields_is_reported_off_graph(lens_to_lewarde, basin_engine, elevation):
    coords = lens_to_lewarde.coordinates
    cum = cumulative_distance(coords)
    i, j = np.searchsorted(cum, [10_000, 12_000])
    a, b = coords[i], coords[j]
    normal = np.array([-(b[1] - a[1]), b[0] - a[0]])
    normal *= 0.006 / np.hypot(*normal)  # about 500 m sideways
    mid = (a[:2] + b[:2]) / 2 + normal
    detour = np.array([a[:2] + (mid - a[:2]) * t for t in np.linspace(0, 1, 20)]
                      + [mid + (b[:2] - mid) * t for t in np.linspace(0, 1, 20)])
    drawn = np.vstack([coords[:i, :2], detour, coords[j + 1:, :2]])
    xml = gpx_of(drawn, "1.1")
    result = gx.analyse(gx.read_gpx(xml.encode()), basin_engine, elevation)
    assert result.matched_share < 0.99 and result.off_graph
    longest = max(result.off_graph, key=lambda o: o["length_m"])
    assert 9.5 < longest["from_km"] and longest["to_km"] < 12.5 + 1.5


def gpx_of(lonlat: np.ndarray, version: str, kind: str = "trk") -> str:
    ns = "http://www.topografix.com/GPX/1/0" if version == "1.0" else GPX11
    pts = "".join(f'<{"trkpt" if kind == "trk" else kind + "pt" if kind == "rte" else "wpt"} '
                  f'lat="{lat:.7f}" lon="{lon:.7f}"/>' for lon, lat in lonlat)
    body = {"trk": f"<trk><trkseg>{pts}</trkseg></trk>", "rte": f"<rte>{pts}</rte>", "wpt": pts}[kind]
    return f'<?xml version="1.0"?><gpx xmlns="{ns}" version="{version}" creator="test">{body}</gpx>'


@pytest.mark.parametrize("version,kind", [("1.0", "trk"), ("1.0", "rte"), ("1.1", "rte"), ("1.1", "wpt")])
def test_reads_gpx_10_and_routes_and_waypoints(lens_to_lewarde, version, kind):
    coords = lens_to_lewarde.coordinates[::5, :2]
    track = gx.read_gpx(gpx_of(coords, version, kind).encode())
    assert track.version == version and track.points == len(coords)
    assert cumulative_distance(track.lines[0])[-1] == pytest.approx(cumulative_distance(coords)[-1], rel=1e-6)


def test_several_segments_are_measured_end_to_end(lens_to_lewarde, basin_engine, elevation):
    coords = lens_to_lewarde.coordinates[:, :2]
    half = len(coords) // 2
    pts = lambda c: "".join(f'<trkpt lat="{b:.7f}" lon="{a:.7f}"/>' for a, b in c)  # noqa: E731
    xml = (f'<gpx xmlns="{GPX11}" version="1.1" creator="t"><trk><trkseg>{pts(coords[:half])}</trkseg>'
           f"<trkseg>{pts(coords[half:])}</trkseg></trk></gpx>")
    a = gx.analyse(gx.read_gpx(xml.encode()), basin_engine, elevation, snap=False)
    assert a.lines == 2
    gap = float(cumulative_distance(coords[half - 1:half + 1])[-1])
    assert a.distance_m == pytest.approx(lens_to_lewarde.distance_m - gap, rel=0.001)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<gpx xmlns="http://www.topografix.com/GPX/1/1" version="1.1" creator="x">
<metadata><name>&lol3;</name></metadata></gpx>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE gpx [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<gpx xmlns="http://www.topografix.com/GPX/1/1" version="1.1" creator="x"><trk><name>&xxe;</name></trk></gpx>"""


def _out_of_range() -> bytes:
    return (f'<gpx xmlns="{GPX11}" version="1.1" creator="t">\n<trk><trkseg>\n<trkpt lat="50.4" lon="2.8"/>\n'
            f'<trkpt lat="123.4" lon="2.8"/>\n</trkseg></trk></gpx>').encode()


@pytest.mark.parametrize("data,error,words,line", [
    (b"this is not xml at all", gx.GPXSyntaxError, "not well-formed", 1),
    (f'<gpx xmlns="{GPX11}" version="1.1" creator="t">\n<trk>'.encode(), gx.GPXSyntaxError, "not well-formed", 2),
    (b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"/>', gx.NotGPX, "not a GPX", 1),
    (b'<gpx version="1.1"><trk/></gpx>', gx.NotGPX, "without the GPX namespace", 1),
    (f'<gpx xmlns="{GPX11}" version="1.1" creator="t"><trk><trkseg></trkseg></trk></gpx>'.encode(), gx.EmptyGPX,
     "no track", None),
    (f'<gpx xmlns="{GPX11}" version="1.1" creator="t"><trk><trkseg><trkpt lat="50.4" lon="2.8"/></trkseg></trk>'
     f"</gpx>".encode(), gx.EmptyGPX, "at least two points", None),
    (b"", gx.EmptyGPX, "empty", None),
    (_out_of_range(), gx.InvalidGPX, "out of range", 4),
    (f'<gpx xmlns="{GPX11}" version="1.1" creator="t"><wpt lat="50.4" lon="2.8"><ele>high</ele></wpt></gpx>'.encode(),
     gx.InvalidGPX, "not an elevation", 1),
    (BILLION_LAUGHS, gx.GPXUnsafe, "DTD", 2),
    (XXE, gx.GPXUnsafe, "DTD", 2),
])
def test_bad_files_are_refused_with_the_line(data, error, words, line):
    with pytest.raises(error) as err:
        gx.read_gpx(data)
    assert words in str(err.value) and err.value.field == "file"
    if line is not None:
        assert err.value.line == line


def test_a_file_over_the_limit_is_refused_before_parsing():
    big = b"<gpx>" + b" " * (gx.settings.MAX_GPX_BYTES + 1)
    with pytest.raises(gx.GPXTooLarge) as err:
        gx.read_gpx(big)
    assert "10 MB" in str(err.value)


def test_a_track_outside_the_basin_is_refused(basin_engine, elevation):
    paris = np.array([[2.3522, 48.8566], [2.2945, 48.8584], [2.3499, 48.8530]])
    with pytest.raises(gx.OutsideBasin):
        gx.analyse(gx.read_gpx(gpx_of(paris, "1.1").encode()), basin_engine, elevation)


@pytest.mark.parametrize("encoding", ["UTF-8", "ISO-8859-1", "UTF-16"])
def test_reads_the_declared_encoding(encoding):
    text = (f'<?xml version="1.0" encoding="{encoding}"?><gpx xmlns="{GPX11}" version="1.1" creator="t">'
            '<trk><name>Liévin, Loos</name><trkseg><trkpt lat="50.42" lon="2.78"/><trkpt lat="50.44" lon="2.79"/>'
            "</trkseg></trk></gpx>")
    track = gx.read_gpx(text.encode(encoding.lower()))
    assert track.name == "Liévin, Loos"
    assert track.points == 2


def test_an_unknown_encoding_is_refused():
    with pytest.raises(gx.InvalidGPX) as err:
        gx.read_gpx(f'<?xml version="1.0" encoding="klingon"?><gpx xmlns="{GPX11}" version="1.1"/>'.encode())
    assert "encoding" in str(err.value)


def test_a_route_feature_reads_back_as_the_route(lens_to_lewarde):
    from gpx_exports.geojson import route_of_feature

    back = route_of_feature(gx.route_feature(lens_to_lewarde))
    assert back.distance_m == pytest.approx(lens_to_lewarde.distance_m, abs=0.1)
    assert back.ascent_m == pytest.approx(lens_to_lewarde.ascent_m, abs=0.1)
    assert np.abs(back.coordinates - lens_to_lewarde.coordinates).max() < 0.06  # 7 decimals, elevation to 0.1 m
    assert back.instructions == lens_to_lewarde.instructions and back.pois == lens_to_lewarde.pois


def test_a_track_longer_than_any_course_is_refused(basin_engine, elevation):
    zigzag = np.array([[2.5 + 0.9 * (k % 2), 50.3 + 0.3 * (k % 3) / 2] for k in range(40)])  # 40 legs of ~60 km
    with pytest.raises(gx.TrackTooLong) as err:
        gx.analyse(gx.read_gpx(gpx_of(zigzag, "1.1").encode()), basin_engine, elevation)
    assert "1,000 km" in str(err.value) and err.value.field == "file"
