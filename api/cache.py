"""The Redis result cache: a key per data version, endpoint and canonical parameters; ETags on every result.

If Redis is down the API keeps serving, uncached: every Redis call here fails soft.
"""

from __future__ import annotations

import hashlib
import json

import redis
from flask import Response, current_app, request

TTL_S = 7 * 24 * 3600


def canonical_key(data_version: str, endpoint: str, params: dict) -> str:
    """``galibot:<version>:<endpoint>:<sha256 of the sorted, compact parameters>``."""
    body = json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return f"galibot:{data_version}:{endpoint}:{hashlib.sha256(body.encode()).hexdigest()[:32]}"


def etag_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def _client() -> redis.Redis | None:
    return current_app.extensions.get("galibot.redis")


def get(key: str) -> bytes | None:
    client = _client()
    if client is None:
        return None
    try:
        return client.get(key)
    except (redis.RedisError, OSError):
        return None


def put(key: str, body: bytes) -> None:
    client = _client()
    if client is None:
        return
    try:
        client.set(key, body, ex=TTL_S)
    except (redis.RedisError, OSError):
        pass


def respond(body: bytes, mimetype: str, cached: bool) -> Response:
    """The body with a strong ETag; 304 when the client already holds it."""
    tag = etag_of(body)
    if request.if_none_match.contains(tag):
        resp = Response(status=304)
    else:
        resp = Response(body, mimetype=mimetype)
    resp.set_etag(tag)
    resp.headers["X-Cache"] = "hit" if cached else "miss"
    return resp


def cached_json(endpoint: str, params: dict, data_version: str, compute) -> Response:
    """Serve ``compute()`` (a JSON-able object) from the cache, or compute and store it."""
    key = canonical_key(data_version, endpoint, params)
    body = get(key)
    if body is not None:
        return respond(body, "application/geo+json", cached=True)
    body = json.dumps(compute(), ensure_ascii=False, separators=(",", ":")).encode()
    put(key, body)
    return respond(body, "application/geo+json", cached=False)
