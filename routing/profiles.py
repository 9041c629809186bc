"""Routing profiles: load ``profiles.toml`` and turn a profile into per-arc weight arrays.

Arc ``2i`` runs along way ``i`` from ``edge_u`` to ``edge_v``, arc ``2i+1`` runs back. The engine
reads only the arrays computed here; how a profile likes a way lives in the TOML file.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import core
from .compiled import CompiledGraph
from .errors import UnknownProfile

PROFILES_FILE = Path(__file__).with_name("profiles.toml")
#: Weights are whole milliseconds of cost; RoutingKit treats this value as "no arc".
INF_WEIGHT = 2**31 - 1
#: A profile's bonuses never bring an arc's cost below this share of its travel time.
MIN_COST_SHARE = 0.25
FORBID = "forbid"


@dataclass(frozen=True)
class Profile:
    """One profile as written in profiles.toml."""

    name: str
    description: str
    speed_model: str
    oneway: str
    climb_penalty_s_per_m: float
    class_factor: dict[str, float | str]
    subclass_factor: dict[str, float | str] = field(default_factory=dict)
    flags: dict[str, float] = field(default_factory=dict)
    push_subclasses: tuple[str, ...] = ()
    dismount_s: dict[str, float] = field(default_factory=dict)
    params: dict[str, float] = field(default_factory=dict)

    @property
    def rides(self) -> bool:
        """Whether the profile is ridden (a cyclist pushes on ``push_subclasses``) rather than walked or run."""
        return self.speed_model == "cycling"

    @property
    def flat_kmh(self) -> float:
        """The speed on the flat: what bounds how far the profile gets in a given time."""
        return float(self.speed_kmh(np.zeros(1))[0])

    def speed_kmh(self, grade: np.ndarray) -> np.ndarray:
        """Travel speed on each grade (rise over run, signed), by the profile's speed model (``routing.core``'s)."""
        return core.speed_kmh(self.speed_model, self.params, grade, np)

    def walk_kmh(self, grade: np.ndarray) -> np.ndarray:
        """Speed when the rider gets off and pushes: Tobler, capped at ``walk_kmh``."""
        return core.walk_kmh(self.params, grade, np)

    def model(self) -> dict:
        """What a phone needs to time an arc of this profile (the bundle's ``profile_models``)."""
        return {"speed_model": self.speed_model, "params": self.params, "oneway": self.oneway,
                "push_subclasses": list(self.push_subclasses)}


def load_profiles(path: Path = PROFILES_FILE) -> dict[str, Profile]:
    """All profiles of the TOML file, by name."""
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    out = {}
    for name, spec in raw.items():
        spec = dict(spec)
        out[name] = Profile(
            name=name,
            description=spec.pop("description"),
            speed_model=spec.pop("speed_model"),
            oneway=spec.pop("oneway"),
            climb_penalty_s_per_m=float(spec.pop("climb_penalty_s_per_m", 0.0)),
            class_factor=spec.pop("class_factor"),
            subclass_factor=spec.pop("subclass_factor", {}),
            flags=spec.pop("flags", {}),
            push_subclasses=tuple(spec.pop("push_subclasses", ())),
            dismount_s={k: float(v) for k, v in spec.pop("dismount_s", {}).items()},
            params={k: float(v) for k, v in spec.items()},
        )
    return out


PROFILES = load_profiles()
DEFAULT_PROFILE = "bike"


def get_profile(name: str) -> Profile:
    """The named profile, or UnknownProfile listing the ones that exist."""
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownProfile(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}") from None


@dataclass
class ArcWeights:
    """Per-arc arrays of one profile on one graph."""

    profile: str
    cost_ms: np.ndarray  # int64, INF_WEIGHT where the profile may not go
    time_s: np.ndarray  # float64 travel time
    walked: np.ndarray  # bool: the rider pushes the bike there

    @property
    def allowed(self) -> np.ndarray:
        return self.cost_ms < INF_WEIGHT


def _factor(table: dict[str, float | str], default: float = 1.0) -> Callable[[object], float]:
    """A value's factor in ``table``; ``forbid`` becomes infinity."""
    def factor(value: object) -> float:
        f = table.get(str(value), default)
        return math.inf if f == FORBID else float(f)
    return factor


def _per_arc(graph: CompiledGraph, column: str, value_of: Callable[[object], float | bool]) -> np.ndarray:
    """``value_of`` an attribute (``class``, ``subclass``…) for every arc, both directions of each way alike.

    Ways share a few hundred rows of attributes, so the value is worked out once per row and then gathered: a
    look-up per arc on the decoded strings took most of a profile's half second."""
    col = graph.meta["attr_names"].index(column)
    per_row = np.array([value_of(row[col]) for row in graph.meta["attr_table"]])
    return np.repeat(per_row[graph.edge_attr], 2)


def _directed(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    out = np.empty(2 * len(forward), dtype=np.result_type(forward, backward))
    out[0::2], out[1::2] = forward, backward
    return out


def arc_weights(graph: CompiledGraph, profile: Profile) -> ArcWeights:
    """Travel time and search cost of every arc for ``profile``."""
    length = _directed(graph.edge_length, graph.edge_length)
    up = _directed(graph.edge_ascent, graph.edge_descent).astype(float)
    down = _directed(graph.edge_descent, graph.edge_ascent).astype(float)
    push = frozenset(profile.push_subclasses)
    walked = _per_arc(graph, "subclass", lambda sub: sub in push)
    oneway = _per_arc(graph, "oneway", bool)
    against = oneway & (np.arange(len(length)) % 2 == 1)
    if profile.oneway == "push":
        walked |= against
    ride = core.split_time_s(length, up, down, profile.speed_kmh, np)
    push = core.split_time_s(length, up, down, profile.walk_kmh, np)
    time = np.where(walked, push, ride)
    factor = _per_arc(graph, "class", _factor(profile.class_factor)) * \
        _per_arc(graph, "subclass", _factor(profile.subclass_factor))
    on_terril = graph.edge_on_terril()
    for flag, values in (("cavalier", graph.edge_cavalier), ("ev5", graph.edge_ev5), ("terril", on_terril)):
        factor = factor * np.where(np.repeat(values, 2), profile.flags.get(flag, 1.0), 1.0)
    cost = time * factor + profile.climb_penalty_s_per_m * up
    if profile.dismount_s:  # getting off to carry the bike (steps) costs a fixed time, however short the flight
        cost = cost + _per_arc(graph, "subclass", _factor(profile.dismount_s, default=0.0))
    cost = np.maximum(cost, MIN_COST_SHARE * time * np.minimum(factor, 1.0))
    if profile.oneway == "forbid":
        cost[against] = math.inf
    cost_ms = np.where(np.isfinite(cost), np.maximum(np.rint(cost * 1000.0), 1), INF_WEIGHT)
    return ArcWeights(profile.name, np.minimum(cost_ms, INF_WEIGHT).astype(np.int64), time, walked)
