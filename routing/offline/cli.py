"""``galibot offline route|roundtrip``: answer from a downloaded bundle alone, as the app does on a phone."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .client import OfflineClient


def _point(text: str) -> tuple[float, float]:
    try:
        lon, lat = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not lon,lat") from None
    return lon, lat


def cmd_offline(args: argparse.Namespace) -> int:
    """Load the bundle (checking every hash), route, print the summary as JSON, write the GPX if asked."""
    started = time.perf_counter()
    client = OfflineClient(args.bundle)
    loaded = time.perf_counter()
    if args.action == "route":
        route = client.route(args.points, args.profile)
    else:
        route = client.round_trip(args.points[0], args.distance_km * 1000, args.profile, args.seed)
    done = time.perf_counter()
    if args.gpx:
        with open(args.gpx, "w", encoding="utf-8") as fh:
            fh.write(client.to_gpx(route, f"galibot {args.action}"))
    out = {**route.summary(), "load_s": round(loaded - started, 3), "search_s": round(done - loaded, 3)}
    json.dump(out, sys.stdout)
    print()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``galibot offline`` to the command line."""
    p = sub.add_parser("offline", help="route on a downloaded bundle with no server (the reference client)")
    p.add_argument("action", choices=("route", "roundtrip"))
    p.add_argument("points", nargs="+", type=_point, help="lon,lat … (a round trip takes its start only)")
    p.add_argument("--bundle", required=True, help="the bundle directory (manifest.json and its files)")
    p.add_argument("--profile", default="bike")
    p.add_argument("--distance-km", type=float, default=20.0, help="round trip length")
    p.add_argument("--seed", type=int, default=0, help="round trip variant")
    p.add_argument("--gpx", help="write the route as GPX to this file")
    p.set_defaults(func=cmd_offline)
