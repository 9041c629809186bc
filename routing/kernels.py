"""The loops of a route's assembly, compiled with numba: what a route does with its hundreds of points once found.

The search takes under 0.1 ms; before these kernels, gathering the points of the found arcs, cutting the first and
last ways, joining, measuring and smoothing the profile took ~0.6 ms in about a hundred numpy calls on short arrays,
each paying its own Python overhead. Each function here is one compiled loop over the same data, the same formulas
(``routing.core`` is their plain-Python specification, which the phone runs): ``gather`` cuts a way as
``core.cut_line`` does, measuring it with ``core.haversine_m``; ``join_and_measure`` measures the line as
``geo.great_circle_m`` does; ``hysteresis_totals`` is ``core.hysteresis_walk``; ``maneuver_stretches`` finds the
stretches, bearings and turns of ``instructions.instructions_for``. ``piece_figures`` and ``line_and_profile``
give ``build_route`` its figures and its profile in one call each: after the search's 2.5 MB, each further call
into numpy or numba paid its own cache misses (the 17 site pairs' ``route()`` went 0.39 → 0.32 ms with them).
Tests hold them to the numpy code they replaced, to the bit (``piece_figures``'s sums to the phone's, which add in
route order where numpy adds pairwise), and to the phone's code.

Compiled once, then loaded from numba's on-disk cache (``NUMBA_CACHE_DIR``, else next to this file); ``warm()``
compiles or loads them all, so a server does it before it forks its workers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .core import EARTH_RADIUS_M

__all__ = ["MODIFIERS", "gather", "hysteresis_totals", "join_and_measure", "line_and_profile", "maneuver_stretches",
           "piece_figures", "rounded_maneuvers", "rounded_with_doubts", "samples", "smoothed_profile", "type_totals",
           "vertex_steps", "warm"]

_RAD = math.pi / 180.0


@njit(cache=True, nogil=True)
def _haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """``core.haversine_m``."""
    p1, p2 = lat1 * _RAD, lat2 * _RAD
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin((lon2 - lon1) * _RAD / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


@njit(cache=True, nogil=True)
def _cut_into(src: np.ndarray, lo: float, hi: float, out: np.ndarray, at: int) -> int:
    """``core.cut_line`` of the (m, 3) line ``src`` written into ``out`` from row ``at``; returns the rows written."""
    m = len(src)
    cum = np.zeros(m)
    for i in range(1, m):
        cum[i] = cum[i - 1] + _haversine_m(src[i - 1, 0], src[i - 1, 1], src[i, 0], src[i, 1])
    total = cum[m - 1] if cum[m - 1] > 0 else 1.0
    a, b = lo * total, hi * total
    n = at
    n += _point_at(src, cum, a, out, n)
    for i in range(m):
        if a < cum[i] < b:
            out[n] = src[i]
            n += 1
    n += _point_at(src, cum, b, out, n)
    return n - at


@njit(cache=True, nogil=True)
def _point_at(src: np.ndarray, cum: np.ndarray, d: float, out: np.ndarray, at: int) -> int:
    """``core._at``: the point ``d`` metres along ``src`` into ``out[at]``."""
    i = len(cum) - 1
    for k in range(len(cum)):
        if cum[k] >= d:
            i = k
            break
    if i == 0:
        out[at] = src[0]
        return 1
    span = cum[i] - cum[i - 1]
    t = (d - cum[i - 1]) / span if span > 0 else 0.0
    for c in range(src.shape[1]):
        out[at, c] = src[i - 1, c] + t * (src[i, c] - src[i - 1, c])
    return 1


@njit(cache=True, nogil=True)
def _step_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """``geo.great_circle_m`` of one step, the same operations in the same order (so the same float, either way)."""
    y1, y2 = lat1 * _RAD, lat2 * _RAD
    dx = lon2 * _RAD - lon1 * _RAD
    h = math.sin((y2 - y1) / 2) ** 2 + math.cos(y1) * math.cos(y2) * math.sin(dx / 2) ** 2
    return 2 * math.asin(math.sqrt(min(1.0, h))) * EARTH_RADIUS_M


@njit(cache=True, nogil=True)
def vertex_steps(geom_offsets: np.ndarray, geom_points: np.ndarray) -> np.ndarray:
    """The length (m) of the step to each geometry vertex from the one before on its way; NaN at a way's first.
    Measured once per graph, so a route measures only the steps between its pieces and on its cut pieces."""
    steps = np.empty(len(geom_points))
    for e in range(len(geom_offsets) - 1):
        begin, end = geom_offsets[e], geom_offsets[e + 1]
        if end > begin:
            steps[begin] = np.nan
        for v in range(begin + 1, end):
            steps[v] = _step_m(geom_points[v - 1, 0], geom_points[v - 1, 1], geom_points[v, 0], geom_points[v, 1])
    return steps


@njit(cache=True, nogil=True)
def gather(geom_offsets: np.ndarray, geom_points: np.ndarray, geom_steps: np.ndarray, arcs: np.ndarray,
           lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the (lon, lat, ele) points of every piece one after the other, the offset of each piece's first point and
    their total, the length of the step to each point from the one before within a whole piece, else NaN): arc
    ``arcs[k]`` in its direction of travel, from fraction ``lo[k]`` to ``hi[k]`` of its length. ``geom_steps`` are
    ``vertex_steps``; a step's length is the same either way."""
    n = len(arcs)
    room = 0
    for k in range(n):
        e = arcs[k] >> 1
        room += geom_offsets[e + 1] - geom_offsets[e] + 2  # a cut piece has at most two points more
    out = np.empty((room, geom_points.shape[1]))
    steps = np.full(room, np.nan)
    offsets = np.empty(n + 1, dtype=np.int64)
    at = 0
    for k in range(n):
        e = arcs[k] >> 1
        begin, size = geom_offsets[e], geom_offsets[e + 1] - geom_offsets[e]
        offsets[k] = at
        whole = lo[k] <= 0.0 and hi[k] >= 1.0
        dest = out[at:at + size] if whole else np.empty((size, geom_points.shape[1]))
        back = arcs[k] & 1
        for j in range(size):
            dest[j] = geom_points[begin + size - 1 - j] if back else geom_points[begin + j]
            if whole and j > 0:
                steps[at + j] = geom_steps[begin + size - j] if back else geom_steps[begin + j]
        at += size if whole else _cut_into(dest, lo[k], hi[k], out, at)
    offsets[n] = at
    return out[:at], offsets, steps[:at]


@njit(cache=True, nogil=True)
def join_and_measure(points: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the line without the points that repeat the one before, as ``route.join_points`` makes it; the great-circle
    distance from its start to each of its points, as ``route.cumulative_distance`` measures it). ``steps`` are
    ``gather``'s: a step known there is taken, the others (between pieces, on cut ones) measured."""
    n = len(points)
    keep = np.ones(n, dtype=np.bool_)
    for i in range(1, n):
        keep[i] = abs(points[i, 0] - points[i - 1, 0]) > 1e-9 or abs(points[i, 1] - points[i - 1, 1]) > 1e-9
    coords = np.empty((keep.sum(), points.shape[1]))
    dist = np.zeros(len(coords))
    kept, last, total = 0, 0, 0.0
    for i in range(n):
        if not keep[i]:
            continue
        if kept:
            known = keep[i - 1] and not math.isnan(steps[i])  # the step from the point kept last, measured
            total += steps[i] if known else _step_m(points[last, 0], points[last, 1], points[i, 0], points[i, 1])
        coords[kept], dist[kept] = points[i], total
        kept, last = kept + 1, i
    return coords, dist


@njit(cache=True, nogil=True)
def smoothed_profile(dist: np.ndarray, ele: np.ndarray, step: float, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(the sample distances every ``step`` m and the last, the elevations there averaged over ``window`` samples,
    the ends repeated to pad): ``route.smoothed_climbs``'s resampling and moving average, for ``dist[-1] > 0``."""
    end = dist[-1]
    count = int(math.ceil(end / step))
    grid = np.empty(count + 1)
    for k in range(count):
        grid[k] = k * step
    size = count
    if grid[count - 1] < end:
        grid[count] = end
        size += 1
    grid = grid[:size]
    z = np.interp(grid, dist, ele)
    if window <= 1 or size <= window:
        return grid, z
    left = window // 2
    pad = np.empty(size + window - 1)
    pad[:left] = z[0]
    pad[left:left + size] = z
    pad[left + size:] = z[size - 1]
    smooth = np.empty(size)
    for i in range(size):
        total = 0.0
        for k in range(window):
            total += pad[i + k] * (1.0 / window)
        smooth[i] = total
    return grid, smooth


@njit(cache=True, nogil=True)
def hysteresis_totals(z: np.ndarray, threshold: float) -> tuple[float, float]:
    """``core.hysteresis_walk`` without the running totals: ascent and descent between the turning points that
    reverse by at least ``threshold``, each climb counted whole."""
    if len(z) < 2:
        return 0.0, 0.0
    up = down = 0.0
    turn = extreme = z[0]
    trend = 0
    for value in z:
        if trend == 0:
            if abs(value - turn) >= threshold:
                trend = 1 if value > turn else -1
                extreme = value
        elif (value - extreme) * trend > 0:
            extreme = value
        elif abs(value - extreme) >= threshold:
            if trend > 0:
                up += extreme - turn
            else:
                down += turn - extreme
            turn, extreme, trend = extreme, value, -trend
    if trend > 0:
        up += extreme - turn
    elif trend < 0:
        down += turn - extreme
    return up, down


@njit(cache=True, nogil=True)
def _bearing(points: np.ndarray, anchor: int, size: int, step: int, span_m: float) -> float:
    """The bearing from ``points[anchor]`` towards the first point ``span_m`` away, going ``step`` at a time."""
    lon0, lat0 = points[anchor, 0], points[anchor, 1]
    cos0 = math.cos(lat0 * _RAD)
    reach = size - 1
    for j in range(1, size):
        q = anchor + step * j
        if math.hypot((points[q, 0] - lon0) * cos0 * 111_320, (points[q, 1] - lat0) * 110_540) >= span_m:
            reach = j
            break
    q = anchor + step * reach
    angle = math.atan2((points[q, 0] - lon0) * cos0 * 111_320, (points[q, 1] - lat0) * 110_540)
    return (angle * (180.0 / math.pi)) % 360


@njit(cache=True, nogil=True)
def type_totals(type_of_edge: np.ndarray, edges: np.ndarray, metres: np.ndarray,
                n_types: int) -> tuple[np.ndarray, np.ndarray]:
    """(the types present among ``edges``, in their numbers' order; the metres on each): ``np.bincount``'s sums,
    added in the same order, so the same floats."""
    total, seen = np.zeros(n_types), np.zeros(n_types, np.bool_)
    for k in range(edges.size):
        t = type_of_edge[edges[k]]
        total[t] += metres[k]
        seen[t] = True
    present = np.flatnonzero(seen)
    return present, total[present]


@njit(cache=True, nogil=True)
def piece_figures(arcs: np.ndarray, lo: np.ndarray, hi: np.ndarray, edge_length: np.ndarray, time_s: np.ndarray,
                  leg_sizes: np.ndarray, flag_a: np.ndarray, flag_b: np.ndarray, type_of_edge: np.ndarray,
                  n_types: int) -> tuple:
    """The figures of a route's pieces (``arcs[k]`` from ``lo[k]`` to ``hi[k]``) in one pass: (each piece's metres;
    each leg's metres and seconds, ``leg_sizes`` pieces each; the total metres and seconds; the metres on edges
    flagged in ``flag_a`` and in ``flag_b``; the way types present and their metres, as ``type_totals``).

    Every sum adds in route order, as the phone's ``sum`` does (``offline.client``), where numpy's ``sum`` adds
    pairwise: within 1e-9 of numpy's, relatively, on 500 random routes."""
    n = arcs.size
    lengths = np.empty(n)
    leg_m, leg_s = np.zeros(leg_sizes.size), np.zeros(leg_sizes.size)
    total = duration = on_a = on_b = 0.0
    leg, left = 0, leg_sizes[0] if leg_sizes.size else n
    for k in range(n):
        while left == 0 and leg < leg_sizes.size - 1:
            leg += 1
            left = leg_sizes[leg]
        e, share = arcs[k] >> 1, hi[k] - lo[k]
        metres, seconds = edge_length[e] * share, time_s[arcs[k]] * share
        lengths[k] = metres
        total += metres
        duration += seconds
        leg_m[leg] += metres
        leg_s[leg] += seconds
        left -= 1
        if flag_a[e]:
            on_a += metres
        if flag_b[e]:
            on_b += metres
    present, type_m = type_totals(type_of_edge, arcs >> 1, lengths, n_types)
    return lengths, leg_m, leg_s, total, duration, on_a, on_b, present, type_m


@njit(cache=True, nogil=True)
def line_and_profile(points: np.ndarray, steps: np.ndarray, step_m: float, window: int, threshold: float,
                     max_samples: int, ndigits: int) -> tuple:
    """A route's line and elevation profile from ``gather``'s points in one call: (the joined line,
    ``join_and_measure``; the ascent and descent, ``smoothed_profile`` then
    ``hysteresis_totals``; at most ``max_samples`` samples of the smoothed profile, ``samples``, as
    ``rounded_with_doubts`` rounds them to ``ndigits``, with its doubts and the values before rounding). A line of
    no length is sampled as it is, not smoothed, and climbs nothing."""
    coords, dist = join_and_measure(points, steps)
    ele = coords[:, 2].copy()
    up = down = 0.0
    if len(dist) >= 2 and dist[-1] > 0:
        grid, z = smoothed_profile(dist, ele, step_m, window)
        up, down = hysteresis_totals(z, threshold)
    else:
        grid, z = dist, ele
    rows = samples(grid, z, max_samples) if len(grid) else np.empty((0, 2))
    out, doubt = rounded_with_doubts(rows, ndigits)
    return coords, up, down, out, doubt, rows


#: The turn modifiers ``maneuver_stretches`` codes: index = code, as ``instructions._modifier`` names them.
MODIFIERS = (None, "slight_right", "right", "sharp_right", "slight_left", "left", "sharp_left", "uturn")


@njit(cache=True, nogil=True)
def maneuver_stretches(arcs: np.ndarray, way_key: np.ndarray, leg_sizes: np.ndarray, metres: np.ndarray,
                       points: np.ndarray, offsets: np.ndarray, min_stretch_m: float,
                       span_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The maneuvers' stretches of a route's pieces, as ``instructions._stretches`` merges them, and the turn into
    each: (way key, length, opens a leg, bearing at the start, ``MODIFIERS`` code, first point's lon and lat), one
    row per stretch.

    ``arcs`` are the pieces' arcs, ``way_key`` each edge's way key (``route.way_key_ids``), ``leg_sizes`` how many
    pieces each leg has, ``metres`` each piece's length, ``points``/``offsets`` the pieces' points (``gather``). A
    run of pieces on one way is summed from zero as ``sum`` sums it; a run shorter than ``min_stretch_m``, or on the
    way of the stretch before, joins that stretch unless it opens a leg. The bearings are
    ``instructions._bearing``'s, measured only on the pieces where a stretch starts or ends."""
    n = arcs.size
    key, leg_start = np.empty(n, np.int64), np.zeros(n + 1, np.bool_)
    for i in range(n):
        key[i] = way_key[arcs[i] >> 1]
    at = 0
    for size in leg_sizes[:-1]:
        at += size
        leg_start[at] = at > 0
    first, last, length = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n)
    opens = np.zeros(n, np.bool_)
    m, a = -1, 0
    while a < n:
        b = a + 1
        while b < n and key[b] == key[a] and not leg_start[b]:
            b += 1
        run = 0.0
        for i in range(a, b):
            run += metres[i]
        if m >= 0 and not leg_start[a] and (run < min_stretch_m or key[first[m]] == key[a]):
            last[m] = b - 1
            length[m] += run
        else:
            m += 1
            first[m], last[m], length[m], opens[m] = a, b - 1, run, leg_start[a]
        a = b
    bearing, modifier, location = np.empty(m + 1), np.zeros(m + 1, np.int8), np.empty((m + 1, 2))
    previous = 0.0
    for k in range(m + 1):
        start, size = offsets[first[k]], offsets[first[k] + 1] - offsets[first[k]]
        location[k, 0], location[k, 1] = points[start, 0], points[start, 1]
        bearing[k] = _bearing(points, start, size, 1, span_m) if size > 1 else 0.0
        if k > 0:
            modifier[k] = _modifier_code((bearing[k] - previous + 540) % 360 - 180)
        start, size = offsets[last[k]], offsets[last[k] + 1] - offsets[last[k]]
        previous = (_bearing(points, start + size - 1, size, -1, span_m) + 180) % 360 if size > 1 else bearing[k]
    return key[first[:m + 1]], length[:m + 1], opens[:m + 1], bearing, modifier, location


@njit(cache=True, nogil=True)
def rounded_maneuvers(arcs: np.ndarray, way_key: np.ndarray, leg_sizes: np.ndarray, metres: np.ndarray,
                      points: np.ndarray, offsets: np.ndarray, min_stretch_m: float, span_m: float) -> tuple:
    """``maneuver_stretches`` with each stretch's length to the decimetre and its first point to 7 decimals, as
    ``rounded_with_doubts`` rounds them: (way key, length, its rounding and doubts, opens a leg, bearing, modifier
    code, first point, its rounding and doubts); one call where three paid their own cache misses."""
    keys, length, opens, bearing, modifier, location = maneuver_stretches(arcs, way_key, leg_sizes, metres, points,
                                                                          offsets, min_stretch_m, span_m)
    length_r, length_doubt = rounded_with_doubts(length, 1)
    location_r, location_doubt = rounded_with_doubts(location, 7)
    return keys, length, length_r, length_doubt, opens, bearing, modifier, location, location_r, location_doubt


@njit(cache=True, nogil=True)
def _modifier_code(turn: float) -> int:
    """``instructions._modifier`` as a ``MODIFIERS`` code: 0 straight on, 1–3 slight/plain/sharp right, 4–6 the
    same left, 7 a U-turn."""
    a = abs(turn)
    if a < 25:
        return 0
    side = 0 if turn > 0 else 3
    if a < 60:
        return 1 + side
    if a < 135:
        return 2 + side
    return 3 + side if a < 170 else 7


@njit(cache=True, nogil=True)
def samples(grid: np.ndarray, z: np.ndarray, max_samples: int) -> np.ndarray:
    """At most ``max_samples`` (distance, elevation) rows of a profile, every ``ceil(n / max_samples)``-th and the
    last (``core.profile_samples``'s choice, not rounded)."""
    n = len(grid)
    step = max(1, -(-n // max_samples))
    count = -(-n // step)
    last = (count - 1) * step != n - 1
    out = np.empty((count + last, 2))
    for k in range(count):
        out[k, 0], out[k, 1] = grid[k * step], z[k * step]
    if last:
        out[count, 0], out[count, 1] = grid[n - 1], z[n - 1]
    return out


@njit(cache=True, nogil=True)
def rounded_with_doubts(values: np.ndarray, ndigits: int) -> tuple[np.ndarray, np.ndarray]:
    """(``values`` rounded as numpy rounds them: scaled, rounded half to even, unscaled; where the scaled value lies
    within a hair of a half, so that Python's correctly rounded ``round`` may differ): for ``route.rounded``."""
    scale = 10.0 ** ndigits
    flat = values.ravel()
    out = np.empty(flat.size)
    doubt = np.zeros(flat.size, dtype=np.bool_)
    for i in range(flat.size):
        scaled = flat[i] * scale
        out[i] = np.rint(scaled) / scale
        doubt[i] = abs(abs(scaled - np.trunc(scaled)) - 0.5) < 1e-6
    return out.reshape(values.shape), doubt.reshape(values.shape)


def warm() -> None:
    """Compile (or load from the cache) every kernel on a tiny line, for the array types a route passes them (the
    elevations as a column of the points, or on their own), so no request pays for it."""
    offsets = np.array([0, 3], dtype=np.int64)
    points = np.array([[2.8, 50.4, 30.0], [2.801, 50.401, 31.0], [2.802, 50.4, 33.0]])
    line, at, steps = gather(offsets, points, vertex_steps(offsets, points), np.array([0, 1], dtype=np.int64),
                             np.array([0.2, 0.0]), np.array([1.0, 0.7]))
    rounded_maneuvers(np.array([0, 1], dtype=np.int64), np.zeros(1, dtype=np.int64), np.array([2], dtype=np.int64),
                      np.ones(2), line, at, 15.0, 15.0)
    coords, dist = join_and_measure(line, steps)
    for ele in (coords[:, 2], np.ascontiguousarray(coords[:, 2])):
        grid, z = smoothed_profile(dist, ele, 20.0, 5)
    hysteresis_totals(z, 3.0)
    type_totals(np.zeros(2, dtype=np.int64), np.array([0, 1], dtype=np.int64), np.ones(2), 1)
    rounded_with_doubts(samples(grid, z, 300), 1)
    line_and_profile(line, steps, 20.0, 5, 3.0, 300, 1)
    flags = np.zeros(1, dtype=np.bool_)
    piece_figures(np.array([0, 1], dtype=np.int64), np.array([0.2, 0.0]), np.array([1.0, 0.7]), np.ones(1), np.ones(2),
                  np.array([2], dtype=np.int64), flags, flags, np.zeros(1, dtype=np.int64), 1)


if __name__ == "__main__":  # ``python -m routing.kernels``: compile them now (``make kernels``)
    import time

    from routing import kernels  # the module's own functions, not this __main__'s copies

    started = time.perf_counter()
    kernels.warm()
    print(f"galibot: the route kernels are ready ({time.perf_counter() - started:.1f} s; compiled once, then loaded "
          "from numba's cache)")
