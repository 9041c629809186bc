"""``GET /v1/health``: is the graph loaded, which data version, how big, and is Redis up."""

from __future__ import annotations

import redis
from flask import Blueprint, current_app, jsonify
from marshmallow import Schema, fields

bp = Blueprint("health", __name__, url_prefix="/v1")


class GraphSizeSchema(Schema):
    nodes = fields.Integer(required=True)
    edges = fields.Integer(required=True)


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok, loading or error"})
    data_version = fields.String(allow_none=True)
    graph = fields.Nested(GraphSizeSchema, allow_none=True)
    redis = fields.String(required=True, metadata={"description": "up, down or not configured"})
    detail = fields.String()
    poi_version = fields.String(allow_none=True, metadata={"description": "the catalogue version deltas lead to"})
    bundle = fields.String(allow_none=True, metadata={
        "description": "the basin bundle's version; building, or the error that stopped its build"})
    attribution = fields.List(fields.String())


def redis_state(client: redis.Redis | None) -> str:
    """``up``, ``down`` or ``not configured``, without ever raising."""
    if client is None:
        return "not configured"
    try:
        client.ping()
        return "up"
    except (redis.RedisError, OSError):
        return "down"


@bp.get("/health")
def health():
    """Report the service state; 503 while the graph is loading or if it failed to load."""
    state = current_app.extensions["galibot.graph"]
    body = {"redis": redis_state(current_app.extensions.get("galibot.redis"))}
    if state.ready and state.graph is not None:
        g = state.graph
        body.update(status="ok", data_version=g.data_version, graph={"nodes": g.n_nodes, "edges": g.n_edges},
                    attribution=g.meta.get("attribution", []), poi_version=state.poi_version,
                    bundle=state.bundle.manifest["bundle_version"] if state.bundle else state.bundle_error)
        code = 200
    else:
        body.update(status="error" if state.error else "loading", data_version=None, graph=None)
        if state.error:
            body["detail"] = state.error
        code = 503
    return jsonify(HealthSchema().dump(body)), code
