"""What the API serves: the compiled graph, its engine and the POI catalogue, loaded in the background."""

from __future__ import annotations

import threading

from poi_data import Catalogue, load_catalogue
from poi_data.circuits import circuits_version, load_or_build_circuits
from routing.build import BuildRequest, load_or_build
from routing.compiled import CompiledGraph
from routing.elevation import ElevationModel, load_elevation
from routing.engine import Engine
from routing.settings import Settings


class GraphState:
    """Holds the graph, engine, elevation model and catalogue once ready; until then, views answer 503."""

    def __init__(self, cfg: Settings, request: BuildRequest, graph: CompiledGraph | None = None) -> None:
        self.cfg, self.request = cfg, request
        self.graph = graph
        self.engine: Engine | None = None
        self.catalogue: Catalogue | None = None
        self.circuits: dict | None = None
        self.circuits_version: str | None = None  # in the key of stored circuit results
        self.elevation: ElevationModel | None = None
        self.error: str | None = None
        self.circuits_error: str | None = None
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
        try:
            if self.graph is None:
                self.graph, _, _ = load_or_build(self.cfg, self.request)
            self.engine = Engine(self.graph, self.cfg.cache_dir)
            self.elevation = load_elevation(self.cfg, self.graph)
            self.catalogue = load_catalogue(self.cfg, self.graph)
        except Exception as exc:  # reported by /v1/health, never raised into a request
            self.error = f"{type(exc).__name__}: {exc}"
            return
        try:  # the rest of the API serves while the named circuits are routed
            self.circuits_version = circuits_version(self.engine)
            self.circuits = load_or_build_circuits(self.cfg, self.engine, self.catalogue, progress=None)
        except Exception as exc:  # reported by /v1/circuits
            self.circuits_error = f"{type(exc).__name__}: {exc}"
