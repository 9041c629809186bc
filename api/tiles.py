"""``/v1/tiles``: the basemap's vector tiles, its TileJSON and its MapLibre style, for the web page and online apps.

The tiles are the ones the bundles carry (``gpx_exports.tileset``): one PMTiles archive, memory-mapped,
its directory held in a dict, so a tile costs a lookup and a copy. They are stored gzip-compressed and
sent so (``Content-Encoding: gzip``) to clients that accept it, inflated for the others. Each has a
strong ETag (a hash of its bytes) and may be cached for a day.

- A zoom outside the archive's range (8..14), or an x or y past the edge of the world at that zoom: 404
  problem naming ``z``, ``x`` or ``y`` (map clients over-zoom the z14 tiles themselves).
- A tile inside the range but outside the served area: ``204 No Content``, an empty tile, which map
  clients draw as empty land without an error.
- The archive not built yet: 503 (``galibot bundle`` builds it).
"""

from __future__ import annotations

import gzip
import hashlib
import threading

from flask import Blueprint, Response, current_app, request

from gpx_exports.mapstyle import style
from gpx_exports.tileset import BasemapArchive, BasemapError, open_basemap, pyramid_path
from routing.settings import Settings

from .errors import APIProblem

bp = Blueprint("tiles", __name__, url_prefix="/v1/tiles")

MVT = "application/vnd.mapbox-vector-tile"
TILE_CACHE = "public, max-age=86400"
_lock = threading.Lock()


def _cfg() -> Settings:
    return current_app.extensions["galibot.graph"].cfg


def archive() -> BasemapArchive:
    """The served archive, opened once per process; 503 while it is not built."""
    opened = current_app.extensions.get("galibot.basemap")
    if opened is not None:
        return opened
    with _lock:
        opened = current_app.extensions.get("galibot.basemap")
        if opened is None:
            path = pyramid_path(_cfg())
            if not path.is_file():
                raise APIProblem(503, "Service Unavailable", "the basemap is not built yet: run `galibot bundle` "
                                 "(make run does)", "basemap")
            try:
                opened = current_app.extensions["galibot.basemap"] = open_basemap(path)
            except BasemapError as exc:
                raise APIProblem(503, "Service Unavailable", str(exc), "basemap") from None
    return opened


def _tile_url() -> str:
    return request.url_root.rstrip("/") + "/v1/tiles/{z}/{x}/{y}.mvt"


def _json_with_etag(doc: dict) -> Response:
    resp = current_app.json.response(doc)
    tag = hashlib.sha256(resp.get_data()).hexdigest()[:32]
    if request.if_none_match.contains(tag):
        resp = Response(status=304)
    resp.set_etag(tag)
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/tiles.json")
def tilejson():
    """The TileJSON 3.0 of the basemap: tile URL, zooms, bounds, layers and attribution."""
    opened = archive()
    info, meta = opened.info, opened.metadata
    return _json_with_etag({
        "tilejson": "3.0.0", "name": meta.get("name"), "tiles": [_tile_url()], "minzoom": info.min_zoom,
        "maxzoom": info.max_zoom, "bounds": list(info.bbox), "attribution": meta.get("attribution"),
        "vector_layers": meta.get("vector_layers", [])})


@bp.get("/style.json")
def style_json():
    """The MapLibre style (no glyphs or sprites needed) on this server's tiles."""
    info = archive().info
    return _json_with_etag(style({"tiles": [_tile_url()], "bounds": list(info.bbox)}))


def _coordinate(name: str, value: str, limit: int) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 <= number < limit:
        raise APIProblem(404, "Not Found", f"{name} must be a whole number from 0 to {limit - 1}; {value!r} was "
                         "given", name)
    return number


@bp.get("/<z>/<x>/<y>.mvt")
def tile(z: str, x: str, y: str):
    """One vector tile (gzip MVT), 204 where the served area has none, 404 past the zooms or the world's edge."""
    opened = archive()
    info = opened.info
    zoom = _coordinate("z", z, info.max_zoom + 1)
    if zoom < info.min_zoom:
        raise APIProblem(404, "Not Found", f"zoom {zoom} is below the basemap's lowest zoom {info.min_zoom}", "z")
    tx, ty = _coordinate("x", x, 1 << zoom), _coordinate("y", y, 1 << zoom)
    data = opened.tile(zoom, tx, ty)
    if data is None:
        resp = Response(status=204)
        resp.headers["Cache-Control"] = TILE_CACHE
        return resp
    tag = hashlib.blake2b(data, digest_size=16).hexdigest()
    if request.if_none_match.contains(tag):
        resp = Response(status=304)
    elif "gzip" in request.accept_encodings:
        resp = Response(data, mimetype=MVT)
        resp.headers["Content-Encoding"] = "gzip"
    else:
        resp = Response(gzip.decompress(data), mimetype=MVT)
    resp.set_etag(tag)
    resp.headers["Cache-Control"] = TILE_CACHE
    resp.headers["Vary"] = "Accept-Encoding"
    return resp
