"""Operations on paths as arc pieces that need the compiled graph: length and reuse (the rest is in the core)."""

from __future__ import annotations

import numpy as np

from ..compiled import CompiledGraph
from ..core import Piece, cancel_spurs, count_spurs, pieces_length_m

__all__ = ["cancel_spurs", "count_spurs", "length_m", "reused_share", "ways_of"]


def length_m(graph: CompiledGraph, pieces: list[Piece]) -> float:
    return pieces_length_m(graph.edge_length, pieces)


def reused_share(graph: CompiledGraph, pieces: list[Piece]) -> float:
    """Share of the length that runs over a way the path has already used (in either direction)."""
    seen: set[int] = set()
    reused = total = 0.0
    for p in pieces:
        m = float(graph.edge_length[p.arc >> 1] * (p.hi - p.lo))
        total += m
        if p.arc >> 1 in seen:
            reused += m
        seen.add(p.arc >> 1)
    return reused / total if total else 0.0


def ways_of(pieces: list[Piece]) -> np.ndarray:
    """Both arcs of every way a path uses."""
    ways = np.unique([p.arc >> 1 for p in pieces])
    return np.concatenate([2 * ways, 2 * ways + 1])
