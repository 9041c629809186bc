"""Named circuits: described in ``circuits.toml``, resolved against the catalogue and routed on the graph.

A circuit's waypoints name catalogue POIs or routing landmarks, never raw coordinates, so each
traces back to a dataset. Routed circuits are cached under the graph's data version and the
hash of the circuit file, and written atomically.
"""

from __future__ import annotations

import hashlib
import pickle
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import routing
from routing import landmarks
from routing.engine import Engine
from routing.errors import CircuitError, DataError, RoutingError
from routing.io import atomic_write, code_version
from routing.planners.tour import Stop, plan_tour
from routing.planners.trail import plan_trail
from routing.route import Route, build_route
from routing.settings import Settings

from .build import catalogue_version
from .catalogue import Catalogue
from .errors import UnknownPOI

CIRCUITS_FILE = Path(__file__).with_name("circuits.toml")
ROUTING_DIR = Path(routing.__file__).parent
#: EV5 ways cost this share of their profile cost in circuits that follow the relation.
EV5_PREFERENCE = 0.3
KINDS = ("route", "tour", "trail")


@dataclass
class Circuit:
    """A named circuit, its texts and sources, and its routed result."""

    id: str
    spec: dict
    route: Route
    stops: list[Stop]
    summits: list[dict]
    build_s: float  # how long routing it took here; not kept in the cache, whose bytes depend only on the inputs

    def __getstate__(self) -> dict:
        return {**self.__dict__, "build_s": 0.0}

    def texts(self, key: str) -> dict[str, str]:
        """A text of the circuit (``name``, ``description``) in every language circuits.toml gives it in."""
        prefix = f"{key}_"
        return {k[len(prefix):]: v for k, v in self.spec.items() if k.startswith(prefix)}

    def summary(self, lang: str | None = "en") -> dict:
        """The circuit's facts and texts: in ``lang`` (English where it has no text), or with None, the texts in
        every language as ``names`` and ``descriptions`` beside the French ``name`` and ``description``."""
        s = self.spec
        if lang is None:
            texts = {"name": s["name_fr"], "description": s["description_fr"], "names": self.texts("name"),
                     "descriptions": self.texts("description")}
        else:
            texts = {"name": s.get(f"name_{lang}", s["name_en"]),
                     "description": s.get(f"description_{lang}", s["description_en"])}
        return {"id": self.id, **texts, "theme": s["theme"],
                "kind": s["kind"], "profile": s["profile"], "inspired_by": bool(s.get("inspired_by")),
                "sources": s["sources"], "km": round(self.route.distance_m / 1000, 2),
                "ascent_m": round(self.route.ascent_m, 1), "cavalier_share": round(self.route.cavalier_share, 4),
                "ev5_share": round(self.route.ev5_share, 4), "stops": [st.as_dict() for st in self.stops],
                "summits": self.summits}


def load_specs(path: Path = CIRCUITS_FILE) -> dict[str, dict]:
    """The circuit descriptions, checked for the fields every circuit needs."""
    with open(path, "rb") as fh:
        specs = tomllib.load(fh)
    for cid, spec in specs.items():
        missing = [k for k in ("kind", "profile", "theme", "name_fr", "name_en", "description_fr", "description_en",
                               "sources") if k not in spec]
        if missing or spec.get("kind") not in KINDS:
            raise DataError(f"{path.name}: circuit {cid!r} lacks {', '.join(missing) or 'a known kind'}")
    return specs


def resolver(cfg: Settings, engine: Engine, catalogue: Catalogue, specs: dict[str, dict]):
    """A function turning a waypoint table into a Stop, with the landmarks the specs name located once."""
    keys = {w["landmark"] for s in specs.values() for w in [*s.get("waypoints", []), s.get("start", {})]
            if "landmark" in w}
    located = landmarks.locate(cfg, engine.graph, tuple(sorted(keys))) if keys else {}

    def resolve(cid: str, i: int, w: dict) -> Stop:
        if "poi" in w:
            try:
                p = catalogue.get(w["poi"])
            except UnknownPOI:
                raise CircuitError(f"circuit {cid!r}: waypoint {i} names POI {w['poi']!r}, which is not in the "
                                   "catalogue", field=f"{cid}.waypoints[{i}]") from None
            return Stop(p["lon"], p["lat"], p["id"], p["name"])
        if "landmark" in w:
            lm = next(lm for lm in landmarks.LANDMARKS if lm.key == w["landmark"])
            return Stop(*located[w["landmark"]], id=f"landmark:{lm.key}", name=lm.label)
        raise CircuitError(f"circuit {cid!r}: waypoint {i} names neither a poi nor a landmark",
                           field=f"{cid}.waypoints[{i}]")
    return resolve


def _route_in_order(engine: Engine, spec: dict, stops: list[Stop], cid: str) -> Route:
    """The route through the stops as given (back to the first if a loop), EV5 preferred if asked."""
    seq = stops + ([stops[0]] if spec.get("loop") else [])
    points = [(s.lon, s.lat) for s in seq]
    snaps = engine.snap(points, field="waypoints")
    profile = spec["profile"]
    weights = engine.weights(profile)
    cost = weights.cost_ms
    if spec.get("prefer_ev5"):
        cost = cost.copy()
        ev5 = np.repeat(engine.graph.edge_ev5, 2) & weights.allowed
        cost[ev5] = np.maximum(1, (cost[ev5] * EV5_PREFERENCE).astype(np.int64))
    metric = engine.custom_metric(cost) if spec.get("prefer_ev5") else engine.metric(profile)
    legs = []
    for i, (a, b) in enumerate(zip(snaps[:-1], snaps[1:])):
        leg = engine.leg(a, b, profile, engine.query_on(metric), cost)
        if leg is None:
            raise CircuitError(f"circuit {cid!r}: no {profile} route from waypoint {i} ({seq[i].name}) to "
                               f"waypoint {i + 1} ({seq[i + 1].name})", field=f"{cid}.waypoints[{i + 1}]")
        legs.append(leg.priced(weights.cost_ms))
    return build_route(engine.graph, weights, legs, points, profile, names=[s.name for s in seq])


def route_circuit(cfg: Settings, engine: Engine, cid: str, spec: dict, resolve) -> Circuit:
    """Resolve and route one circuit; any failure is a CircuitError naming the circuit and waypoint."""
    t0 = time.monotonic()
    try:
        if spec["kind"] == "trail":
            start = resolve(cid, 0, spec["start"])
            via = [resolve(cid, i + 1, w) for i, w in enumerate(spec.get("via", []))]
            course = plan_trail(engine, start, spec["distance_km"] * 1000, spec["terrils"], spec["profile"],
                                via=via, workers=cfg.workers)
            return Circuit(cid, spec, course.route, [start, *via], course.summits, time.monotonic() - t0)
        stops = [resolve(cid, i, w) for i, w in enumerate(spec["waypoints"])]
        if spec["kind"] == "tour":
            tour = plan_tour(engine, stops[0], stops[1:], spec["profile"], loop=bool(spec.get("loop", True)),
                             workers=cfg.workers)
            return Circuit(cid, spec, tour.route, [stops[0], *tour.stops], [], time.monotonic() - t0)
        return Circuit(cid, spec, _route_in_order(engine, spec, stops, cid), stops, [], time.monotonic() - t0)
    except CircuitError:
        raise
    except RoutingError as exc:
        raise CircuitError(f"circuit {cid!r}: {exc}", field=f"{cid}.{exc.field or 'waypoints'}") from exc


def circuits_version(engine: Engine, path: Path = CIRCUITS_FILE) -> str:
    """Hash of the circuit file, the catalogue version (which covers the graph's data version) and the code of
    ``routing`` and ``poi_data`` (planners, ascent counting, wording shape a routed circuit too)."""
    h = hashlib.sha256(path.read_bytes())
    h.update(catalogue_version(engine.graph).encode())
    h.update(code_version(ROUTING_DIR, Path(__file__).parent).encode())
    return h.hexdigest()[:16]


def load_or_build_circuits(cfg: Settings, engine: Engine, catalogue: Catalogue, progress=print) -> dict[str, Circuit]:
    """Every named circuit, from ``var/circuits-<version>.pkl`` or routed now (and cached atomically)."""
    path = cfg.cache_dir / f"circuits-{circuits_version(engine)}.pkl"
    if path.is_file():
        with open(path, "rb") as fh:
            return pickle.load(fh)
    specs = load_specs()
    resolve = resolver(cfg, engine, catalogue, specs)
    out = {}
    for n, (cid, spec) in enumerate(specs.items(), 1):
        out[cid] = route_circuit(cfg, engine, cid, spec, resolve)
        if progress:
            progress(f"circuit {n}/{len(specs)} {cid}: {out[cid].route.distance_m / 1000:.1f} km "
                     f"in {out[cid].build_s:.1f} s")
    with atomic_write(path) as fh:
        pickle.dump(out, fh)
    return out
