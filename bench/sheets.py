"""Sheets benchmark (issue 15): every named circuit's PDF in French and English, read back with pdfium; sheet and
picture timings against the GPX export of the same result, in the same run.

Run with ``python -m bench.run sheets``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time

import numpy as np
import pypdfium2 as pdfium
from scipy.spatial import cKDTree

import gpx_exports as gx
from bench.hardening import worst_cases, worst_rows
from gpx_exports.geojson import route_feature
from gpx_exports.sheet import SheetOptions, circuit_sheet, map_picture, sheet_pois
from poi_data import attach_pois, load_catalogue
from poi_data.circuits import load_or_build_circuits
from poi_data.themed import themed_prizes
from presentation import render_result, words
from presentation.basemap import ROUTE_RGB
from routing import landmarks
from routing.build import BuildRequest, load_or_build
from routing.engine import Engine
from routing.planners.themed import plan_prize_circuit
from routing.planners.tour import Stop
from routing.settings import Settings

REPEAT = 5
#: The worst cases of sheets, pictures and themed circuits (their requests are in ``bench.hardening.CASES``).
WORST = ["PDF sheet of the 27-point route (938 km), refused", "PDF sheet of the 5-sites tour (161 km, 9 pages)",
         "PNG map of the 27-point route, 2,000 × 2,000", "themed circuit, 150 km over every theme"]
LINK = "https://galibot.example/v1/results/0123456789abcdef0123456789abcdef.gpx"


def _flat(text: str) -> str:
    return re.sub(r"[\s\u00a0\u202f]+", " ", text)


def _result(route, catalogue, **props) -> dict:
    """A route as the API stores it (language-neutral JSON), with the planner's facts."""
    route = attach_pois(dataclasses.replace(route), catalogue, 150.0)
    return json.loads(json.dumps({"type": "FeatureCollection", "features": [route_feature(route)],
                                  "properties": props}, default=float))


def _circuit_result(c, catalogue) -> dict:
    summary = c.summary(None)
    summary["circuit_kind"] = summary.pop("kind")
    return _result(c.route, catalogue, kind="circuit", **summary)


def _rendered(result: dict, catalogue, lang: str) -> tuple[dict, gx.Course]:
    w = words(lang)
    shown = render_result(result, w, catalogue.find)
    return shown, gx.course_of_result(shown, w)


def route_pixel_shares(sheet, course: gx.Course, *, scale: float = 2.0, tolerance: int = 40) -> tuple[float, float]:
    """Page 1 rendered by pdfium at ``scale``: (the share of route-coloured map pixels within 4 px × scale of the
    projected route, the share of the projected route with route colour within 3 px × scale). Both are near 1
    when the route is drawn where it is; markers over the route take some of the second."""
    placed = next(m for m in sheet.maps if m.page == 0)
    page = pdfium.PdfDocument(sheet.pdf)[0]
    height_pt = page.get_size()[1]
    image = np.asarray(page.render(scale=scale).to_pil().convert("RGB")).astype(int)
    x, y, bw, bh = placed.box
    fx, fy = placed.frame.to_image(course.coordinates()[:, 0], course.coordinates()[:, 1])
    px = (x + fx / placed.frame.width_px * bw) * scale
    py = (height_pt - y - bh + fy / placed.frame.height_px * bh) * scale
    along = np.concatenate([[0], np.cumsum(np.hypot(np.diff(px), np.diff(py)))])
    at = np.arange(0, along[-1], 1.0)  # one sample per pixel of line: each stretch counts by its length
    line = np.column_stack([np.interp(at, along, px), np.interp(at, along, py)])
    x0, y0 = int(x * scale), int((height_pt - y - bh) * scale)
    box = image[y0:int((height_pt - y) * scale), x0:int((x + bw) * scale)]
    rows, cols = np.nonzero(np.all(np.abs(box - np.array(ROUTE_RGB)) <= tolerance, axis=2))
    if not len(rows):
        return 0.0, 0.0
    pixels = np.column_stack([cols + x0, rows + y0])
    on = float(np.mean(cKDTree(line).query(pixels)[0] <= 4 * scale))
    drawn = float(np.mean(cKDTree(pixels).query(line)[0] <= 3 * scale))
    return on, drawn


def _checks(result: dict, course: gx.Course, sheet, lang: str) -> dict:
    doc = pdfium.PdfDocument(sheet.pdf)
    text = _flat(" ".join(doc[i].get_textpage().get_text_range() for i in range(len(doc))))
    w = words(lang)
    props = result["features"][0]["properties"]
    names = [p["name"] for p in sheet_pois(props["pois"])]
    at, found = text.find(w.table["sheet"]["pois"]), 0
    for name in names:
        i = text.find(_flat(name), at)
        found += i >= 0
        at = i + len(name) if i >= 0 else at
    on, drawn = route_pixel_shares(sheet, course)
    return {"pages": len(doc), "title": _flat(result["properties"]["name"]) in text,
            "distance": _flat(w.km(props["distance_m"])) in text, "ascent": _flat(w.metres(props["ascent_m"])) in text,
            "pois": f"{found}/{len(names)}", "attribution": "© OpenStreetMap contributors" in text,
            "on": on, "drawn": drawn}


def _themed(engine: Engine, catalogue) -> tuple[dict, list[str]]:
    """The themed circuit of the issue's figures, as a stored result, and its rows against the greedy baseline."""
    louvre = catalogue.get("louvre-lens")
    start = Stop(louvre["lon"], louvre["lat"], louvre["id"], louvre["name"])
    t = time.perf_counter()
    c = plan_prize_circuit(engine, start, themed_prizes(catalogue, ["memory"]), 25_000, "bike")
    took = time.perf_counter() - t
    visited = ", ".join(f"{p.stop.name} ({p.value})" for p in c.visited)
    rows = [f"| CP-SAT prize-collecting circuit | {c.route.distance_m / 1000:.2f} | {len(c.visited)}: {visited} | "
            f"{c.value} | {took:.1f} s |",
            f"| greedy baseline | {c.greedy_m / 1000:.2f} | | {c.greedy_value} | |"]
    stops = [{**p.stop.as_dict(), "km": km, "value": p.value} for p, km in zip(c.visited, c.visited_km)]
    return _result(c.route, catalogue, kind="circuit", circuit_kind="themed", themes=["memory"], stops=stops), rows


def _timed(fn, repeat: int = REPEAT) -> tuple[float, float, object]:
    """(p50, max) wall seconds of ``fn`` and its last result."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), float(max(times)), out


def run(cfg: Settings) -> str:
    graph, _, _ = load_or_build(cfg, BuildRequest())
    engine = Engine(graph, cfg.cache_dir)
    catalogue = load_catalogue(cfg, graph)
    circuits = load_or_build_circuits(cfg, engine, catalogue)
    opts = SheetOptions(cfg.tiles_dir, LINK, graph=graph)
    themed, themed_rows = _themed(engine, catalogue)
    rows = []
    for cid, result in [*((cid, _circuit_result(c, catalogue)) for cid, c in circuits.items()),
                        ("themed: memory, 25 km by bike from the Louvre-Lens", themed)]:
        for lang in ("fr", "en"):
            shown, course = _rendered(result, catalogue, lang)
            sheet = circuit_sheet(shown, course, words(lang), opts)
            k = _checks(shown, course, sheet, lang)
            rows.append(f"| {cid} | {lang} | {k['pages']} | {k['title']} | {k['distance']} | {k['ascent']} | "
                        f"{k['pois']} | {k['attribution']} | {k['on']:.1%} | {k['drawn']:.1%} |")
    places = landmarks.locate(cfg, graph, ("louvre_lens", "t074_summit"))
    five = circuits["cinq-grands-sites"]
    short = engine.route([places["louvre_lens"], places["t074_summit"]], "walk")[0]  # a walk offices print
    cases = {"TPN-style sheet (110 km, 20 terrils)": _circuit_result(circuits["trail-pyramides-noires-inspire"],
                                                                         catalogue),
             "5-sites tour sheet": _circuit_result(five, catalogue),
             f"{short.distance_m / 1000:.1f} km route sheet": _result(short, catalogue)}
    timing = []
    for name, result in cases.items():
        shown, course = _rendered(result, catalogue, "fr")
        gpx_p50, _, _ = _timed(lambda c=course: gx.to_gpx(c, wording=words("fr")))
        p50, worst, sheet = _timed(lambda s=shown, c=course: circuit_sheet(s, c, words("fr"), opts))
        timing.append(f"| {name} | {sheet.pages} | {len(sheet.pdf) / 1e6:.2f} MB | {p50:.2f} s | {worst:.2f} s | "
                      f"{gpx_p50 * 1000:.0f} ms | {p50 / gpx_p50:.0f}× |")
    shown, course = _rendered(cases["5-sites tour sheet"], catalogue, "fr")
    gpx_p50, _, _ = _timed(lambda: gx.to_gpx(course, wording=words("fr")))
    p50, worst, png = _timed(lambda: map_picture(shown, course, words("fr"), cfg.tiles_dir, width_px=1200,
                                                 height_px=900, graph=graph))
    timing.append(f"| PNG map 1200 × 900 (5 sites) | – | {len(png) / 1e6:.2f} MB | {p50:.2f} s | {worst:.2f} s | "
                  f"{gpx_p50 * 1000:.0f} ms | {p50 / gpx_p50:.0f}× |")
    worst = worst_rows(worst_cases(WORST))
    return "\n".join([
        "## Sheets and pictures (issue 15)",
        "",
        "Worst cases of the new requests, each in a child process of its own on an empty export store "
        "(`bench.hardening.worst_cases`, as the hardening section measures the others):",
        "",
        *worst,
        "",
        "The themed circuit (`POST /v1/circuits` with `memory`, 25 km by bike from the Louvre-Lens), against the "
        "greedy baseline (insert the POI of most value per metre added while the circuit fits) on the same "
        "candidates and legs, in the same run. Values: key place 3, described by a seed 2, other 1.",
        "",
        "| planner | km (budget 25) | POIs visited | value | time |",
        "|---|---|---|---|---|",
        *themed_rows,
        "",
        "Every named circuit's PDF sheet, French and English, read back with pdfium (pypdfium2), an implementation "
        "other than reportlab's: the page count; whether the extracted text holds the title, the distance and D+ "
        "exactly as the JSON formats them, every printed POI name in order, and the OSM attribution; on page 1 "
        "rendered at 2×, the share of route-coloured pixels that lie within 8 px of the projected route, and the "
        "share of the projected route with route colour within 6 px (markers cover the rest; "
        "`bench.sheets.route_pixel_shares`, which the tests use too).",
        "",
        "| circuit | lang | pages | title | distance | D+ | POIs in order | attribution | colour on route | "
        "route drawn |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Timings, p50 and max of {REPEAT} runs in one process (the first reads the tiles; the others find them in "
        "its tile cache, as a worker does), against writing the same course's GPX in the same run. The API keeps "
        "each sheet in the export store, so a sheet is made once per result, language and options.",
        "",
        "| what | pages | size | p50 | max | GPX p50 | ratio |",
        "|---|---|---|---|---|---|---|",
        *timing,
    ])

