"""The network's highlights as GeoJSON for a map: the greenways, the cavaliers and the EuroVelo 5.

The basemap draws every path alike. A planner page highlights what cyclists and runners come to the basin
for, read from the compiled graph: the cavaliers as matched to the Mission Bassin Minier layers, the EV5
as matched to its relation's GPX, and as greenways the named paths and cycleways (the tiles lost their
bicycle tags, so a name such as "Chemin des Galibots" is what is left of a greenway).
"""

from __future__ import annotations

import json

import numpy as np
import shapely

from routing.compiled import CompiledGraph

from .geojson import ATTRIBUTION

#: The highlights a map can ask for.
NETWORK_KINDS = ("greenways", "cavaliers", "ev5")
#: Simplification tolerance in degrees (about 2 m): unseen on a map, a third of the vertices gone.
SIMPLIFY_DEG = 2e-5
#: Coordinates are rounded to this grid (about 1 m).
GRID_DEG = 1e-5
GREENWAY_SUBCLASSES = ("path", "cycleway")


def network_mask(graph: CompiledGraph, kind: str) -> np.ndarray:
    """Which ways of the graph belong to ``kind``; raises KeyError for a kind not in NETWORK_KINDS."""
    if kind == "cavaliers":
        return graph.edge_cavalier.astype(bool)
    if kind == "ev5":
        return graph.edge_ev5.astype(bool)
    if kind == "greenways":
        names = graph.edge_column("name")
        named = np.array([bool(n) for n in names], dtype=bool)
        return (graph.edge_column("class") == "path") & np.isin(graph.edge_column("subclass"),
                                                                 GREENWAY_SUBCLASSES) & named
    raise KeyError(kind)


def _lines(graph: CompiledGraph, edges: np.ndarray) -> np.ndarray:
    """LineStrings of only these edges (building all of the basin's would take a second)."""
    starts, ends = graph.geom_offsets[edges], graph.geom_offsets[edges + 1]
    counts = ends - starts
    first = np.repeat(starts - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    at = first + np.arange(int(counts.sum()))
    coords = np.column_stack([graph.geom_lon[at], graph.geom_lat[at]])
    return shapely.linestrings(coords, indices=np.repeat(np.arange(len(edges)), counts))


def network_geojson(graph: CompiledGraph, kind: str) -> dict:
    """One Feature per kind: the ways merged into as few lines as they make, simplified, with their length.

    Returns a FeatureCollection with the attribution; raises KeyError for an unknown kind.
    """
    mask = network_mask(graph, kind)
    lines = _lines(graph, np.flatnonzero(mask))
    merged = shapely.line_merge(shapely.multilinestrings(lines)) if len(lines) else shapely.MultiLineString()
    drawn = shapely.set_precision(shapely.simplify(merged, SIMPLIFY_DEG), GRID_DEG)
    geometry = json.loads(shapely.to_geojson(drawn))
    if geometry["type"] == "LineString":
        geometry = {"type": "MultiLineString", "coordinates": [geometry["coordinates"]]}
    km = round(float(graph.edge_length[mask].sum()) / 1000, 1)
    feature = {"type": "Feature", "geometry": geometry, "properties": {"kind": kind, "km": km}}
    return {"type": "FeatureCollection", "features": [feature], "attribution": ATTRIBUTION,
            "data_version": graph.data_version}
