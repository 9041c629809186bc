"""``GET /v1/network/<kind>.geojson``: the greenways, cavaliers and EuroVelo 5 as map overlays.

Made once per process from the compiled graph (0.05–0.4 s on the whole basin), then served from memory
with a strong ETag; at most 150 KB (the cavaliers, 40 KB gzip).
"""

from __future__ import annotations

import hashlib
import json
import threading

from flask import Blueprint, Response, current_app, request

from gpx_exports.network import NETWORK_KINDS, network_geojson

from .common import service
from .errors import APIProblem

bp = Blueprint("network", __name__, url_prefix="/v1/network")
_lock = threading.Lock()


def _overlay(kind: str) -> tuple[bytes, str]:
    """(GeoJSON bytes, ETag) of one overlay of the loaded graph, made on first use."""
    state = service()
    cache = current_app.extensions.setdefault("galibot.network", {})
    key = (state.graph.data_version, kind)
    with _lock:
        if key not in cache:
            body = json.dumps(network_geojson(state.graph, kind), separators=(",", ":")).encode()
            cache[key] = (body, hashlib.sha256(body).hexdigest()[:32])
    return cache[key]


@bp.get("/<kind>.geojson")
def get_network(kind: str):
    """One overlay as a GeoJSON FeatureCollection (one MultiLineString Feature with its length in km)."""
    if kind not in NETWORK_KINDS:
        raise APIProblem(404, "Not Found", f"no network {kind!r}; choose one of {', '.join(NETWORK_KINDS)}", "kind")
    body, tag = _overlay(kind)
    if request.if_none_match.contains(tag):
        resp = Response(status=304)
    else:
        resp = Response(body, mimetype="application/geo+json")
    resp.set_etag(tag)
    resp.headers["Cache-Control"] = "no-cache"
    return resp
