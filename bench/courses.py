"""Course-file completeness (issue 13): every part of every file has its start, its finish and its stops.

Random routes between catalogue POIs, random tours of key places (some cut into days near lodging) and
point-to-point race files are asked of the real API (Flask's test client, a real Redis) on the whole basin,
exported as GPX, and every part is checked. The draws come from a fixed seed, so a rerun asks the same.

    python -m bench.courses [--routes 200 --tours 20 --races 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import gpxpy
import numpy as np

from api import create_app
from api.redis_server import EmbeddedRedis
from poi_data import load_catalogue
from routing.build import BuildRequest, load_or_build
from routing.settings import Settings

SEED = 13
START_TIME = datetime(2027, 3, 6, 8, 0, tzinfo=UTC).isoformat()


@dataclass
class Tally:
    """What the files held, part by part."""

    files: int = 0
    missing: list[str] = field(default_factory=list)

    def check(self, what: str, gpx: gpxpy.gpx.GPX, stops: int = 0, lodging: int | None = None) -> None:
        """Count one file; ``stops`` and ``lodging`` are what the whole file must hold."""
        self.files += 1
        kinds = [w.type for w in gpx.waypoints]
        if "start" not in kinds:
            self.missing.append(f"{what}: no start")
        if "finish" not in kinds and not any(w.name.startswith("Start / Finish") for w in gpx.waypoints):
            self.missing.append(f"{what}: no finish")
        if kinds.count("stop") < stops:
            self.missing.append(f"{what}: {kinds.count('stop')} of {stops} stops")
        if lodging is not None and kinds.count("lodging") != lodging:
            self.missing.append(f"{what}: {kinds.count('lodging')} lodging waypoints, {lodging} expected")


def _gpx(client, path: str, body: dict | None = None) -> gpxpy.gpx.GPX:
    resp = client.post(path, json=body) if body is not None else client.get(path)
    if resp.status_code != 200:
        raise RuntimeError(f"{path} {body}: {resp.status_code} {resp.get_data(as_text=True)[:300]}")
    return gpxpy.parse(resp.get_data(as_text=True))


def run(routes: int, tours: int, races: int) -> dict:
    cfg = Settings.from_env()
    graph, _, _ = load_or_build(cfg, BuildRequest())
    catalogue = load_catalogue(cfg, graph)
    rng = np.random.default_rng(SEED)
    key = [p["id"] for p in catalogue.pois if p.get("key")]
    some = [p["id"] for p in catalogue.pois if set(p["themes"]) & {"museums", "great_mining_sites", "unesco"}]
    tally = {"routes": Tally(), "tours": Tally(), "stages": Tally(), "races": Tally()}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp) / "redis") as redis:
        cfg = Settings(data_dir=cfg.data_dir, cache_dir=cfg.cache_dir, workers=cfg.workers,
                       export_dir=Path(tmp) / "exports")
        app = create_app({"REDIS_URL": redis.url, "GALIBOT_SETTINGS": cfg, "GALIBOT_GRAPH": graph,
                          "RATELIMIT_ENABLED": False})
        assert app.extensions["galibot.graph"].wait(600)
        client = app.test_client()
        for i in range(routes):
            a, b = rng.choice(some, 2, replace=False)
            body = {"points": [str(a), str(b)], "profile": ["bike", "walk", "road_bike", "trail", "mtb"][i % 5]}
            tally["routes"].check(f"route {a} → {b}", _gpx(client, "/v1/routes?format=gpx", body))
        for i in range(tours):
            start, *stops = (str(s) for s in rng.choice(key, 4, replace=False))
            end = stops.pop() if i % 2 else None
            body = {"start": start, "stops": stops, "profile": "bike", "return_to_start": end is None, "end": end}
            if i % 4 == 0:
                body["daily_km"] = 25
            result = client.post("/v1/tours", json=body).get_json()
            nights = sum(1 for s in result["properties"].get("stages", []) if s["lodging"])
            days = len(result["properties"].get("stages", [])) or 1
            whole = _gpx(client, result["links"]["gpx"])
            tally["tours"].check(f"tour {body}", whole, stops=len(stops), lodging=nights)
            for day in range(1, days + 1) if days > 1 else ():
                stage = result["properties"]["stages"][day - 1]
                tally["stages"].check(f"tour {body} day {day}", _gpx(client, f"{result['links']['gpx']}?part={day}"),
                                      lodging=1 if stage["lodging"] else 0)
        for i in range(races):
            start, finish = (str(s) for s in rng.choice(key, 2, replace=False))
            body = {"start": start, "finish": finish, "distance_km": 30 + 5 * i, "terrils": 3}
            resp = client.post("/v1/trails?format=gpx&race=true&start_time=" + START_TIME.replace("+", "%2B"),
                               json=body)
            if resp.status_code != 200:
                tally["races"].missing.append(f"race {body}: {resp.status_code} {resp.get_json().get('detail')}")
                continue
            gpx = gpxpy.parse(resp.get_data(as_text=True))
            tally["races"].check(f"race {body}", gpx)
            if not any("cut-off" in (w.comment or "") for w in gpx.waypoints if w.type == "finish"):
                tally["races"].missing.append(f"race {body}: the finish has no cut-off")
    return {"tally": tally, "seconds": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=200)
    parser.add_argument("--tours", type=int, default=20)
    parser.add_argument("--races", type=int, default=5)
    args = parser.parse_args(argv)
    out = run(args.routes, args.tours, args.races)
    bad = 0
    for name, t in out["tally"].items():
        print(f"{name:7s} {t.files:4d} files, {len(t.missing)} missing items")
        for m in t.missing[:10]:
            print("   ", m)
        bad += len(t.missing)
    print(f"{out['seconds']:.0f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())


def poi_names(cfg: Settings) -> dict:
    """How many POIs still carry a bare OSM class as their name, how many are labelled, how many were merged."""
    graph, _, _ = load_or_build(cfg, BuildRequest())
    catalogue = load_catalogue(cfg, graph)
    raw = {(p["properties"].get("subclass") or "").replace("_", " ") for p in catalogue.pois} - {""}
    return {"pois": len(catalogue), "bare_class": sum(p["name"] in raw for p in catalogue.pois),
            "unnamed_labelled": sum(bool(p["properties"].get("unnamed")) for p in catalogue.pois),
            "merged": catalogue.report.get("merged", {})}


def section(cfg: Settings) -> str:
    """The "Correct results" section of BENCHMARKS.md: course files, ascent references, POI names."""
    from bench import ascent

    out = run(200, 20, 5)
    names = poi_names(cfg)
    rows = [f"| {name} | {t.files} | {len(t.missing)} |" for name, t in out["tally"].items()]
    merged = ", ".join(f"{k} {v}" for k, v in sorted(names["merged"].items()))
    return "\n".join([
        "## Correct results (issue 13)",
        "",
        "Every GPX file asked of the API (`python -m bench.courses`, seed 13): random routes between museums, great "
        "sites and UNESCO elements over the 5 profiles, tours of key places (one in four cut into 25 km days, each "
        "day's file fetched with `part=N`) and point-to-point race files. A file misses an item when it has no "
        "start, no finish, fewer stop waypoints than stops, or not the one lodging of its day.",
        "",
        "| files | asked | items missing |",
        "|---|---|---|",
        *rows,
        "",
        "Ascent against references (`python -m bench.ascent`):",
        "",
        ascent.run(),
        "",
        f"POI names: {names['pois']:,} POIs; {names['bare_class']} named after a bare OSM class; "
        f"{names['unnamed_labelled']} unnamed POIs labelled in fr/en/nl/de; "
        f"{sum(names['merged'].values())} near-duplicate records merged ({merged}).",
    ])
