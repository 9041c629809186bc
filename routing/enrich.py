"""Tag edges with what the tiles lost: cavaliers, EuroVelo 5 membership and UNESCO elements.

Edges and reference lines are compared in a metric CRS. An edge matches a set of lines when most
of its length lies within a few metres of them; short edges must also run *along* the line, so a
street that merely crosses a greenway is not taken for it.
"""

from __future__ import annotations

import re

import numpy as np
import shapely

from . import settings


def sample_points(edges_m: np.ndarray, step_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step_m`` along each metric edge line, and the edge each one belongs to."""
    coords, edge_of = shapely.get_coordinates(shapely.segmentize(edges_m, step_m), return_index=True)
    return coords, edge_of


def near_share(edges_m: np.ndarray, targets: list, max_dist_m: float, step_m: float) -> np.ndarray:
    """Share of each edge's sample points that lie within ``max_dist_m`` of any target geometry."""
    share = np.zeros(len(edges_m))
    if not len(targets) or not len(edges_m):
        return share
    coords, edge_of = sample_points(edges_m, step_m)
    tree = shapely.STRtree(targets)
    pt_idx, _ = tree.query(shapely.points(coords), predicate="dwithin", distance=max_dist_m)
    hit = np.zeros(len(coords), dtype=bool)
    hit[pt_idx] = True
    total = np.bincount(edge_of, minlength=len(edges_m))
    return np.bincount(edge_of, weights=hit, minlength=len(edges_m)) / np.maximum(total, 1)


def alignment(edges_m: np.ndarray, lines: list, candidates: np.ndarray, max_dist_m: float) -> np.ndarray:
    """How much each candidate edge runs along its nearest line: 1 parallel, 0 across."""
    out = np.zeros(len(edges_m))
    if not len(candidates):
        return out
    tree = shapely.STRtree(lines)
    e_idx, l_idx = tree.query_nearest(edges_m[candidates], max_distance=max_dist_m, all_matches=False)
    edges = edges_m[candidates][e_idx]
    near = np.asarray(lines, dtype=object)[l_idx]
    start, end = shapely.get_point(edges, 0), shapely.get_point(edges, -1)
    along = np.abs(shapely.line_locate_point(near, end) - shapely.line_locate_point(near, start))
    chord = np.maximum(shapely.distance(start, end), 1e-6)
    out[candidates[e_idx]] = np.minimum(along / chord, 1.0)
    return out


def match_lines(edges_m: np.ndarray, lengths: np.ndarray, lines: list, max_dist_m: float,
                min_share: float, min_alignment: float) -> np.ndarray:
    """Edges that follow ``lines`` (LineStrings): mostly near them and, if short, along them."""
    lines = [g for line in lines for g in shapely.get_parts(line) if not g.is_empty]
    share = near_share(edges_m, lines, max_dist_m, settings.MATCH_SAMPLE_M)
    matched = share >= min_share
    short = np.flatnonzero(matched & (lengths < 4 * max_dist_m))
    along = alignment(edges_m, lines, short, max_dist_m)
    matched[short] &= along[short] >= min_alignment
    return matched


def cavalier_flags(edges_m: np.ndarray, lengths: np.ndarray, classes: np.ndarray, names: np.ndarray,
                   railway_lines: list, unesco_strips: list) -> np.ndarray:
    """Edges on an old mining railway: on the MBM lines or UNESCO cavalier strips, or so named."""
    p = settings.CAVALIER_MATCH
    eligible = np.isin(classes, list(settings.CAVALIER_CLASSES))
    spatial = match_lines(edges_m, lengths, railway_lines, p["max_dist_m"], p["min_share"], p["min_alignment"])
    in_strip = near_share(edges_m, unesco_strips, 2.0, settings.MATCH_SAMPLE_M) >= p["min_share"]
    pattern = re.compile(settings.CAVALIER_NAME_PATTERN, re.IGNORECASE)
    by_name = np.array([bool(n) and bool(pattern.search(n)) for n in names], dtype=bool)
    by_name &= np.isin(classes, list(settings.CAVALIER_NAME_CLASSES))
    return (eligible & (spatial | in_strip)) | by_name


def ev5_flags(edges_m: np.ndarray, lengths: np.ndarray, ev5_lines: list) -> np.ndarray:
    """Edges of the EuroVelo 5 relation, map-matched to its GPX geometry."""
    p = settings.EV5_MATCH
    return match_lines(edges_m, lengths, ev5_lines, p["max_dist_m"], p["min_share"], p["min_alignment"])


def nearest_polygon(edges_m: np.ndarray, polygons: list, max_dist_m: float) -> np.ndarray:
    """Index of the polygon each edge crosses or borders (within ``max_dist_m``), or -1."""
    out = np.full(len(edges_m), -1, dtype=np.int32)
    if polygons and len(edges_m):
        e_idx, p_idx = shapely.STRtree(polygons).query_nearest(edges_m, max_distance=max_dist_m, all_matches=False)
        out[e_idx] = p_idx
    return out
