"""``galibot offline route|roundtrip``: answer from a downloaded bundle alone, as the app does on a phone.

The route comes out as the app shows it: the summary, the turn-by-turn instructions worded by the
shared presentation layer in the reader's language (``--lang``), the POIs along the way; ``--gpx``
writes the track with its start, finish and POIs as waypoints.
"""

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
    """Load the bundle (installing it on first use), route, print the result as JSON, write the GPX if asked."""
    from presentation.instructions import worded  # the presentation layer, light: no numpy, no Flask
    from presentation.words import words

    w = words(args.lang)
    started = time.perf_counter()
    client = OfflineClient(args.bundle)
    loaded = time.perf_counter()
    if args.action == "route":
        route = client.route(args.points, args.profile)
    else:
        route = client.round_trip(args.points[0], args.distance_km * 1000, args.profile, args.seed)
    done = time.perf_counter()
    client.attach_pois(route)
    if args.gpx:
        with open(args.gpx, "w", encoding="utf-8") as fh:
            fh.write(client.to_gpx(route, f"galibot {args.action}"))
    out = {**route.summary(), "load_s": round(loaded - started, 3), "search_s": round(done - loaded, 3),
           "instructions": [{"type": m["type"], "text": m["text"], "distance_m": m["distance_m"]}
                            for m in worded(route.instructions, w)],
           "pois": [{"id": p["id"], "name": p["name"], "along_m": p["along_m"]} for p in route.pois]}
    json.dump(out, sys.stdout, ensure_ascii=False)
    print()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``galibot offline`` to the command line."""
    from presentation.words import LANGUAGES

    p = sub.add_parser("offline", help="route on a downloaded bundle with no server (the reference client)")
    p.add_argument("action", choices=("route", "roundtrip"))
    p.add_argument("points", nargs="+", type=_point, help="lon,lat … (a round trip takes its start only)")
    p.add_argument("--bundle", required=True, help="the bundle directory (manifest.json and its files)")
    p.add_argument("--profile", default="bike")
    p.add_argument("--lang", default="fr", choices=LANGUAGES, help="the language of the instructions")
    p.add_argument("--distance-km", type=float, default=20.0, help="round trip length")
    p.add_argument("--seed", type=int, default=0, help="round trip variant")
    p.add_argument("--gpx", help="write the route as GPX to this file")
    p.set_defaults(func=cmd_offline)
