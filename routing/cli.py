"""The ``galibot`` command line: ``galibot build`` compiles (or loads) the routable graph, ``galibot offline``
routes on a downloaded bundle, and packages above ``routing`` add their own commands (``galibot bundle``)."""

from __future__ import annotations

import argparse
import resource
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

from . import settings
from .errors import GalibotError
from .offline import cli as offline_cli
from .progress import Reporter
from .settings import Settings


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The environment's settings with ``--data-dir``, ``--cache-dir`` and ``--workers`` applied."""
    cfg = Settings.from_env()
    return Settings(
        data_dir=Path(args.data_dir).resolve() if args.data_dir else cfg.data_dir,
        cache_dir=Path(args.cache_dir).resolve() if args.cache_dir else cfg.cache_dir,
        workers=args.workers or cfg.workers,
        export_dir=cfg.export_dir,
        basemap_bbox=cfg.basemap_bbox,
    )


#: Entry-point group of the commands that packages above ``routing`` register (``gpx_exports.cli:register``).
COMMANDS_GROUP = "galibot.commands"


def _peak_mb() -> tuple[float, float]:
    """Peak resident memory (MB) of this process and of its largest worker."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, child


def format_summary(graph, path: Path, built: bool, seconds: float) -> str:
    """The end-of-build report: sizes, km by class, cavaliers, EV5, version, time and memory."""
    stats = graph.meta["stats"]
    own, child = _peak_mb()
    lines = [
        f"graph       {path}",
        f"data        version {graph.data_version} ({graph.meta['request']})",
        f"nodes       {graph.n_nodes:,}",
        f"edges       {graph.n_edges:,} directed ({graph.n_edges // 2:,} ways)",
        f"component   {stats['lcc_share']:.2%} of walk/bike nodes kept in the largest",
        f"km total    {stats['km_total']:,.1f}",
    ]
    lines += [f"  {cls:<10}{km:>10,.1f} km" for cls, km in stats["km_by_class"].items()]
    lines += [
        f"cavaliers   {stats['km_cavalier']:,.1f} km",
        f"EuroVelo 5  {stats['km_ev5']:,.1f} km",
        f"UNESCO      {stats['km_unesco']:,.1f} km crossing or bordering an element",
        f"time        {seconds:.1f} s ({'built' if built else 'loaded from cache'})",
        f"peak memory {own:,.0f} MB (largest worker {child:,.0f} MB)",
    ]
    return "\n".join(lines)


def cmd_build(args: argparse.Namespace) -> int:
    from . import build  # here, not at the top: `galibot offline` must start without numpy and the build stack

    started = time.perf_counter()
    cfg = settings_from_args(args)
    req = build.BuildRequest(
        bbox=build.parse_bbox(args.bbox),
        osm_file=Path(args.osm).resolve() if args.osm else None,
        simplify=not args.no_simplify,
    )
    rep = Reporter(quiet=args.quiet)
    graph, path, built = build.load_or_build(cfg, req, force=args.force, rep=rep)
    print(format_summary(graph, path, built, time.perf_counter() - started))
    return 0


BUILT_IN = ("build", "offline")


def make_parser(plugins: bool = True) -> argparse.ArgumentParser:
    """The parser; ``plugins`` adds the commands registered by the packages above ``routing``."""
    parser = argparse.ArgumentParser(prog="galibot", description="Offline route planning for the Bassin minier.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build (or load from cache) the routable graph and print its figures")
    b.add_argument("--bbox", default="basin",
                   help="minlon,minlat,maxlon,maxlat, or a named area: " + ", ".join(settings.NAMED_BBOXES))
    b.add_argument("--osm", help="build from a .osm or .osm.pbf file instead of the vector tiles")
    b.add_argument("--data-dir", help="data directory (default: $GALIBOT_DATA_DIR or ../shared/data)")
    b.add_argument("--cache-dir", help="where compiled graphs go (default: $GALIBOT_CACHE_DIR or var/)")
    b.add_argument("--workers", type=int, help="processes decoding tiles (default: $GALIBOT_WORKERS or 2)")
    b.add_argument("--force", action="store_true", help="rebuild even if the cache holds this data version")
    b.add_argument("--no-simplify", action="store_true", help="keep a node at every vertex (for osmnx.simplify_graph)")
    b.add_argument("--quiet", action="store_true", help="no progress output")
    b.set_defaults(func=cmd_build)
    offline_cli.register(sub)
    for command in entry_points(group=COMMANDS_GROUP) if plugins else ():  # galibot bundle, from gpx_exports
        command.load()(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand; a GalibotError ends it with one line on stderr and exit status 2."""
    argv = sys.argv[1:] if argv is None else argv
    # a built-in command needs no plugin: loading them would import the server stack into `galibot offline`
    args = make_parser(plugins=not (argv and argv[0] in BUILT_IN)).parse_args(argv)
    try:
        return args.func(args)
    except GalibotError as exc:
        print(f"galibot: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("galibot: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
