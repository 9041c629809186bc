"""A customisable contraction hierarchy (CCH) in plain Python: what makes an offline query take milliseconds.

The bundle ships the server's node order (``node_rank``, RoutingKit's nested dissection). The phone
then does the three steps of Dibbelt, Strasser and Wagner's CCH, as the server's RoutingKit does:

1. **Topology** (once, at install): eliminate the nodes in rank order; the upper neighbours of each
   node become a clique. The result is the *chordal* graph: each edge joins a lower and a higher node,
   and a node's upper neighbours are its ancestors in the *elimination tree* (parent = the lowest one).
   Its lower triangles (x below y below z, all three joined) are listed once.
2. **Customisation** (once per profile, on first use): each chordal edge gets the cheapest original arc
   between its ends, upward and downward; then, lowest triangle first, ``y→z`` is improved by
   ``y→x→z``, remembering ``x`` to unpack it later.
3. **Query**: from each end, walk up the elimination tree (no priority queue: the ancestors in rank
   order), relaxing upward arcs; the best meeting node gives the cost. Unpacking the meeting path
   through the remembered middles gives the original arcs.

Everything is in rank space (node ``rank``); ``rank_node`` maps back. Sizes for the whole basin: about
0.9 M chordal edges and 4.1 M triangles; a query settles about 170 nodes per side.
"""

from __future__ import annotations

import array
from bisect import bisect_left
from collections.abc import Sequence

#: Marks "no middle node: the cheapest original arc" and "no chordal edge" (a way that loops on one node).
NONE = 0xFFFFFFFF


def _chordal(n: int, lo: list[int], hi: list[int]) -> list[list[int]]:
    """The upper neighbours of each rank once every node is eliminated in rank order (sorted)."""
    up: list[set[int]] = [set() for _ in range(n)]
    for a, b in zip(lo, hi):
        if a != b:
            up[a].add(b)
    for x in range(n):
        s = up[x]
        if s:
            parent = min(s)
            up[parent].update(y for y in s if y != parent)
    return [sorted(s) for s in up]


def topology(node_rank: Sequence[int], edge_u: Sequence[int], edge_v: Sequence[int]) -> dict[str, array.array]:
    """The chordal graph (``up_first``, ``up_head``, ``up_tail``), its lower triangles (``tri_xy``, ``tri_xz``,
    ``tri_yz``: the edge ids of x–y, x–z and y–z, lowest x first), ``rank_node`` and each way's chordal edge
    (``edge_chordal``, NONE for a way that loops on one node)."""
    n = len(node_rank)
    ru = [node_rank[u] for u in edge_u]
    rv = [node_rank[v] for v in edge_v]
    ups = _chordal(n, [min(a, b) for a, b in zip(ru, rv)], [max(a, b) for a, b in zip(ru, rv)])
    first, head, tail = array.array("I", [0]), array.array("I"), array.array("I")
    for x, s in enumerate(ups):
        head.extend(s)
        tail.extend([x] * len(s))
        first.append(len(head))
    tri = _triangles(first.tolist(), head.tolist())
    rank_node = array.array("I", bytes(4 * n))
    for node, r in enumerate(node_rank):
        rank_node[r] = node
    return {"up_first": first, "up_head": head, "up_tail": tail, "rank_node": rank_node,
            "edge_chordal": array.array("I", [_edge_id(first, head, min(a, b), max(a, b)) if a != b else NONE
                                              for a, b in zip(ru, rv)]),
            **tri}


def _edge_id(first: Sequence[int], head: Sequence[int], lo: int, hi: int) -> int:
    """The id of the chordal edge lo–hi (lo below hi)."""
    a, b = first[lo], first[lo + 1]
    return a + bisect_left(head[a:b], hi)


def _triangles(first: list[int], head: list[int]) -> dict[str, array.array]:
    """Every lower triangle x < y < z as the ids of its edges x–y, x–z and y–z, x ascending (customisation order).

    The upper neighbours of x (sorted) are a clique, so for y = head[i], each later z = head[j] is among y's
    upper neighbours, in the same order: one forward walk along y's list finds them all."""
    xy, xz, yz = array.array("I"), array.array("I"), array.array("I")
    for x in range(len(first) - 1):
        a, b = first[x], first[x + 1]
        for i in range(a, b - 1):
            p = first[head[i]]
            for j in range(i + 1, b):
                z = head[j]
                while head[p] != z:
                    p += 1
                xy.append(i)
                xz.append(j)
                yz.append(p)
    return {"tri_xy": xy, "tri_xz": xz, "tri_yz": yz}


def customise(a: dict, cost: Sequence[int], inf: int) -> dict[str, array.array]:
    """A profile's weights on the chordal graph: ``up``/``down`` (cost from the lower end to the higher, and back)
    and the middle rank of each (``mid_up``/``mid_down``, NONE where the cheapest original arc is the way)."""
    n_arcs = len(a["up_head"])
    up, down = [inf] * n_arcs, [inf] * n_arcs
    rank = a["node_rank"]
    for e, k in enumerate(a["edge_chordal"]):
        if k == NONE:
            continue
        there, back = cost[2 * e], cost[2 * e + 1]
        if rank[a["edge_u"][e]] > rank[a["edge_v"][e]]:
            there, back = back, there
        if there < up[k]:
            up[k] = there
        if back < down[k]:
            down[k] = back
    mid_up, mid_down = [NONE] * n_arcs, [NONE] * n_arcs
    tail = a["up_tail"]
    for xy, xz, yz in zip(a["tri_xy"], a["tri_xz"], a["tri_yz"]):
        c = down[xy] + up[xz]  # y → x → z
        if c < up[yz]:
            up[yz], mid_up[yz] = c, tail[xy]
        c = down[xz] + up[xy]  # z → x → y
        if c < down[yz]:
            down[yz], mid_down[yz] = c, tail[xy]
    return {"up": array.array("I", up), "down": array.array("I", down), "mid_up": array.array("I", mid_up),
            "mid_down": array.array("I", mid_down)}


class Metric:
    """A customised hierarchy: least-cost queries between seeded nodes, and their original arcs."""

    def __init__(self, a: dict, weights: dict, cost: Sequence[int], inf: int) -> None:
        self.a, self.w, self.cost, self.inf = a, weights, cost, inf

    def _upward(self, seeds: list[tuple[int, int]], weight) -> tuple[dict[int, int], dict[int, int]]:
        """Least costs from the seeds (rank, cost) to each of their ancestors, and the edge each was reached by."""
        first, head = self.a["up_first"], self.a["up_head"]
        dist: dict[int, int] = {}
        pred: dict[int, int] = {}
        todo: set[int] = set()
        for r, c in seeds:
            if c < dist.get(r, self.inf):
                dist[r], pred[r] = c, NONE
            while r not in todo:  # the ancestors: parent = lowest upper neighbour
                todo.add(r)
                if first[r] == first[r + 1]:
                    break
                r = head[first[r]]
        inf, get = self.inf, dist.get
        for x in sorted(todo):
            d = get(x)
            if d is None:
                continue
            lo, hi = first[x], first[x + 1]
            for y, w, k in zip(head[lo:hi], weight[lo:hi], range(lo, hi)):
                nd = d + w
                if nd < get(y, inf):
                    dist[y], pred[y] = nd, k
        return dist, pred

    def query(self, sources: list[tuple[int, int]], targets: list[tuple[int, int]]):
        """Least cost from any (node, cost) source to any target: (cost, first node, last node, original arcs), or
        None when no target can be reached."""
        rank = self.a["node_rank"]
        fwd, fpred = self._upward([(rank[n], c) for n, c in sources], self.w["up"])
        bwd, bpred = self._upward([(rank[n], c) for n, c in targets], self.w["down"])
        best, meet = self.inf, None
        for x, d in fwd.items():
            total = d + bwd.get(x, self.inf)
            if total < best or (total == best and meet is not None and x < meet):
                best, meet = total, x
        if meet is None:
            return None
        arcs: list[int] = []
        start, chain = self._chain(meet, fpred)
        for k in reversed(chain):
            arcs += self.unpack(k, upward=True)
        end, chain = self._chain(meet, bpred)
        for k in chain:
            arcs += self.unpack(k, upward=False)
        rank_node = self.a["rank_node"]
        return best, rank_node[start], rank_node[end], arcs

    def _chain(self, meet: int, pred: dict[int, int]) -> tuple[int, list[int]]:
        """The chordal edges from ``meet`` down to the seed it was reached from, and that seed."""
        tail, out, x = self.a["up_tail"], [], meet
        while pred[x] != NONE:
            out.append(pred[x])
            x = tail[pred[x]]
        return x, out

    def _edge(self, lo: int, hi: int) -> int:
        return _edge_id(self.a["up_first"], self.a["up_head"], lo, hi)

    def unpack(self, k: int, *, upward: bool) -> list[int]:
        """The original arcs of chordal edge ``k`` travelled upward (lower end to higher) or downward."""
        out: list[int] = []
        stack = [(k, upward)]
        tail, head = self.a["up_tail"], self.a["up_head"]
        while stack:
            k, up = stack.pop()
            x, y = tail[k], head[k]
            mid = self.w["mid_up" if up else "mid_down"][k]
            if mid == NONE:
                out.append(self._original(x, y) if up else self._original(y, x))
                continue
            below_x, below_y = self._edge(mid, x), self._edge(mid, y)
            if up:  # x → mid → y: down the edge mid–x, then up mid–y
                stack += [(below_y, True), (below_x, False)]
            else:  # y → mid → x
                stack += [(below_x, True), (below_y, False)]
        return out

    def _original(self, a: int, b: int) -> int:
        """The cheapest original arc from rank ``a`` to rank ``b`` (the first of equals, in adjacency order)."""
        rank_node = self.a["rank_node"]
        na, nb = rank_node[a], rank_node[b]
        first, head, arc_id = self.a["first_out"], self.a["arc_head"], self.a["arc_id"]
        best, found = self.inf, NONE
        for slot in range(first[na], first[na + 1]):
            if head[slot] == nb and self.cost[arc_id[slot]] < best:
                best, found = self.cost[arc_id[slot]], arc_id[slot]
        return found
