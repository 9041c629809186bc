"""Per-client rate limits on the expensive endpoints (tours, round trips, trails), counted atomically in Redis.

flask-limiter keeps the counters in the API's Redis (moving window, one Lua script per check, so
concurrent workers agree). A client is its bearer token when it sends one, else its address. If
Redis is down the check is skipped (``swallow_errors``): the API serves without limits rather than
failing, and ``/v1/health`` reports Redis down.
"""

from __future__ import annotations

import hashlib

from flask import Flask, request
from flask_limiter import Limiter

from .common import REDIS_TIMEOUT_S, bearer_token

#: The endpoints that run a planner; each client may call them this often (``GALIBOT_PLANNER_LIMIT``).
EXPENSIVE = ("tours.post_tour", "roundtrips.post_roundtrips", "trails.post_trail")
DEFAULT_PLANNER_LIMIT = "30 per minute"


def client_key() -> str:
    """Who is counted: the bearer token (hashed) when there is one, else the remote address."""
    token = bearer_token()
    if token:
        return "token:" + hashlib.sha256(token.encode()).hexdigest()[:24]
    return "addr:" + (request.remote_addr or "unknown")


def init_limits(app: Flask) -> Limiter:
    """Attach the limiter to the app and limit its expensive endpoints (registered before this is called)."""
    url = app.config.get("REDIS_URL")
    limiter = Limiter(
        key_func=client_key, app=app, storage_uri=url or "memory://",
        storage_options={"socket_timeout": REDIS_TIMEOUT_S, "socket_connect_timeout": REDIS_TIMEOUT_S} if url else {},
        strategy="moving-window", headers_enabled=True, swallow_errors=True, key_prefix="galibot-limit",
        enabled=bool(url) and app.config.get("RATELIMIT_ENABLED", True),
    )
    rule = app.config.get("GALIBOT_PLANNER_LIMIT") or DEFAULT_PLANNER_LIMIT
    for endpoint in EXPENSIVE:
        app.view_functions[endpoint] = limiter.limit(rule)(app.view_functions[endpoint])
    return limiter
