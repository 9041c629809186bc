"""Snap points to the nearest edge of a compiled graph, with the projected point and distance."""

from __future__ import annotations

import numpy as np
import shapely

from . import geo
from .compiled import CompiledGraph
from .core import Snap

__all__ = ["EdgeSnapper", "Snap", "nearest_node"]


def nearest_node(graph: CompiledGraph, snap: Snap) -> int:
    """The end of a snapped point's edge closer to the projected point (node index)."""
    return int(graph.edge_u[snap.edge] if snap.fraction <= 0.5 else graph.edge_v[snap.edge])


class EdgeSnapper:
    """An R-tree over the edges in Lambert-93, so distances are in metres."""

    def __init__(self, graph: CompiledGraph) -> None:
        x, y = geo.to_metric(graph.geom_lon, graph.geom_lat)
        idx = np.repeat(np.arange(len(graph.edge_u)), np.diff(graph.geom_offsets))
        self.edges_m = shapely.linestrings(np.column_stack([x, y]), indices=idx)
        self.tree = shapely.STRtree(self.edges_m)

    def snap_many(self, lon: np.ndarray, lat: np.ndarray) -> list[Snap]:
        """The nearest edge of each point."""
        x, y = geo.to_metric(np.atleast_1d(lon), np.atleast_1d(lat))
        pts = shapely.points(np.column_stack([x, y]))  # one (n, 2) array: half the time of separate x and y
        p_idx, e_idx = self.tree.query_nearest(pts, all_matches=False)
        order = np.argsort(p_idx)
        p_idx, e_idx = p_idx[order], e_idx[order]
        edges = self.edges_m[e_idx]
        frac = shapely.line_locate_point(edges, pts, normalized=True)
        proj = shapely.line_interpolate_point(edges, frac, normalized=True)
        dist = shapely.distance(pts, proj)
        plon, plat = geo.to_lonlat(shapely.get_x(proj), shapely.get_y(proj))
        return [Snap(*values) for values in zip(e_idx.tolist(), frac.tolist(), dist.tolist(), np.asarray(plon).tolist(),
                                                np.asarray(plat).tolist())]

    def snap(self, lon: float, lat: float) -> Snap:
        return self.snap_many(np.array([lon]), np.array([lat]))[0]
