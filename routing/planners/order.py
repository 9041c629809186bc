"""The best visiting order of stops, by OR-Tools' CP-SAT circuit constraint.

CP-SAT proves optimality on small tours (10 stops in milliseconds) and, on larger ones,
returns its best order within the time limit with a proven lower bound, so the gap to the
optimum is always reported. ``brute_force_order`` is the reference the tests check it against.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from .. import settings
from ..errors import NoRoute, PlannerTimeout
from .matrix import UNREACHABLE


@dataclass
class Order:
    """A visiting order of matrix indices, from index 0, and what the solver proved about it."""

    sequence: list[int]  # matrix indices, starting with 0 (the start), ending with the end if fixed
    cost: int  # sum of matrix entries along the sequence (and back to 0 for a loop)
    lower_bound: int
    optimal: bool
    safety_net_fired: bool = False  # the wall-clock backstop stopped the solver: the result may vary by machine
    work: float = 0.0  # CP-SAT's deterministic time spent: the same on every machine, unlike its seconds

    @property
    def gap(self) -> float:
        """Relative gap to the proven lower bound (0 when optimal)."""
        return 0.0 if self.optimal or not self.cost else (self.cost - self.lower_bound) / self.cost


def cp_solver(time_limit_s: float, workers: int) -> cp_model.CpSolver:
    """A CP-SAT solver bounded by deterministic time, so the same request gives the same answer on any machine.

    ``time_limit_s`` is in CP-SAT's deterministic time units (about a second of work on a typical core), not
    in seconds of the clock: a slow or busy machine takes longer to reach it, and reaches the same answer.
    Interleaved search makes the run deterministic for a given ``workers``, and the seed is fixed; callers take
    ``workers`` from configuration (``GALIBOT_WORKERS``, default 2), never from the machine's core count, because
    a large model can end on another answer with another number of threads. With several threads, a batch of
    the interleaved search runs to its end, so the work done can pass the budget by a batch (it is still the same
    work every time). The wall clock only backs it up (``settings.SOLVER_SAFETY_NET_FACTOR`` times the budget);
    ``safety_net_fired`` tells when that backstop, and not the deterministic limit, ended the search.
    """
    solver = cp_model.CpSolver()
    solver.parameters.max_deterministic_time = time_limit_s
    solver.parameters.max_time_in_seconds = max(settings.SOLVER_SAFETY_NET_MIN_S,
                                                settings.SOLVER_SAFETY_NET_FACTOR * time_limit_s)
    solver.parameters.num_workers = max(1, workers)
    solver.parameters.interleave_search = True
    solver.parameters.random_seed = settings.SOLVER_SEED
    # OR-Tools 9.15 aborts the whole process ("Check failed: heuristics.fixed_search != nullptr") when its
    # max_lp subsolver runs interleaved on some infeasible trail models (terril 74 → Lewarde, 35 km, 3 terrils)
    solver.parameters.ignore_subsolvers.append("max_lp")
    return solver


def safety_net_fired(solver: cp_model.CpSolver, status: int) -> bool:
    """Whether the wall-clock backstop stopped a search before its deterministic budget was spent."""
    if status == cp_model.OPTIMAL or status == cp_model.INFEASIBLE:
        return False
    return solver.wall_time >= 0.99 * solver.parameters.max_time_in_seconds


def _sequence_cost(matrix: np.ndarray, seq: list[int], loop: bool) -> int:
    hops = list(zip(seq[:-1], seq[1:])) + ([(seq[-1], seq[0])] if loop else [])
    return int(sum(matrix[a, b] for a, b in hops))


def circuit_arcs(matrix: np.ndarray, end: int | None, loop: bool) -> dict[tuple[int, int], int]:
    """Arcs of a circuit model from node 0, with their costs.

    A loop may use every reachable pair. A path to ``end`` closes with a free arc ``end → 0`` (its only
    way out, and the only way into 0); a path ending anywhere closes through a free dummy node ``n``.
    """
    n = len(matrix)
    arcs = {}
    for i in range(n):
        for j in range(n):
            if i == j or matrix[i, j] >= UNREACHABLE or (j == 0 and not loop) or i == end:
                continue
            arcs[i, j] = int(matrix[i, j])
    if end is not None:
        arcs[end, 0] = 0
    elif not loop:
        arcs.update({(i, n): 0 for i in range(1, n)})
        arcs[n, 0] = 0
    return arcs


def follow(succ: dict[int, int], n: int, end: int | None = None) -> list[int]:
    """The node sequence of a solved circuit from 0, up to ``end`` (or until it closes or meets a dummy)."""
    seq, node = [0], succ[0]
    while node not in (0, end) and node < n:
        seq.append(node)
        node = succ[node]
    return seq + ([end] if end is not None else [])


#: Local search for a solver hint stops after this many passes without counting on convergence (deterministic).
HINT_MAX_PASSES = 50


def local_search_order(matrix: np.ndarray, loop: bool = True, end: int | None = None) -> list[int]:
    """A good order quickly, for the solver's hint: nearest neighbour from 0, then 2-opt (a reversed stretch) and
    or-opt (1 to 3 stops moved elsewhere) while either improves it. 0 stays first and ``end`` last."""
    m = matrix.astype(float)  # sums of UNREACHABLE stay ordered instead of overflowing
    n = len(m)
    seq, left = [0], [i for i in range(1, n) if i != end]
    while left:
        nxt = min(left, key=lambda j: (m[seq[-1], j], j))
        seq.append(nxt)
        left.remove(nxt)
    seq += [end] if end is not None else []

    def cost(order: list[int]) -> float:
        idx = np.asarray(order + ([order[0]] if loop else []))
        return float(m[idx[:-1], idx[1:]].sum())

    last = len(seq) - (1 if end is not None else 0)  # positions 1..last-1 may move
    best = cost(seq)
    for _ in range(HINT_MAX_PASSES):
        before = best
        for i in range(1, last - 1):
            for j in range(i + 1, last):
                cand = seq[:i] + seq[i:j + 1][::-1] + seq[j + 1:]
                if (c := cost(cand)) < best:
                    seq, best = cand, c
        for length in (1, 2, 3):
            for i in range(1, last - length + 1):
                seg, rest = seq[i:i + length], seq[:i] + seq[i + length:]
                for k in range(1, last - length + 1):
                    cand = rest[:k] + seg + rest[k:]
                    if (c := cost(cand)) < best:
                        seq, best = cand, c
                        break
        if best >= before:
            break
    return seq


def _successors(seq: list[int], n: int, loop: bool, end: int | None) -> dict[int, int]:
    """The arcs of ``circuit_arcs``'s model that an order uses (with its free closing arcs)."""
    succ = dict(zip(seq[:-1], seq[1:]))
    if loop or end is not None:
        succ[seq[-1]] = 0
    else:
        succ[seq[-1]], succ[n] = n, 0
    return succ


def solve_order(matrix: np.ndarray, loop: bool = True, end: int | None = None, time_limit_s: float = 5.0,
                workers: int = 2, *, hint: bool = False) -> Order:
    """Least-cost order visiting every index once from 0: back to 0 (``loop``), to ``end``, or ending anywhere.

    With ``hint``, the search starts from ``local_search_order``'s order: on 40 stops CP-SAT then ends within a
    fraction of a percent of the optimum, with a close bound, inside a small budget (without it, the first batch of
    its interleaved search overruns the budget to reach the same point)."""
    n = len(matrix)
    if n <= 2:
        seq = list(range(n))
        return Order(seq, _sequence_cost(matrix, seq, loop), _sequence_cost(matrix, seq, loop), True)
    model = cp_model.CpModel()
    costs = circuit_arcs(matrix, end, loop)
    literals = {k: model.new_bool_var(f"x{k[0]}_{k[1]}") for k in costs}
    model.add_circuit([(i, j, lit) for (i, j), lit in literals.items()])
    scale = max(1, max(costs.values()) // 100_000_000)  # ms; only day-long legs get scaled
    model.minimize(sum((costs[k] // scale) * lit for k, lit in literals.items()))
    if hint:
        succ = _successors(local_search_order(matrix, loop, end), n, loop, end)
        for (i, j), lit in literals.items():
            model.add_hint(lit, succ.get(i) == j)
    solver = cp_solver(time_limit_s, workers)
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        raise NoRoute("no order visits every stop: some stops cannot be reached from the others", field="stops")
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise PlannerTimeout(f"no visiting order found within {time_limit_s:g} s", field="stops")
    seq = follow({i: j for (i, j), lit in literals.items() if solver.value(lit)}, n)
    cost = _sequence_cost(matrix, seq, loop)
    optimal = status == cp_model.OPTIMAL and scale == 1
    bound = cost if optimal else int(solver.best_objective_bound * scale)
    return Order(seq, cost, min(bound, cost), optimal, safety_net_fired(solver, status), solver.deterministic_time)


def brute_force_order(matrix: np.ndarray, loop: bool = True, end: int | None = None) -> Order:
    """Try every permutation (for checking ``solve_order`` on up to 10 stops)."""
    n = len(matrix)
    middle = [i for i in range(1, n) if i != end]
    best = None
    for perm in itertools.permutations(middle):
        seq = [0, *perm] + ([end] if end is not None else [])
        if any(matrix[a, b] >= UNREACHABLE for a, b in zip(seq[:-1], seq[1:])):
            continue
        c = _sequence_cost(matrix, seq, loop)
        if best is None or c < best.cost:
            best = Order(seq, c, c, True)
    if best is None:
        raise NoRoute("no order visits every stop", field="stops")
    return best
