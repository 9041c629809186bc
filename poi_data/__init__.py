"""The POI catalogue of the Bassin minier: built from the datasets, snapped to the graph, queried by the API.

The package's names load on first use (PEP 562): ``poi_data.labels``, which the presentation layer and the
offline client read, must not pull the catalogue's build stack (numpy, shapely) in with it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from routing.compiled import CompiledGraph
    from routing.route import Route
    from routing.settings import Settings

    from .catalogue import Catalogue

__all__ = ["Catalogue", "Hit", "attach_pois", "load_catalogue", "normalise", "THEMES", "BadBBox", "POIQueryError",
           "RadiusTooLarge", "UnknownPOI", "UnknownTheme"]

_LAZY = {"Catalogue": "catalogue", "Hit": "catalogue", "normalise": "catalogue", "THEMES": "schemas",
         "BadBBox": "errors", "POIQueryError": "errors", "RadiusTooLarge": "errors", "UnknownPOI": "errors",
         "UnknownTheme": "errors", "versions": "versions"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = import_module(f".{_LAZY[name]}", __name__)
        return module if name == _LAZY[name] else getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_catalogue(cfg: Settings, graph: CompiledGraph) -> Catalogue:
    """The catalogue for this graph, from the cache under ``cfg.cache_dir`` or built now."""
    from .build import load_or_build_records
    from .catalogue import Catalogue

    records, report, _ = load_or_build_records(cfg, graph)
    return Catalogue(records, report)


def attach_pois(route: Route, catalogue: Catalogue, corridor_m: float = 150.0) -> Route:
    """Fill ``route.pois`` with the places within ``corridor_m`` of it, in the order they come.

    The records are language-neutral (the catalogue's name, no description): the presentation layer words
    them for the reader, from the catalogue, by id.
    """
    route.pois = [
        {"id": h.poi["id"], "name": h.poi["name"], "themes": h.poi["themes"], "lon": h.poi["lon"],
         "lat": h.poi["lat"], "distance_m": h.distance_m, "along_m": h.along_m, "key": h.poi["key"]}
        for h in catalogue.along(route.coordinates, corridor_m)
    ]
    return route
