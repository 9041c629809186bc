"""Ascent against references (issue 13): the terrils of the TPN-style course, terril 74 alone, the flat EV5.

For each terril the course climbs, its relief from the data (summit minus rim, MBM polygon on the DEM) is set
beside the climb measured on the course (from the lowest point since the previous summit to the top). The whole
course is measured as shipped and with the former counting (steps from an anchor), beside gpxpy's own
figure on the exported GPX and the sum of the raw rises; terril 74 is walked up and down from the Base 11/19, and
the EV5 from Lens to Don must stay under 80 m.

    python -m bench.ascent
"""

from __future__ import annotations

import sys

import gpxpy
import numpy as np

import gpx_exports as gx
from poi_data import load_catalogue
from routing import landmarks
from routing.build import BuildRequest, load_or_build
from routing.engine import Engine
from routing.planners.tour import Stop
from routing.planners.trail import TrailCourse, plan_trail
from routing.route import Route, cumulative_distance, smoothed_climbs
from routing.settings import Settings

EV5_FLAT_LIMIT_M = 80.0


#: The threshold galibot counted with before issue 13.
FORMER_HYSTERESIS_M = 2.0


def anchor_climbs(z: np.ndarray, threshold: float) -> tuple[float, float]:
    """The counting before issue 13, kept here as the reference it is compared with: rises in steps of
    ``threshold`` from an anchor (which leaves up to a threshold uncounted at every turn)."""
    up = down = 0.0
    anchor = z[0]
    for value in z[1:]:
        if value - anchor >= threshold:
            up, anchor = up + value - anchor, value
        elif anchor - value >= threshold:
            down, anchor = down + anchor - value, value
    return float(up), float(down)


def former_climbs(route: Route) -> tuple[float, float]:
    """Ascent and descent as galibot counted them before: the same resampling and average, anchor counting."""
    _, _, _, z = smoothed_climbs(cumulative_distance(route.coordinates), route.coordinates[:, 2])
    return anchor_climbs(z, FORMER_HYSTERESIS_M)


def terril_climbs(course: TrailCourse) -> list[tuple[str, int, float]]:
    """(terril, relief from the data, climb measured on the course) for each summit, in course order."""
    coords = course.route.coordinates
    dist = cumulative_distance(coords)
    _, _, grid, z = smoothed_climbs(dist, coords[:, 2])
    scale = dist[-1] / course.route.distance_m
    out, prev = [], 0.0
    for s in course.summits:
        at = s["km"] * 1000 * scale
        top = z[(grid >= at - 150) & (grid <= at + 150)].max()
        low = z[(grid >= prev) & (grid <= at)].min()
        out.append((s["number"], s["relief_m"], float(top - low)))
        prev = at
    return out


def raw_rise(route: Route) -> float:
    """The sum of every rise between consecutive vertices: what a naive reader of the file reports."""
    return float(np.clip(np.diff(route.coordinates[:, 2]), 0, None).sum())


def run() -> str:
    cfg = Settings.from_env()
    graph, _, _ = load_or_build(cfg, BuildRequest())
    engine = Engine(graph, cfg.cache_dir)
    catalogue = load_catalogue(cfg, graph)
    louvre = catalogue.get("louvre-lens")
    tpn = plan_trail(engine, Stop(louvre["lon"], louvre["lat"], louvre["id"], louvre["name"]), 110_000, 20)
    places = landmarks.locate(cfg, graph, ("base_11_19", "t074_summit", "lens", "don"))
    t074 = engine.route([places["base_11_19"], places["t074_summit"], places["base_11_19"]], "trail")[0]
    ev5 = engine.route([places["lens"], places["don"]], "bike")[0]
    gpx = gpxpy.parse(gx.to_gpx(gx.course(tpn.route, "trail", "TPN-style", loop=True, summits=tpn.summits)))
    gpxpy_up = gpx.get_uphill_downhill().uphill
    t074_data = next(t for t in graph.meta["terrils"] if t["number"] == "T074")
    z = t074.coordinates[:, 2]
    top, low = float(z.max()), float(z[:int(np.argmax(z)) + 1].min())
    rows = terril_climbs(tpn)
    lines = [
        f"TPN-style course from the Louvre-Lens: {tpn.route.distance_m / 1000:.1f} km for a 110 km target, "
        f"{len(tpn.summits)} terrils",
        "",
        "| terril | relief from the data (summit − rim) | climb on the course (lowest point since the last "
        "summit to the top) |",
        "|---|---|---|",
        *[f"| {n} | {r} m | {m:.0f} m |" for n, r, m in rows],
        "",
        "| figure | former counting (anchor steps) | shipped (turning points) | gpxpy on the GPX | raw vertex rises |",
        "|---|---|---|---|---|",
        f"| TPN-style course ascent | {former_climbs(tpn.route)[0]:.0f} m | {tpn.route.ascent_m:.0f} m | "
        f"{gpxpy_up:.0f} m | {raw_rise(tpn.route):.0f} m |",
        f"| terril 74 up and down from the Base 11/19 (+ / −) | "
        f"{former_climbs(t074)[0]:.0f} / {former_climbs(t074)[1]:.0f} m | "
        f"{t074.ascent_m:.0f} / {t074.descent_m:.0f} m | | |",
        f"| EV5 Lens → Don by bike, {ev5.distance_m / 1000:.1f} km, {ev5.ev5_share:.0%} on the EV5 "
        f"(limit {EV5_FLAT_LIMIT_M:.0f} m) | {former_climbs(ev5)[0]:.0f} m | {ev5.ascent_m:.0f} m | | |",
        "",
        f"Terril 74: summit {t074_data['summit_m']:.0f} m, rim {t074_data['rim_m']:.0f} m on the DEM, relief "
        f"{t074_data['summit_m'] - t074_data['rim_m']:.0f} m; the walk's lowest point before the top is "
        f"{low:.0f} m and its top {top:.0f} m, so about {top - low:.0f} m each way is expected.",
    ]
    return "\n".join(lines)


def main() -> int:
    print(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
