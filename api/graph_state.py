"""What the API serves: the compiled graph, its engine and the POI catalogue, loaded in the background."""

from __future__ import annotations

import threading

from gpx_exports.bundles import Bundle, build_region
from poi_data import Catalogue, load_catalogue, versions
from poi_data.build import catalogue_version
from poi_data.circuits import circuits_version, load_or_build_circuits
from routing.build import BuildRequest, load_or_build
from routing.compiled import CompiledGraph
from routing.elevation import ElevationModel, load_elevation
from routing.engine import Engine
from routing.settings import DATA_BBOX, Settings


class GraphState:
    """Holds the graph, engine, elevation model and catalogue once ready; until then, views answer 503."""

    def __init__(self, cfg: Settings, request: BuildRequest, graph: CompiledGraph | None = None, *,
                 gate: threading.Event | None = None) -> None:
        self.cfg, self.request = cfg, request
        self.gate = gate  # the loader starts once it is set (tests hold it to see the loading state)
        self.graph = graph
        self.engine: Engine | None = None
        self.catalogue: Catalogue | None = None
        self.circuits: dict | None = None
        self.circuits_version: str | None = None  # in the key of stored circuit results
        self.elevation: ElevationModel | None = None
        self.poi_version: str | None = None  # the catalogue version deltas are computed to
        self.poi_fingerprints: dict[str, str] = {}
        self.bundle: Bundle | None = None
        self.error: str | None = None
        self.circuits_error: str | None = None
        self.bundle_error: str | None = None
        self._thread: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        return self.catalogue is not None

    def start_loading(self) -> None:
        """Load (or build) everything on a daemon thread."""
        if self._thread is None and not self.ready:
            self._thread = threading.Thread(target=self._load, name="graph-loader", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the loader (circuits included); True once the graph, engine and catalogue are ready."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ready

    def _load(self) -> None:
        if self.gate is not None:
            self.gate.wait()
        try:
            if self.graph is None:
                self.graph, _, _ = load_or_build(self.cfg, self.request)
            self.engine = Engine(self.graph, self.cfg.cache_dir)
            self.engine.warm()  # before gunicorn or RQ forks: every worker and work horse shares the profiles
            self.elevation = load_elevation(self.cfg, self.graph)
            catalogue = load_catalogue(self.cfg, self.graph)
            self.poi_version, self.poi_fingerprints = catalogue_version(self.graph), versions.fingerprints(catalogue)
            versions.remember(self.cfg, self.poi_version, self.graph.data_version, self.poi_fingerprints)
            self.catalogue = catalogue  # last: it marks the state ready
        except Exception as exc:  # reported by /v1/health, never raised into a request
            self.error = f"{type(exc).__name__}: {exc}"
            return
        try:  # the rest of the API serves while the named circuits are routed
            self.circuits_version = circuits_version(self.engine)
            self.circuits = load_or_build_circuits(self.cfg, self.engine, self.catalogue, progress=None)
        except Exception as exc:  # reported by /v1/circuits
            self.circuits_error = f"{type(exc).__name__}: {exc}"
            return
        self._ensure_basin_bundle()

    def _ensure_basin_bundle(self) -> None:
        """Serving the whole basin, make sure its offline bundle matches the data (built once per version)."""
        if tuple(self.request.bbox) != DATA_BBOX or self.request.osm_file is not None:
            return
        try:
            self.bundle = build_region(self.cfg, "basin", self.graph, self.catalogue, self.circuits,
                                       self.circuits_version)
        except Exception as exc:  # reported by /v1/health; the other bundles and the API serve on
            self.bundle_error = f"{type(exc).__name__}: {exc}"
