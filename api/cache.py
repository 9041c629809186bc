"""The Redis result cache, keyed like the export store (data version, endpoint, canonical parameters); ETags.

If Redis is down the API keeps serving, uncached: every Redis call here fails soft.
"""

from __future__ import annotations

import hashlib

import redis
from flask import Response, current_app, request

TTL_S = 7 * 24 * 3600


def result_key(export_key: str) -> str:
    """``galibot:result:<export key>``: the export key already hashes the endpoint, the canonical parameters and
    the data version, so the cache and the export store name a result alike."""
    return f"galibot:result:{export_key}"


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
