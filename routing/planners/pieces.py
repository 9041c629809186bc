"""Operations on paths as arc pieces: spur removal, reuse and length, shared by the loop planners."""

from __future__ import annotations

import numpy as np

from ..compiled import CompiledGraph
from ..route import Piece

EPS = 1e-9


def _merge(a: Piece, b: Piece) -> Piece | None:
    """``a`` followed by ``b`` going back along the same way: what remains of the pair (None: nothing)."""
    back_to = 1.0 - b.hi  # where b stops, in a's frame
    if back_to > a.lo + EPS:
        return Piece(a.arc, a.lo, back_to)
    if back_to < a.lo - EPS:
        return Piece(a.arc ^ 1, 1.0 - a.lo, b.hi)
    return None


def cancel_spurs(pieces: list[Piece]) -> list[Piece]:
    """Remove every out-and-back: a piece followed by the same way travelled back is cut to its net part."""
    out: list[Piece] = []
    for p in pieces:
        if p.hi - p.lo <= EPS:
            continue
        while out and p is not None and out[-1].arc == p.arc ^ 1 and abs((1.0 - out[-1].hi) - p.lo) < 1e-6:
            p = _merge(out.pop(), p)
        if p is not None:
            out.append(p)
    return out


def count_spurs(pieces: list[Piece]) -> int:
    """How many times the path turns back on the way it just came along."""
    return sum(1 for a, b in zip(pieces[:-1], pieces[1:]) if a.arc == b.arc ^ 1)


def length_m(graph: CompiledGraph, pieces: list[Piece]) -> float:
    return float(sum(graph.edge_length[p.arc >> 1] * (p.hi - p.lo) for p in pieces))


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
