"""GPX benchmark (issue 6): export and analysis of the TPN-style course, and the EV5 Waymarked Trails files."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from pathlib import Path

import gpxpy
import numpy as np
from lxml import etree

import gpx_exports as gx
from poi_data import attach_pois, load_catalogue
from poi_data.circuits import load_or_build_circuits
from routing.build import BuildRequest, load_or_build
from routing.elevation import load_elevation
from routing.engine import Engine
from routing.planners.trail import SUMMIT_SNAP_M
from routing.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
XSD = ROOT / "tests" / "data" / "gpx-1.1.xsd"
REPEAT = 5
EV5_FILES = ("ev5-relation5245117-wmt-2022-01-23.gpx", "ev5-relation5245117-wmt-2023-05-24.gpx")
ALL_OPTIONS = gx.GPXOptions(route=True, km_markers=1, timestamps=True, max_points=1000)


def _p50(fn, repeat: int = REPEAT) -> tuple[float, object]:
    """Median wall time (ms) of ``fn`` and its last result."""
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times)), out


def _tpn_course(circuits, catalogue) -> gx.Course:
    c = circuits["trail-pyramides-noires-inspire"]
    route = attach_pois(dataclasses.replace(c.route), catalogue, 150.0)
    return gx.course(route, "circuit", c.summary()["name"], c.summary()["description"], loop=True,
                     summits=c.summits)


def export_rows(course: gx.Course, schema: etree.XMLSchema) -> tuple[list[str], str]:
    spec = gx.RaceSpec(start_time=datetime(2027, 3, 6, 6, 0, tzinfo=UTC), version="bench")
    plain_ms, plain = _p50(lambda: gx.to_gpx(course))
    race_ms, race_xml = _p50(lambda: gx.to_gpx(gx.race_course(course, spec), ALL_OPTIONS))
    base_ms, _ = _p50(lambda: gpxpy.parse(plain).to_xml(version="1.1"))
    reread = gpxpy.parse(plain)
    pts = sum(len(s.points) for t in reread.tracks for s in t.segments)
    race = gpxpy.parse(race_xml)
    summits = [w for w in race.waypoints if w.type == "summit"]
    cps = [w for w in race.waypoints if w.type == "checkpoint"]
    valid = all(schema.validate(etree.fromstring(x.encode())) for x in (plain, race_xml))
    written = len(course.parts[0].coordinates)
    rows = [
        f"| course | {course.name}: {course.distance_m / 1000:.1f} km, +{course.ascent_m:.0f} m, "
        f"{written:,} track points | |",
        f"| export, plain GPX (course → GPX 1.1) p50 | {plain_ms:.0f} ms ({len(plain) / 1e6:.2f} MB) | |",
        f"| export, race file with every option (rte, km markers, time stamps, split at 1,000 points) p50 | "
        f"{race_ms:.0f} ms ({len(race_xml) / 1e6:.2f} MB) | |",
        f"| baseline: gpxpy parsing and re-serialising the same plain file p50 | {base_ms:.0f} ms "
        f"(export / baseline {plain_ms / base_ms:.2f}) | |",
        f"| both files valid against the GPX 1.1 XSD | {valid} | yes |",
        f"| re-read with gpxpy: points written / read | {written:,} / {pts:,} | equal |",
        f"| race file: summit waypoints, in km order / checkpoints | {len(summits)} / {len(cps)} | ≥ 20 / ≥ 1 |",
    ]
    return rows, plain


def analysis_rows(xml: str, course: gx.Course, engine: Engine, elevation, catalogue) -> list[str]:
    data = xml.encode()
    planned = {w.ref.removeprefix("terril-") for w in course.waypoints if w.kind == "summit"}
    read_ms, track = _p50(lambda: gx.read_gpx(data))
    gpxpy_ms, _ = _p50(lambda: gpxpy.parse(xml))
    bare_ms, _ = _p50(lambda: gx.analyse(track, engine, elevation, catalogue, "trail", snap=False), 3)
    full_ms, a = _p50(lambda: gx.analyse(gx.read_gpx(data), engine, elevation, catalogue, "trail"), 3)
    return [
        f"| safe read (defusedxml pass + gpxpy) p50 | {read_ms:.0f} ms (gpxpy alone {gpxpy_ms:.0f} ms, "
        f"ratio {read_ms / gpxpy_ms:.2f}) | |",
        f"| analysis without the snapped track p50 | {bare_ms:.0f} ms | |",
        f"| full analysis (read, match, DEM, terrils, POIs, snapped track) p50 | {full_ms:.0f} ms | |",
        f"| round trip: distance analysed / route | {a.distance_m / 1000:.2f} / {course.distance_m / 1000:.2f} km "
        f"({a.distance_m / course.distance_m - 1:+.3%}) | within 1 % |",
        f"| round trip: ascent analysed / route | {a.ascent_m:.0f} / {course.ascent_m:.0f} m "
        f"({a.ascent_m / course.ascent_m - 1:+.2%}) | within 1 % |",
        f"| matched to the graph / snapped length | {a.matched_share:.2%} / {a.snapped_distance_m / 1000:.2f} km | |",
        f"| planned summits found by the analysis / all summits within {SUMMIT_SNAP_M:.0f} m | "
        f"{len(planned & {t['number'].lower() for t in a.terrils})} of {len(planned)} / {len(a.terrils)} | all |",
    ]


def ev5_rows(cfg: Settings, engine: Engine, elevation, catalogue) -> list[str]:
    rows = ["| file | points / lines | length | inside the data area | matched (inside) | off-graph stretches | "
            "ascent / descent (DEM share) | terrils / POIs passed | time |",
            "|---|---|---|---|---|---|---|---|---|"]
    for name in EV5_FILES:
        data = (cfg.data_dir / "ev5-waymarkedtrails" / name).read_bytes()
        ms, a = _p50(lambda d=data: gx.analyse(gx.read_gpx(d), engine, elevation, catalogue, "bike"), 3)
        off = sum(o["length_m"] for o in a.off_graph)
        rows.append(f"| {name} | {a.points:,} / {a.lines} | {a.distance_m / 1000:.1f} km | "
                    f"{a.inside_share:.1%} ({a.inside_share * a.distance_m / 1000:.1f} km) | "
                    f"**{a.matched_share:.1%}** | {len(a.off_graph)}, {off / 1000:.2f} km | "
                    f"{a.ascent_m:.0f} / {a.descent_m:.0f} m ({a.dem_share:.0%}) | {len(a.terrils)} / {len(a.pois)} | "
                    f"{ms / 1000:.2f} s |")
    return rows


def run(cfg: Settings) -> str:
    graph, _, _ = load_or_build(cfg, BuildRequest())
    engine = Engine(graph, cfg.cache_dir)
    catalogue = load_catalogue(cfg, graph)
    elevation = load_elevation(cfg, graph)
    circuits = load_or_build_circuits(cfg, engine, catalogue, progress=None)
    course = _tpn_course(circuits, catalogue)
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    export, plain = export_rows(course, schema)
    analysis = analysis_rows(plain, course, engine, elevation, catalogue)
    return "\n".join([
        "## GPX exports and analysis (issue 6)",
        "",
        "The TPN-style course is the `trail-pyramides-noires-inspire` circuit (target 110 km, 20 terrils).",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        *export,
        *analysis,
        "",
        "EuroVelo 5 as exported by Waymarked Trails (`../shared/data/ev5-waymarkedtrails/`), analysed with the bike "
        "profile. The tiles cover lon 2.3–3.7, lat 50.25–50.65; the match share is over the part inside that area. "
        "The files carry no elevation; the ascent is on SRTM3, which covers lon ≥ 2 (the DEM share).",
        "",
        *ev5_rows(cfg, engine, elevation, catalogue),
    ])
