"""The compiled graph the API serves, loaded (or built) in the background at start-up."""

from __future__ import annotations

import threading

from routing.build import BuildRequest, load_or_build
from routing.compiled import CompiledGraph
from routing.settings import Settings


class GraphState:
    """Holds the graph once it is ready; until then, views answer 503."""

    def __init__(self, cfg: Settings, request: BuildRequest, graph: CompiledGraph | None = None) -> None:
        self.cfg, self.request = cfg, request
        self.graph = graph
        self.error: str | None = None
        self._thread: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        return self.graph is not None

    def start_loading(self) -> None:
        """Load from the cache, or build, on a daemon thread."""
        if self.graph is None and self._thread is None:
            self._thread = threading.Thread(target=self._load, name="graph-loader", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ready

    def _load(self) -> None:
        try:
            self.graph, _, _ = load_or_build(self.cfg, self.request)
        except Exception as exc:  # reported by /v1/health, never raised into a request
            self.error = f"{type(exc).__name__}: {exc}"
