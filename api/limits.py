"""Per-client rate limits on the costly endpoints, counted atomically in Redis.

Planners (tours, round trips, trails), heavy requests (isochrones, GPX analyses, re-rendered files),
route legs, and new device tokens each have a limit. flask-limiter keeps the counters in the API's
Redis (moving window, one Lua script per check, so concurrent workers agree). A client is its
device token when the server signed it (``POST /v1/devices``), else its address. If
Redis is down the check is skipped (``swallow_errors``): the API serves without limits rather than
failing, and ``/v1/health`` reports Redis down.
"""

from __future__ import annotations

import hashlib
from functools import cache

from flask import Flask, request
from flask_limiter import Limiter

from routing.settings import MAX_ROUTE_POINTS

from .common import REDIS_TIMEOUT_S, json_body
from .devices import signed_token
from .errors import APIProblem

#: The endpoints that run a planner; each client may call each this often (``GALIBOT_PLANNER_LIMIT``).
EXPENSIVE = ("tours.post_tour", "roundtrips.post_roundtrips", "trails.post_trail", "circuits.post_themed_circuit")
DEFAULT_PLANNER_LIMIT = "30 per minute"
#: Isochrones, GPX analyses, GPX re-renders of a stored result with new options, and its sheets and pictures
#: (``GALIBOT_HEAVY_LIMIT``).
HEAVY = ("isochrones.get_isochrones", "results.analyze_gpx", "races.post_race", "races.put_race")
RENDER = "results.get_result"
#: A race's files are drawn or written from the stored race like a result's (its JSON and stored files are not).
RACE_RENDER = "races.get_race"
DEFAULT_HEAVY_LIMIT = "60 per minute"
#: Route legs (a route of n points costs n − 1) per client (``GALIBOT_ROUTE_LIMIT``): 2-point re-routing at 10 a
#: second, or about 23 routes of 27 points a minute.
DEFAULT_ROUTE_LIMIT = "600 per minute"
#: New device tokens per address (``GALIBOT_DEVICE_LIMIT``): a device asks once.
DEFAULT_DEVICE_LIMIT = "20 per hour"


def client_key() -> str:
    """Who is counted: a device token the server signed (hashed), else the remote address; a token anyone can
    make up counts as its sender's address, so new tokens do not buy new limits."""
    token = signed_token()
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:24] if token else address_key()


def address_key() -> str:
    return "addr:" + (request.remote_addr or "unknown")


def route_legs() -> int:
    """What a route request costs against the route limit: its legs (1 when the body is refused; the view then
    gives the same refusal). The body parsed here is the one the view reads (``json_body`` keeps it)."""
    try:
        points = json_body().get("points")
    except APIProblem:
        return 1
    return max(1, min(len(points), MAX_ROUTE_POINTS) - 1) if isinstance(points, list) else 1


@cache
def _render_options() -> frozenset[str]:
    from .results import FileOptionsSchema  # here: results imports the api package, whose factory imports this

    return frozenset(FileOptionsSchema().fields) - {"format"}


#: Formats that draw (a sheet, a picture): counted as re-renders even without options.
DRAWN = ("pdf", "png", "svg")


def renders_nothing() -> bool:
    """A GET of a stored result without file options (``format`` aside) serves stored bytes: not limited. A sheet
    or a picture is drawn from the result, so it counts, as a re-render does."""
    drawn = request.path.rsplit(".", 1)[-1] in DRAWN or request.args.get("format") in DRAWN
    return not drawn and not _render_options().intersection(request.args)


def init_limits(app: Flask) -> Limiter:
    """Attach the limiter to the app and limit its costly endpoints (registered before this is called)."""
    url = app.config.get("REDIS_URL")
    limiter = Limiter(
        key_func=client_key, app=app, storage_uri=url or "memory://",
        storage_options={"socket_timeout": REDIS_TIMEOUT_S, "socket_connect_timeout": REDIS_TIMEOUT_S} if url else {},
        strategy="moving-window", headers_enabled=True, swallow_errors=True, key_prefix="galibot-limit",
        enabled=bool(url) and app.config.get("RATELIMIT_ENABLED", True),
    )
    views = app.view_functions
    planner = app.config.get("GALIBOT_PLANNER_LIMIT") or DEFAULT_PLANNER_LIMIT
    heavy = app.config.get("GALIBOT_HEAVY_LIMIT") or DEFAULT_HEAVY_LIMIT
    for endpoint in EXPENSIVE:
        views[endpoint] = limiter.limit(planner)(views[endpoint])
    for endpoint in HEAVY:
        views[endpoint] = limiter.limit(heavy)(views[endpoint])
    views[RENDER] = limiter.limit(heavy, exempt_when=renders_nothing)(views[RENDER])
    views[RACE_RENDER] = limiter.limit(heavy, exempt_when=renders_nothing)(views[RACE_RENDER])
    views["routes.post_route"] = limiter.limit(app.config.get("GALIBOT_ROUTE_LIMIT") or DEFAULT_ROUTE_LIMIT,
                                               cost=route_legs)(views["routes.post_route"])
    views["devices.new_device"] = limiter.limit(app.config.get("GALIBOT_DEVICE_LIMIT") or DEFAULT_DEVICE_LIMIT,
                                                key_func=address_key)(views["devices.new_device"])
    return limiter
