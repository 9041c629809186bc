"""``galibot bundle``: build the region bundles the offline app downloads (registered as a galibot command)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from routing.cli import settings_from_args
from routing.progress import Reporter

from .bundles import REGIONS, Bundle


def cmd_bundle(args: argparse.Namespace) -> int:
    """Build the requested bundles over the basin's graph, catalogue and circuits, and print their figures."""
    from poi_data import load_catalogue
    from poi_data.circuits import circuits_version, load_or_build_circuits
    from routing.build import load_or_build
    from routing.engine import Engine

    from .bundles import build_region

    started = time.perf_counter()
    cfg = settings_from_args(args)
    rep = Reporter(quiet=args.quiet)
    regions = list(REGIONS) if args.all else (args.region or ["basin"])
    rep.step("loading the basin's graph, engine, POI catalogue and named circuits")
    basin, _, _ = load_or_build(cfg, rep=rep)
    engine = Engine(basin, cfg.cache_dir)
    catalogue = load_catalogue(cfg, basin)
    circuits = load_or_build_circuits(cfg, engine, catalogue, progress=None if args.quiet else rep.step)
    version = circuits_version(engine)
    built = [build_region(cfg, r, basin, catalogue, circuits, version, rep, args.force) for r in regions]
    print(format_bundles(built, time.perf_counter() - started))
    return 0


def cmd_circuits(args: argparse.Namespace) -> int:
    """Route (or load) the named circuits and write them as canonical GeoJSON, to compare builds byte for byte."""
    from poi_data import load_catalogue
    from poi_data.circuits import load_or_build_circuits
    from routing.build import load_or_build
    from routing.engine import Engine
    from routing.io import atomic_write

    from .bundles import circuits_geojson

    cfg = settings_from_args(args)
    rep = Reporter(quiet=args.quiet)
    basin, _, _ = load_or_build(cfg, rep=rep)
    engine = Engine(basin, cfg.cache_dir)
    circuits = load_or_build_circuits(cfg, engine, load_catalogue(cfg, basin),
                                      progress=None if args.quiet else rep.step)
    with atomic_write(args.out) as fh:
        fh.write(circuits_geojson(circuits).encode("utf-8"))
    rep.step(f"{len(circuits)} circuits written to {args.out}")
    return 0


def format_bundles(bundles: list[Bundle], seconds: float) -> str:
    """One line per bundle: region, version, files, size, counts, where it is."""
    lines = [f"{'region':<15}{'version':<22}{'files':>6}{'MB':>8}{'nodes':>10}{'POIs':>7}{'circuits':>9}  built"]
    for b in bundles:
        m = b.manifest
        lines.append(f"{b.region:<15}{m['bundle_version']:<22}{len(m['files']):>6}{m['total_bytes'] / 1e6:>8.2f}"
                     f"{m['counts']['nodes']:>10,}{m['counts']['pois']:>7,}{m['counts']['circuits']:>9}  "
                     f"{'now' if b.built else 'cached'} ({m['build_s']:.1f} s) {b.directory}")
    lines.append(f"time        {seconds:.1f} s")
    return "\n".join(lines)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``galibot bundle`` to the command line."""
    p = sub.add_parser("bundle", help="build the offline region bundles (graph, POIs, circuits, manifest)")
    p.add_argument("--region", action="append", choices=list(REGIONS),
                   help="a region to build (repeatable; default: basin)")
    p.add_argument("--all", action="store_true", help="the basin and every sub-region")
    p.add_argument("--force", action="store_true", help="rebuild although the inputs have not changed")
    p.add_argument("--data-dir", help="data directory (default: $GALIBOT_DATA_DIR or ../shared/data)")
    p.add_argument("--cache-dir", help="where graphs and bundles go (default: $GALIBOT_CACHE_DIR or var/)")
    p.add_argument("--workers", type=int, help="processes decoding tiles (default: $GALIBOT_WORKERS or 2)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_bundle)
    c = sub.add_parser("circuits", help="route the named circuits and write them as canonical GeoJSON")
    c.add_argument("--out", required=True, type=Path, help="the GeoJSON file to write")
    c.add_argument("--data-dir", help="data directory (default: $GALIBOT_DATA_DIR or ../shared/data)")
    c.add_argument("--cache-dir", help="where the graph and the routed circuits are cached (default: var/)")
    c.add_argument("--workers", type=int, help="processes decoding tiles (default: $GALIBOT_WORKERS or 2)")
    c.add_argument("--quiet", action="store_true", help="no progress output")
    c.set_defaults(func=cmd_circuits)
