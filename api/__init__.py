"""The galibot HTTP API: ``create_app`` builds a Flask app over the compiled graph."""

from __future__ import annotations

import os
from typing import Any

import redis
from flask import Flask

from routing.build import BuildRequest, parse_bbox
from routing.settings import Settings

from .common import REDIS_TIMEOUT_S
from .errors import register_error_handlers
from .graph_state import GraphState
from .limits import init_limits
from .trip_store import TripStore


def _redis_client(url: str | None) -> redis.Redis | None:
    """A client with short timeouts, so a dead or hung Redis holds a request at most REDIS_TIMEOUT_S; None without
    a URL."""
    if not url:
        return None
    return redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The app factory.

    ``config`` keys: ``REDIS_URL``, ``GALIBOT_AREA`` (bbox or named area, default ``basin``),
    ``GALIBOT_PLANNER_LIMIT`` (per client on tours, round trips and trails, default ``30 per minute``),
    ``GALIBOT_SETTINGS`` (a routing Settings), ``GALIBOT_GRAPH`` (an already loaded graph, for tests) and
    ``GALIBOT_LOAD_GATE`` (a ``threading.Event`` the loader waits for, so a test sees the loading state).
    Missing keys fall back to the environment variables of the same name.
    """
    app = Flask(__name__)
    app.config.update(
        REDIS_URL=os.environ.get("REDIS_URL"),
        GALIBOT_AREA=os.environ.get("GALIBOT_AREA", "basin"),
        GALIBOT_PLANNER_LIMIT=os.environ.get("GALIBOT_PLANNER_LIMIT"),
        JSON_SORT_KEYS=False,
    )
    app.config.update(config or {})
    cfg = app.config.get("GALIBOT_SETTINGS") or Settings.from_env()
    state = GraphState(cfg, BuildRequest(bbox=parse_bbox(app.config["GALIBOT_AREA"])), app.config.get("GALIBOT_GRAPH"),
                       gate=app.config.get("GALIBOT_LOAD_GATE"))
    app.extensions["galibot.graph"] = state
    app.extensions["galibot.redis"] = _redis_client(app.config["REDIS_URL"])
    app.extensions["galibot.trips"] = TripStore(app.extensions["galibot.redis"])
    register_error_handlers(app)

    from gpx_exports.settings import MAX_GPX_BYTES

    from . import (
        bundles,
        circuits,
        health,
        isochrones,
        openapi,
        pois,
        results,
        roundtrips,
        routes,
        tours,
        trails,
        trips,
    )

    app.config.setdefault("MAX_CONTENT_LENGTH", MAX_GPX_BYTES + 1024 * 1024)  # the GPX limit plus the envelope
    for blueprint in (health.bp, pois.bp, routes.bp, tours.bp, roundtrips.bp, trails.bp, isochrones.bp, circuits.bp,
                      results.bp, bundles.bp, trips.bp, openapi.bp):
        app.register_blueprint(blueprint)
    app.extensions["galibot.limiter"] = init_limits(app)
    state.start_loading()
    return app
