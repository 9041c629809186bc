"""The galibot HTTP API: ``create_app`` builds a Flask app over the compiled graph."""

from __future__ import annotations

import os
from typing import Any

import redis
from flask import Flask
from flask_cors import CORS

from gpx_exports.store import DEFAULT_MAX_BYTES
from routing.build import BuildRequest, parse_bbox
from routing.settings import Settings

from .common import REDIS_TIMEOUT_S
from .devices import load_secret
from .errors import register_error_handlers
from .graph_state import GraphState
from .limits import init_limits
from .race_store import RaceStore
from .trip_store import TripStore

#: The rate limits a deployment may set (api/limits.py has the defaults).
LIMIT_KEYS = ("GALIBOT_PLANNER_LIMIT", "GALIBOT_HEAVY_LIMIT", "GALIBOT_ROUTE_LIMIT", "GALIBOT_DEVICE_LIMIT")
#: Response headers a browser client on another origin may read (the rest are CORS-safelisted).
CORS_EXPOSED = ("ETag", "Location", "Retry-After", "Content-Disposition", "Galibot-Thinning-Deviation-M",
                "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
#: Where ``make run`` serves; links in shared files use ``GALIBOT_PUBLIC_URL``, never the request's Host.
DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"


def _redis_client(url: str | None) -> redis.Redis | None:
    """A client with short timeouts, so a dead or hung Redis holds a request at most REDIS_TIMEOUT_S; None without
    a URL."""
    if not url:
        return None
    return redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S)


def cors_origins(value: str | None) -> list[str]:
    """The origins allowed to call the API from a browser: ``GALIBOT_CORS_ORIGINS``, comma-separated, ``*`` for
    any; none by default (the planner page is served by the API itself and needs none)."""
    return [o.strip().rstrip("/") for o in (value or "").split(",") if o.strip()]


def init_cors(app: Flask) -> None:
    """CORS headers on ``/v1`` for the configured origins (flask-cors answers the preflights)."""
    origins = cors_origins(app.config["GALIBOT_CORS_ORIGINS"])
    if origins:
        CORS(app, resources={r"/v1/*": {"origins": "*" if origins == ["*"] else origins}},
             expose_headers=list(CORS_EXPOSED), max_age=600)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The app factory.

    ``config`` keys: ``REDIS_URL``, ``GALIBOT_AREA`` (bbox or named area, default ``basin``),
    ``GALIBOT_PLANNER_LIMIT``, ``GALIBOT_HEAVY_LIMIT``, ``GALIBOT_ROUTE_LIMIT`` and ``GALIBOT_DEVICE_LIMIT`` (per
    client rate limits, see api/limits.py),
    ``GALIBOT_PUBLIC_URL`` (the base of links written into files, default DEFAULT_PUBLIC_URL),
    ``GALIBOT_EXPORT_MAX_BYTES`` (the export store's cap; env ``GALIBOT_EXPORT_MAX_MB``, default 1 GiB),
    ``GALIBOT_CORS_ORIGINS`` (browser origins allowed to call ``/v1``, comma-separated or ``*``; default none),
    ``GALIBOT_NODE_MODULES`` (where ``npm ci`` put the page's packages; default the project's ``node_modules``),
    ``GALIBOT_JOBS`` (``queue``: heavy requests go to RQ workers, api/jobs.py; default ``inline``),
    ``GALIBOT_SECRET`` (signs device tokens; default: a random one kept in ``<cache dir>/secret``),
    ``GALIBOT_SETTINGS`` (a routing Settings), ``GALIBOT_GRAPH`` (an already loaded graph, for tests) and
    ``GALIBOT_LOAD_GATE`` (a ``threading.Event`` the loader waits for, so a test sees the loading state).
    Missing keys fall back to the environment variables of the same name.
    """
    app = Flask(__name__)
    app.config.update(
        REDIS_URL=os.environ.get("REDIS_URL"),
        GALIBOT_AREA=os.environ.get("GALIBOT_AREA", "basin"),
        **{key: os.environ.get(key) for key in LIMIT_KEYS},
        GALIBOT_PUBLIC_URL=os.environ.get("GALIBOT_PUBLIC_URL", DEFAULT_PUBLIC_URL),
        GALIBOT_SECRET=os.environ.get("GALIBOT_SECRET"),
        GALIBOT_CORS_ORIGINS=os.environ.get("GALIBOT_CORS_ORIGINS"),
        GALIBOT_NODE_MODULES=os.environ.get("GALIBOT_NODE_MODULES"),
        GALIBOT_JOBS=os.environ.get("GALIBOT_JOBS", "inline"),
        GALIBOT_EXPORT_MAX_BYTES=int(float(os.environ.get("GALIBOT_EXPORT_MAX_MB", DEFAULT_MAX_BYTES / 2**20)) * 2**20),
        JSON_SORT_KEYS=False,
    )
    app.config.update(config or {})
    cfg = app.config.get("GALIBOT_SETTINGS") or Settings.from_env()
    state = GraphState(cfg, BuildRequest(bbox=parse_bbox(app.config["GALIBOT_AREA"])), app.config.get("GALIBOT_GRAPH"),
                       gate=app.config.get("GALIBOT_LOAD_GATE"))
    app.extensions["galibot.graph"] = state
    app.extensions["galibot.redis"] = _redis_client(app.config["REDIS_URL"])
    app.extensions["galibot.trips"] = TripStore(app.extensions["galibot.redis"])
    app.extensions["galibot.races"] = RaceStore(app.extensions["galibot.redis"])
    app.extensions["galibot.secret"] = load_secret(cfg.cache_dir / "secret", app.config["GALIBOT_SECRET"])
    register_error_handlers(app)

    from gpx_exports.settings import MAX_GPX_BYTES

    from . import (
        bundles,
        circuits,
        devices,
        health,
        isochrones,
        jobs,
        network,
        openapi,
        planner,
        pois,
        races,
        results,
        roundtrips,
        routes,
        tiles,
        tours,
        trails,
        trips,
    )

    # Flask's defaults hold MAX_CONTENT_LENGTH = None, so setdefault would leave bodies unbounded: the GPX limit
    # plus the multipart envelope, unless the caller set one; JSON bodies get a smaller cap (common.json_body)
    app.config["MAX_CONTENT_LENGTH"] = (config or {}).get("MAX_CONTENT_LENGTH") or MAX_GPX_BYTES + 1024 * 1024
    for blueprint in (health.bp, pois.bp, routes.bp, tours.bp, roundtrips.bp, trails.bp, isochrones.bp, circuits.bp,
                      results.bp, races.bp, bundles.bp, tiles.bp, network.bp, devices.bp, trips.bp, openapi.bp,
                      planner.bp, jobs.bp):
        app.register_blueprint(blueprint)
    init_cors(app)
    app.extensions["galibot.limiter"] = init_limits(app)
    state.start_loading()
    return app
