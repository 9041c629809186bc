"""Turn lines into a graph topology: nodes where lines meet or end, edges between them.

This is the array counterpart of building an unsimplified OSM graph and running
``osmnx.simplify_graph(G, edge_attrs_differ=all kept attributes)``: a node is kept where a
vertex is shared by several lines, where a line ends, or where the way's attributes change.
Lines cut at tile borders share their end vertex exactly, so joining degree-2 chains of
identical attributes is what stitches them back together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .sources import LineSet

_SHIFT = np.uint64(1 << 31)


@dataclass
class Topology:
    """Undirected edges between nodes; geometry as indices into the LineSet's coordinates."""

    node_keys: np.ndarray  # uint64, stable id of each node from its exact grid coordinates
    node_coords: np.ndarray  # int64 (N, 2), grid coordinates
    edge_u: np.ndarray  # int64 (E,), node index
    edge_v: np.ndarray
    edge_attr: np.ndarray  # int32 (E,), row of the LineSet's attr_table
    geom_index: np.ndarray  # int64, LineSet vertex indices of all edges, concatenated
    geom_offsets: np.ndarray  # int64 (E+1,)
    stats: dict

    @property
    def n_edges(self) -> int:
        return len(self.edge_u)


def vertex_keys(coords: np.ndarray) -> np.ndarray:
    """One uint64 per grid vertex; equal keys mean exactly equal coordinates."""
    x = coords[:, 0].astype(np.int64).astype(np.uint64) + _SHIFT
    y = coords[:, 1].astype(np.int64).astype(np.uint64) + _SHIFT
    return (x << np.uint64(32)) | y


def _split_at_junctions(lines: LineSet, every_vertex: bool = False) -> tuple[np.ndarray, ...]:
    """Cut every line at the vertices it shares with other lines (or itself) and at its ends.

    With ``every_vertex`` each vertex is a node: the unsimplified graph osmnx builds from OSM.
    """
    lengths = np.diff(lines.offsets)
    line_of = np.repeat(np.arange(len(lines)), lengths)
    keys = vertex_keys(lines.coords)
    uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    is_node = counts[inverse] > 1 if not every_vertex else np.ones(len(keys), dtype=bool)
    is_node[lines.offsets[:-1]] = True
    is_node[lines.offsets[1:] - 1] = True
    pos = np.flatnonzero(is_node)
    same_line = line_of[pos[:-1]] == line_of[pos[1:]]
    start, end = pos[:-1][same_line], pos[1:][same_line]
    return uniq, inverse, start, end, lines.attrs[line_of[start]]


def _merge_links(u: np.ndarray, v: np.ndarray, attr: np.ndarray, oneway: np.ndarray, n: int) -> dict:
    """Nodes where exactly two edges of the same attributes meet end to start: chain joints."""
    deg = np.bincount(u, minlength=n) + np.bincount(v, minlength=n)
    inc_node = np.concatenate([u, v])
    inc_edge = np.concatenate([np.arange(len(u)), np.arange(len(u))])
    inc_side = np.concatenate([np.zeros(len(u), np.int8), np.ones(len(u), np.int8)])
    mask = deg[inc_node] == 2
    order = np.argsort(inc_node[mask], kind="stable")
    nodes = inc_node[mask][order].reshape(-1, 2)[:, 0]
    edges = inc_edge[mask][order].reshape(-1, 2)
    sides = inc_side[mask][order].reshape(-1, 2)
    e1, e2 = edges[:, 0], edges[:, 1]
    ok = (e1 != e2) & (attr[e1] == attr[e2])
    ok &= ~(oneway[e1] & (sides[:, 0] == sides[:, 1]))  # a oneway chain must not turn back on itself
    return {int(k): (int(a), int(b)) for k, a, b in zip(nodes[ok], e1[ok], e2[ok])}


def _walk_chain(start: int, enter: int, u: np.ndarray, v: np.ndarray, links: dict) -> list[tuple[int, bool]]:
    """Follow joined edges from ``start`` entered at node ``enter``; (edge, forwards) pairs."""
    seq: list[tuple[int, bool]] = []
    edge, node = start, enter
    while True:
        fwd = bool(u[edge] == node)
        seq.append((edge, fwd))
        out = int(v[edge] if fwd else u[edge])
        pair = links.get(out)
        if pair is None or out == enter:
            return seq
        edge = pair[1] if pair[0] == edge else pair[0]
        if edge == start:
            return seq
        node = out


def _chains(u: np.ndarray, v: np.ndarray, links: dict, oneway: np.ndarray) -> list[list[tuple[int, bool]]]:
    """Group edges into maximal chains through the joint nodes, each oriented along its oneway."""
    n_edges = len(u)
    if links:
        pairs = np.array(list(links.values()), dtype=np.int64)
        adj = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n_edges, n_edges))
        _, label = connected_components(adj, directed=False)
    else:
        label = np.arange(n_edges)
    sizes = np.bincount(label)
    chains: list[list[tuple[int, bool]]] = [[(int(e), True)] for e in np.flatnonzero(sizes[label] == 1)]
    members: dict[int, list[int]] = {}
    for e in np.flatnonzero(sizes[label] > 1):
        members.setdefault(int(label[e]), []).append(int(e))
    for group in members.values():
        start, enter = group[0], int(u[group[0]])  # a ring starts anywhere
        for e in group:
            if int(u[e]) not in links:
                start, enter = e, int(u[e])
                break
            if int(v[e]) not in links:
                start, enter = e, int(v[e])
                break
        seq = _walk_chain(start, enter, u, v, links)
        if oneway[seq[0][0]] and not seq[0][1]:
            seq = [(e, not f) for e, f in reversed(seq)]
        chains.append(seq)
    return chains


def _chain_geometry(seq: list[tuple[int, bool]], start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """LineSet vertex indices of a chain, joints counted once."""
    parts = []
    for i, (e, fwd) in enumerate(seq):
        idx = np.arange(start[e], end[e] + 1) if fwd else np.arange(end[e], start[e] - 1, -1)
        parts.append(idx if i == 0 else idx[1:])
    return np.concatenate(parts)


def build_topology(lines: LineSet, simplify: bool = True) -> Topology:
    """Split lines at junctions and stitch same-attribute chains (across tile borders too).

    ``simplify=False`` keeps a node at every vertex, for osmnx's own simplification to run on.
    """
    oneway_col = lines.attr_names.index("oneway")
    uniq, inverse, start, end, attr = _split_at_junctions(lines, every_vertex=not simplify)
    u, v = inverse[start], inverse[end]
    oneway = np.array([bool(row[oneway_col]) for row in lines.attr_table], dtype=bool)[attr]
    links = _merge_links(u, v, attr, oneway, len(uniq)) if simplify else {}
    chains = _chains(u, v, links, oneway)
    geoms = [_chain_geometry(seq, start, end) for seq in chains]
    first = np.array([g[0] for g in geoms], dtype=np.int64)
    last = np.array([g[-1] for g in geoms], dtype=np.int64)
    used, node_of = np.unique(np.concatenate([inverse[first], inverse[last]]), return_inverse=True)
    lengths = np.fromiter((len(g) for g in geoms), dtype=np.int64, count=len(geoms))
    offsets = np.zeros(len(geoms) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    geom_index = np.concatenate(geoms)
    coords_of_node = np.empty((len(used), 2), dtype=np.int64)
    coords_of_node[node_of[: len(first)]] = lines.coords[first]
    coords_of_node[node_of[len(first):]] = lines.coords[last]
    return Topology(
        node_keys=uniq[used],
        node_coords=coords_of_node,
        edge_u=node_of[: len(first)],
        edge_v=node_of[len(first):],
        edge_attr=np.array([attr[seq[0][0]] for seq in chains], dtype=np.int32),
        geom_index=geom_index,
        geom_offsets=offsets,
        stats={"raw_edges": len(u), "joints_merged": len(links)},
    )


def largest_component(topo: Topology) -> tuple[Topology, float]:
    """Keep the largest connected component (undirected); also return its share of the nodes."""
    n = len(topo.node_keys)
    adj = coo_matrix((np.ones(topo.n_edges), (topo.edge_u, topo.edge_v)), shape=(n, n))
    _, label = connected_components(adj, directed=False)
    big = np.argmax(np.bincount(label))
    keep_node = label == big
    share = float(keep_node.mean()) if n else 0.0
    keep_edge = keep_node[topo.edge_u]
    new_index = np.cumsum(keep_node) - 1
    lengths = np.diff(topo.geom_offsets)[keep_edge]
    offsets = np.zeros(int(keep_edge.sum()) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    vertex_mask = np.repeat(keep_edge, np.diff(topo.geom_offsets))
    return (
        Topology(
            node_keys=topo.node_keys[keep_node],
            node_coords=topo.node_coords[keep_node],
            edge_u=new_index[topo.edge_u[keep_edge]],
            edge_v=new_index[topo.edge_v[keep_edge]],
            edge_attr=topo.edge_attr[keep_edge],
            geom_index=topo.geom_index[vertex_mask],
            geom_offsets=offsets,
            stats={**topo.stats, "nodes_before_lcc": n, "lcc_share": share},
        ),
        share,
    )
