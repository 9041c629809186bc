"""Race kit benchmark (issue 16): the TPN-style race as FIT read back by fitdecode, thinning, an organiser's own course
(the EV5 GPX of 2023-05-24) as a race with its CSV, FIT and PDF roadbook, the refusals, and the worst cases.

Run with ``python -m bench.run races``. Everything goes through the API (Flask's test client on a throwaway Redis),
as an organiser's requests would.
"""

from __future__ import annotations

import dataclasses
import io
import json
import tempfile
import time
from datetime import datetime
from pathlib import Path

import fitdecode
import gpxpy
import numpy as np
import pypdfium2 as pdfium
import shapely

import gpx_exports as gx
from api.redis_server import EmbeddedRedis
from bench.hardening import UNLIMITED, worst_cases, worst_rows
from presentation import words
from routing.settings import Settings

REPEAT = 5
TPN = "/v1/circuits/trail-pyramides-noires-inspire?race=true&start_time=2027-03-06T06:00:00%2B01:00&lang=fr"
EV5_FILE = "ev5-relation5245117-wmt-2023-05-24.gpx"
#: The organiser's race on the EV5 file: by km, by POI id (the Louvre-Lens), by [lon, lat] (beside the EV5 at Don).
SPEC = {"title": "EuroVelo 5, de Saint-Omer à Lille", "start_time": "2027-05-01T07:00:00+02:00", "profile": "bike",
        "checkpoints": [{"at": 50}, {"at": "louvre-lens", "kind": "aid-station", "services": ["eau", "fruits"]},
                        {"at": [2.9205, 50.5502], "kind": "aid-station", "name": "Ravitaillement de Don-Sainghin"},
                        {"at": 180}]}
WORST = ["race upload, a 99,000-point zigzag (491 km), 100 checkpoints",
         "race FIT of that upload thinned to 500 points", "race roadbook PDF of the EV5 upload (208 km)"]


def decode(data: bytes) -> dict[str, list[dict]]:
    """Every data message of a FIT file by name, as fitdecode (not the writer's library) reads it; CRC checked."""
    out: dict[str, list[dict]] = {}
    with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.RAISE) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage):
                out.setdefault(frame.name, []).append({f.name: f.value for f in frame.fields})
    return out


def _timed(fn, repeat: int = REPEAT) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return float(np.median(times)) * 1000, out


def _upload(client, headers: dict, spec: dict, data: bytes | None, method: str = "post", url: str = "/v1/races"):
    form = {"race": json.dumps(spec)}
    if data is not None:
        form["file"] = (io.BytesIO(data), "course.gpx")
    return client.open(url, method=method.upper(), headers=headers, data=form, content_type="multipart/form-data")


def tpn_fit(client) -> list[str]:
    """The TPN-style race as FIT: decoded, compared with its GeoJSON waypoints, timed against its GPX."""
    fit = client.get(TPN + "&format=fit").get_data()
    msgs = decode(fit)
    waypoints = [f for f in client.get(TPN + "&format=geojson").get_json()["features"]
                 if f["geometry"]["type"] == "Point"]
    points = msgs["course_point"]
    gaps = [abs(p["distance"] - w["properties"]["km"] * 1000) for p, w in zip(points, waypoints)]
    kinds = {}
    for p in points:
        kinds[p["type"]] = kinds.get(p["type"], 0) + 1
    course = _tpn_course(client)
    fit_ms, _ = _timed(lambda: gx.to_fit(course))
    gpx_ms, _ = _timed(lambda: gx.to_gpx(course))
    rows = [f"| records | {len(msgs['record']):,} (the GPX track: the same points) |",
            f"| km (last record's distance) | {msgs['record'][-1]['distance'] / 1000:.2f} |",
            f"| course points | {len(points)}: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + " |",
            f"| largest gap between a course point's distance and its waypoint's km | {max(gaps):.2f} m "
            f"(of {len(gaps)} compared; the loop's finish is the extra point) |",
            f"| file size | {len(fit):,} bytes |",
            f"| time to write (p50 of {REPEAT}) | {fit_ms:.0f} ms, against {gpx_ms:.0f} ms for its GPX: "
            f"{fit_ms / gpx_ms:.1f}× |"]
    listing = ", ".join(f"{p['name']} {p['distance'] / 1000:.2f}" for p in points)
    return ["| TPN-style race, FIT (decoded by fitdecode) | |", "|---|---|", *rows, "",
            f"Every course point with its km: {listing}."]


def _tpn_course(client) -> gx.Course:
    """The TPN-style race course as the API words it in French, to time the two writers alone on it."""
    shown = client.get(TPN.replace("race=true&", "")).get_json()  # the circuit as rendered in French
    w = words("fr")
    course = gx.course_of_result(shown, w)
    return gx.race_course(course, gx.RaceSpec(start_time=datetime.fromisoformat("2027-03-06T06:00:00+01:00")), w)


def thinning(client) -> list[str]:
    full = decode(client.get(TPN + "&format=fit").get_data())
    rows = ["| thin_to | records | max deviation | course points kept | largest move of a course point | time |",
            "|---|---|---|---|---|---|"]
    for n in (1000, 500):
        started = time.perf_counter()
        resp = client.get(TPN + f"&format=fit&thin_to={n}")
        ms = (time.perf_counter() - started) * 1000
        msgs = decode(resp.get_data())
        same = [(p["name"], p["distance"]) for p in msgs["course_point"]] == \
            [(p["name"], p["distance"]) for p in full["course_point"]]
        moved = max(np.hypot(a["position_lat"] - b["position_lat"], (a["position_long"] - b["position_long"]) * 0.64)
                    * 20_037_508 / 2**31 for a, b in zip(msgs["course_point"], full["course_point"]))
        kept = f"{len(msgs['course_point'])}/{len(full['course_point'])}, " + \
            ("the same names and km" if same else "DIFFERENT names or km")
        kept = f"{len(msgs['course_point'])}/{len(full['course_point'])}, " + \
            ("the same names and km" if same else "DIFFERENT names or km")
        rows.append(f"| {n} | {len(msgs['record']):,} (of {len(full['record']):,}) | "
                    f"{float(resp.headers['Galibot-Thinning-Deviation-M']):.1f} m | {kept} | {moved:.1f} m | "
                    f"{ms:.0f} ms |")
    return rows


def uploaded(client, data_dir: Path) -> tuple[list[str], dict]:
    """The EV5 file as an organiser's course: the race, its stations, files and the geometry written."""
    data = (data_dir / "ev5-waymarkedtrails" / EV5_FILE).read_bytes()
    owner = {"Authorization": f"Bearer {client.post('/v1/devices').get_json()['token']}"}
    started = time.perf_counter()
    resp = _upload(client, owner, SPEC, data)
    post_s = time.perf_counter() - started
    race = resp.get_json()
    assert resp.status_code == 201, race
    gpx = gpxpy.parse(client.get(race["links"]["gpx"]).get_data(as_text=True))
    uploaded_gpx = gpxpy.parse(data.decode())
    segs = [[(p.longitude, p.latitude) for p in s.points] for t in uploaded_gpx.tracks for s in t.segments]
    out = [[(p.longitude, p.latitude) for p in s.points] for t in gpx.tracks for s in t.segments]
    hausdorff = shapely.MultiLineString(segs).hausdorff_distance(shapely.MultiLineString(out))
    fit_bytes = client.get(race["links"]["fit"]).get_data()
    fit = decode(fit_bytes)
    table = client.get(race["links"]["csv"] + "?lang=fr").get_data(as_text=True)
    started = time.perf_counter()
    pdf = client.get(race["links"]["pdf"]).get_data()
    pdf_s = time.perf_counter() - started
    doc = pdfium.PdfDocument(pdf)
    text = " ".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    stations = "\n".join(f"| {s['type']} | {s['name']} | {s['device_name']} | {s['km']:.2f} | {s['cutoff']} |"
                         for s in race["stations"])
    warnings = "\n".join(f"- `{w['code']}`: {w['text']}" for w in race["warnings"])
    lines = [
        f"`POST /v1/races` with the file ({len(data):,} bytes, {sum(len(s) for s in segs):,} points in "
        f"{len(segs)} segments) and {len(SPEC['checkpoints'])} stations: **{resp.status_code}** in {post_s:.2f} s; "
        f"{race['distance_m'] / 1000:.2f} km, D+ {race['ascent_m']:.0f} m, {len(race['summits'])} terrils climbed, "
        f"{race['analysis']['matched_share']:.1%} of the part inside the data on the graph.",
        "",
        "| type | name | on a watch | km | cut-off |", "|---|---|---|---|---|", stations, "",
        "Stations: km 50 by km, the Louvre-Lens by POI id (`louvre-lens`), Don by `[2.9205, 50.5502]`, km 180 by km.",
        "",
        f"Geometry written: {len(out)} track segments, {sum(len(s) for s in out):,} points; **Hausdorff distance to "
        f"the upload {hausdorff:g}** (every point and segment equal, in order). FIT: {len(fit['record']):,} records, "
        f"{fit['record'][-1]['distance'] / 1000:.2f} km, {len(fit['course_point'])} course points, "
        f"{len(fit_bytes):,} bytes. PDF roadbook: {len(doc)} pages, {len(pdf):,} bytes, made in {pdf_s:.1f} s; its "
        f"text holds the title ({SPEC['title'] in text}), the checkpoint table ({'Points de contrôle' in text}) and "
        f"the attribution ({'OpenStreetMap' in text}).",
        "",
        "Warnings in the response (English):", "", warnings, "",
        "The CSV for the timing company (`/v1/races/<id>.csv?lang=fr`):", "", "```", table.strip(), "```"]
    return lines, {"owner": owner, "race": race, "data": data}


#: Refusals: what each sends, and the field the problem must name.
BAD = [
    ("a checkpoint beyond the finish (km 250 of 207.9)", {"checkpoints": [{"at": 250}]}, None),
    ("cut-offs that go backwards in time", {"checkpoints": [
        {"at": 20, "cutoff": "2027-05-01T12:00:00+02:00"}, {"at": 40, "cutoff": "2027-05-01T11:00:00+02:00"}]}, None),
    ("a POI id farther than 200 m from the course (terril 74)", {"checkpoints": [{"at": "terril-t074"}]}, None),
    ("an upload that is not a course (waypoints only)", {}, b'<?xml version="1.0"?><gpx version="1.1" '
     b'xmlns="http://www.topografix.com/GPX/1/1"><wpt lat="50.43" lon="2.80"/><wpt lat="50.44" lon="2.81"/></gpx>'),
    ("an upload that is not GPX", {}, b"<html>a web page</html>"),
]


def refusals(client, ctx: dict) -> list[str]:
    rows = ["| input | status | field | detail |", "|---|---|---|---|"]
    for what, change, data in BAD:
        resp = _upload(client, ctx["owner"], {**SPEC, **change}, data or ctx["data"])
        body = resp.get_json()
        rows.append(f"| {what} | {resp.status_code} | `{body.get('field')}` | {body.get('detail', '')[:110]} |")
    long = next(w for w in ctx["race"]["warnings"] if w["code"] == "name_truncated")
    rows.append(f"| a FIT name longer than the limit | 201 (kept, cut in FIT files) | `{long['field']}` | "
                f"{long['text']} |")
    return rows


def versions(client, ctx: dict) -> list[str]:
    race = ctx["race"]
    moved = {**SPEC, "checkpoints": [{"at": 60}, *SPEC["checkpoints"][1:]]}
    other = {"Authorization": f"Bearer {client.post('/v1/devices').get_json()['token']}"}
    foreign = _upload(client, other, moved, None, "put", race["links"]["self"])
    second = _upload(client, ctx["owner"], moved, None, "put", race["links"]["self"]).get_json()
    gpx = client.get(race["links"]["gpx"]).get_data(as_text=True)
    fit = decode(client.get(race["links"]["fit"]).get_data())
    says = f'version="{second["version"]}"' in gpx
    return [f"`PUT {race['links']['self']}` by another device's token: {foreign.status_code} "
            f"(`{foreign.get_json()['field']}`); by the owner, the first checkpoint moved to km 60: id "
            f"{'kept' if second['id'] == race['id'] else 'CHANGED'}, revision {second['revision']}, version "
            f"\"{second['version']}\"; its GPX's metadata says that version: {says}; its FIT's file_id number is "
            f"{fit['file_id'][0]['number']}."]


def run(cfg: Settings) -> str:
    from api import create_app

    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp) / "redis") as redis:
        app = create_app({"REDIS_URL": redis.url, "GALIBOT_SETTINGS": dataclasses.replace(
            cfg, export_dir=Path(tmp) / "exports"), **UNLIMITED})
        state = app.extensions["galibot.graph"]
        assert state.wait(600), state.error
        client = app.test_client()
        fit_rows = tpn_fit(client)
        thin_rows = thinning(client)
        upload_lines, ctx = uploaded(client, cfg.data_dir)
        bad_rows = refusals(client, ctx)
        version_lines = versions(client, ctx)
    worst = worst_rows(worst_cases(WORST))
    traced = worst_cases(WORST, trace=True)
    memory = "; ".join(f"{name}: {r.get('traced_mb')} MB" for name, r in traced.items())
    return "\n".join([
        "## Race kit (issue 16)",
        "",
        "Command: `python -m bench.run races` (through the API: Flask's test client on a throwaway Redis; FIT files "
        "decoded by fitdecode, an independent decoder; the writer is Garmin's FIT SDK).",
        "",
        *fit_rows, "",
        "### Thinning the TPN-style race (FIT; the GPX thins the same)", "", *thin_rows, "",
        "### An organiser's own course: the EV5 GPX of 2023-05-24 as a race", "", *upload_lines, "",
        "### Versions", "", *version_lines, "",
        "### Bad input (problem+json)", "", *bad_rows, "",
        "### Worst cases (each in a child process on an empty export store)", "",
        *worst, "",
        "Peak MB is the process's peak RSS above the loaded app's (0 when the request stays under the app's own "
        f"loading peak). What each request allocates at its peak, measured again under tracemalloc: {memory}.",
    ])


if __name__ == "__main__":
    print(run(Settings.from_env()))
