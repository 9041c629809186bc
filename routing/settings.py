"""Configuration read once from the environment, and the build's tunable constants.

Every knob lives here, as osmnx keeps its own in ``osmnx.settings``: nothing else in the
package reads ``os.environ`` or hard-codes a threshold.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Bump when the builder's output changes for the same inputs: it is part of the data version.
BUILDER_VERSION = "4"

#: The study area of the shipped data (lon/lat), as SOURCE.md gives it.
DATA_BBOX = (2.3, 50.25, 3.7, 50.65)

#: Named bounding boxes for quick development builds on real data.
NAMED_BBOXES = {
    "basin": DATA_BBOX,
    "lens": (2.74, 50.40, 2.86, 50.47),  # Lens, Liévin, Loos-en-Gohelle, the Louvre-Lens, the 11/19
}

#: OpenMapTiles classes that walkers and cyclists may use (motorway, trunk and rail are dropped).
ROUTABLE_CLASSES = frozenset(
    {"primary", "secondary", "tertiary", "minor", "service", "track", "path", "pedestrian"}
)

#: Attributes kept on every edge from the tiles (the .osm reader adds RICH_OSM_TAGS).
EDGE_ATTRS = ("class", "subclass", "name", "ref", "brunnel", "oneway", "service")
RICH_OSM_TAGS = ("surface", "bicycle", "foot", "access", "tracktype", "smoothness", "sac_scale")

#: Vector tiles: zoom, extent and the snapping grid (1/4 pixel) used to stitch lines across tiles.
TILE_ZOOM = 14
TILE_EXTENT = 4096
STITCH_GRID = 4

#: Metric CRS for matching (Lambert-93, the CRS the MBM data were published in).
METRIC_CRS = "EPSG:2154"

#: Elevation: samples along edges for ascent/descent, and the SRTM void threshold (m).
ELEVATION_SAMPLE_M = 25.0
SRTM_VOID_BELOW_M = -50.0

#: Map-matching of edges to reference lines: max distance (m), share of the edge, alignment.
MATCH_SAMPLE_M = 10.0
#: The EV5 GPX is drawn from the OSM ways themselves, so true matches lie within a metre or two;
#: 5 m keeps the parallel sidewalks (footways 5-10 m off a road's centre line) out.
EV5_MATCH = {"max_dist_m": 5.0, "min_share": 0.6, "min_alignment": 0.7}
#: The MBM railway lines were digitised independently of OSM, hence the wider tolerance.
CAVALIER_MATCH = {"max_dist_m": 15.0, "min_share": 0.5, "min_alignment": 0.7}
#: Classes on which a mining railway can run as a greenway; a primary road on an old track is not one.
CAVALIER_CLASSES = frozenset({"path", "track", "pedestrian", "service", "minor"})
#: Way names that mark an old mining railway on the path/track classes.
CAVALIER_NAME_PATTERN = r"cavalier|chemin de fer|voie ferr[ée]e|voie verte des gueules noires"
CAVALIER_NAME_CLASSES = frozenset({"path", "track", "pedestrian"})
UNESCO_BORDER_M = 10.0

#: Routing: how far a point may lie from the nearest way, and how many points a route may have.
MAX_SNAP_M = 500.0
MAX_ROUTE_POINTS = 27  # start, 25 via points, end
#: Route details: elevation resampling step, smoothing window and the hysteresis of ascent counting.
#: Checked against references (``python -m bench.ascent``, BENCHMARKS.md "Ascent"): terril 74 walked up and down
#: from the Base 11/19 must climb what lies between the walk's low point and the top (119 m on the DEM), and the
#: flat EV5 from Lens to Don must stay under 80 m. Windows from 80 to 120 m all read terril 74 within 3 m: the
#: average does not flatten the terrils. What lost climbing was the counting (see ``climbs_with_hysteresis``).
#: Counting whole turns, a 2 m threshold reads 16 m on 10 km of flat towpath with SRTM-like noise; 3 m reads 0,
#: and still 121 / 120 m on terril 74.
PROFILE_STEP_M = 20.0
SMOOTH_WINDOW_M = 100.0
CLIMB_HYSTERESIS_M = 3.0
#: Alternatives by the penalty method: arc penalty, detour and overlap limits, iterations.
ALT_PENALTY = 1.6
ALT_MAX_DETOUR = 1.4
ALT_MAX_OVERLAP = 0.7
ALT_ITERATIONS = 10
#: Query objects a thread keeps for its next searches (``Engine.query``): 2.5 MB each on the basin, 0.1 ms to make.
QUERIES_PER_THREAD = 2

# -- planners ----------------------------------------------------------------------------------
#: Tours: stops solved to proven optimality up to EXACT_STOPS; at most MAX_TOUR_STOPS; solver work limit (CP-SAT
#: deterministic time).
EXACT_STOPS = 10
MAX_TOUR_STOPS = 40
TOUR_TIME_LIMIT_S = 5.0
#: Stages: how far (m on the graph, one way) a stage may leave the route for its lodging, and how far before
#: and after (shares of a day) its planned end a stage may stop to reach one.
STAGE_MAX_DETOUR_M = 5000.0
STAGE_EARLY_SHARE = 0.35
STAGE_LATE_SHARE = 0.20
#: Round trips: accepted length error, tries per loop, penalty on ways already used, loops at most.
LOOP_TOLERANCE = 0.10
LOOP_TRIES = 8
LOOP_REUSE_PENALTY = 5.0
LOOP_MAX = 3
LOOP_MAX_OVERLAP = 0.5
LOOP_GREEN_FACTOR = 0.5
#: Trail courses: candidate terrils at most, arcs kept per node in the model, solver work limit (CP-SAT
#: deterministic time, about a second on a typical core), length tolerance, and how much of a terril's relief
#: (summit minus rim) the nearest way must reach for the course to count the terril as climbed, and the least
#: relief a terril must have to be counted at all.
TRAIL_CANDIDATES = 70
TRAIL_REACH_SHARE = 0.66  # candidates: summits whose crow-fly distance from start plus to finish is below this share
TRAIL_NEIGHBOURS = 15
TRAIL_TIME_LIMIT_S = 10.0
TRAIL_TOLERANCE = 0.10  # the hard band; the solver aims at the target itself (110 km → 110.0 km)
TRAIL_CLIMB_SHARE = 0.6
#: An API request gets smaller budgets than a named circuit, which is built once and cached: they bound what one
#: request may cost (a tour of 40 stops, a trail of 500 km over 39 terrils: under 10 CPU-seconds each, measured in
#: BENCHMARKS.md, "Hardening"). They are deterministic work too: the same request gives the same course.
TOUR_REQUEST_LIMIT_S = 3.0
TRAIL_REQUEST_LIMIT_S = 2.0
#: A terril of less relief than this (some MBM terrils are 3-5 m heaps, levelled or spread) is no climb to count.
TRAIL_MIN_RELIEF_M = 10.0
#: Isochrones: raster cell (m), default bands, and the longest time asked for (min).
ISO_CELL_M = 100.0
ISO_MAX_MINUTES = 180
#: Isochrones: a band reaches at most this far on the flat (road_bike: 120 min); the cost grows with the area.
ISO_MAX_REACH_KM = 50.0
#: Solvers stop on deterministic work (CP-SAT's deterministic time, loops' fixed number of tries), never on the
#: clock, so a result does not depend on how fast or busy the machine is. The wall clock is only a safety net:
#: SOLVER_SAFETY_NET_FACTOR times a solve's budget (at least SOLVER_SAFETY_NET_MIN_S), and PLANNER_DEADLINE_S for
#: a round trip's tries; a result cut by it says so (``deadline_hit``) and is not cached.
SOLVER_SEED = 20231007
SOLVER_SAFETY_NET_FACTOR = 12.0
SOLVER_SAFETY_NET_MIN_S = 60.0
PLANNER_DEADLINE_S = 120.0

#: The EV5 GPX closest in date to the 2021 tiles.
EV5_GPX = "ev5-waymarkedtrails/ev5-relation5245117-wmt-2022-01-23.gpx"


@dataclass(frozen=True)
class Settings:
    """Run-time configuration: where the data are and where compiled artefacts go."""

    data_dir: Path = field(default_factory=lambda: REPO_ROOT.parent / "shared" / "data")
    cache_dir: Path = field(default_factory=lambda: REPO_ROOT / "var")
    workers: int = 2
    export_dir: Path = field(default_factory=lambda: REPO_ROOT / "var" / "gpx_exports")
    #: The box the served basemap covers (lon/lat); None: the data area. The tests set a small one.
    basemap_bbox: tuple[float, float, float, float] | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read ``GALIBOT_DATA_DIR``, ``GALIBOT_CACHE_DIR``, ``GALIBOT_WORKERS``, ``GALIBOT_EXPORT_DIR`` and
        ``GALIBOT_BASEMAP_BBOX`` (``minlon,minlat,maxlon,maxlat``)."""
        env = os.environ if environ is None else environ
        base = cls()
        box = env.get("GALIBOT_BASEMAP_BBOX")
        return cls(
            basemap_bbox=tuple(float(v) for v in box.split(",")) if box else None,
            data_dir=Path(env.get("GALIBOT_DATA_DIR", base.data_dir)).expanduser().resolve(),
            cache_dir=Path(env.get("GALIBOT_CACHE_DIR", base.cache_dir)).expanduser().resolve(),
            workers=max(1, int(env.get("GALIBOT_WORKERS", base.workers))),
            export_dir=Path(env.get("GALIBOT_EXPORT_DIR", base.export_dir)).expanduser().resolve(),
        )

    @property
    def tiles_dir(self) -> Path:
        return self.data_dir / "osm-npdc-tilemaker-2021" / "tiles"

    @property
    def srtm_dir(self) -> Path:
        return self.data_dir / "srtm3"

    @property
    def mbm_dir(self) -> Path:
        return self.data_dir / "bassin-minier-unesco"

    @property
    def ev5_gpx(self) -> Path:
        return self.data_dir / EV5_GPX
