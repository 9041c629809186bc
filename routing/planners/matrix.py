"""Cost matrices between snapped points, from the engine's CCH in one sweep per source."""

from __future__ import annotations

import numpy as np
import routingkit_cch as rk

from ..core import Snap, direct_leg, seeds
from ..engine import Engine, ThreadBound
from ..profiles import INF_WEIGHT

#: Marks an unreachable pair in a matrix.
UNREACHABLE = np.iinfo(np.int64).max // 4


def cost_matrix(engine: Engine, snaps: list[Snap], profile: str, metric: rk.CCHMetric | None = None,
                cost: np.ndarray | None = None) -> np.ndarray:
    """Least cost (ms) from every snapped point to every other; ``UNREACHABLE`` where no path exists.

    Targets lie on edges, so both ends of each target's edge are pinned and the partial edge
    cost is added; a pair on one edge also considers the direct piece, as ``Engine.leg`` does.
    """
    cost = engine.weights(profile).cost_ms if cost is None else cost
    metric = metric or engine.metric(profile)
    g = engine.graph
    entries = [seeds(s, cost, g.edge_u, g.edge_v, outgoing=False, inf=INF_WEIGHT) for s in snaps]
    pinned = [node for ends in entries for node, _ in ends]
    owner = np.repeat(np.arange(len(snaps)), [len(e) for e in entries])
    extra = np.array([init for ends in entries for _, init in ends], dtype=np.int64)
    out = np.full((len(snaps), len(snaps)), UNREACHABLE, dtype=np.int64)
    if pinned:
        sweep = ThreadBound(rk.CCHOneToMany(metric, pinned))
        for i, snap in enumerate(snaps):
            sources = seeds(snap, cost, g.edge_u, g.edge_v, outgoing=True, inf=INF_WEIGHT)
            if not sources:
                continue
            dist = np.array([UNREACHABLE if d is None else d for d in sweep.distances_from_multi(sources)],
                            dtype=np.int64)
            np.minimum.at(out[i], owner, np.minimum(dist + extra, UNREACHABLE))
        del sweep
    on_edge: dict[int, list[int]] = {}
    for i, s in enumerate(snaps):
        on_edge.setdefault(s.edge, []).append(i)
    for group in (g for g in on_edge.values() if len(g) > 1):  # points sharing an edge: the direct piece
        for i in group:
            for j in group:
                direct = direct_leg(snaps[i], snaps[j], cost, inf=INF_WEIGHT)
                if direct is not None:
                    out[i, j] = min(out[i, j], direct.cost_ms)
    np.fill_diagonal(out, 0)
    return out
