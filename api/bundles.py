"""``/v1/bundles``: the region bundles the offline app downloads, resumable and cached for good.

Files are content-addressed (their name holds their hash), so they are served with their sha256 as a
strong ETag, ``Range`` support for resuming a cut download, and an immutable Cache-Control. The
manifest is not: it is revalidated (``no-cache``) with its own ETag.
"""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, current_app, request, send_file
from marshmallow import Schema, fields
from werkzeug.http import parse_range_header

from gpx_exports.bundles import REGIONS, bundle_dir, read_manifest
from routing.settings import Settings

from .errors import APIProblem

bp = Blueprint("bundles", __name__, url_prefix="/v1/bundles")

IMMUTABLE = "public, max-age=31536000, immutable"


class BundleSummarySchema(Schema):
    region = fields.String(required=True)
    name = fields.String(required=True)
    bbox = fields.List(fields.Float(), required=True)
    built = fields.Boolean(required=True)
    bundle_version = fields.String(allow_none=True)
    data_version = fields.String(allow_none=True)
    poi_version = fields.String(allow_none=True)
    built_at = fields.String(allow_none=True)
    total_bytes = fields.Integer(allow_none=True)
    manifest = fields.String(allow_none=True, metadata={"description": "URL of the manifest"})


class BundleListSchema(Schema):
    bundles = fields.List(fields.Nested(BundleSummarySchema), required=True)


def _cfg() -> Settings:
    return current_app.extensions["galibot.graph"].cfg


def _region(region: str) -> dict:
    """The region's manifest; 404 naming the region when it is unknown or not built."""
    if region not in REGIONS:
        raise APIProblem(404, "Not Found", f"no region {region!r}; choose one of {', '.join(REGIONS)}", "region")
    manifest = read_manifest(_cfg(), region)
    if manifest is None:
        raise APIProblem(404, "Not Found", f"the {region} bundle is not built yet (galibot bundle --region {region})",
                         "region")
    return manifest


def _summary(region: str, spec: dict) -> dict:
    m = read_manifest(_cfg(), region)
    if m is None:
        return {"region": region, "name": spec["name"], "bbox": [], "built": False}
    return {"region": region, "name": spec["name"], "bbox": m["region"]["bbox"], "built": True,
            "bundle_version": m["bundle_version"], "data_version": m["data_version"],
            "poi_version": m["poi_version"], "built_at": m["built_at"], "total_bytes": m["total_bytes"],
            "manifest": f"/v1/bundles/{region}/manifest.json"}


@bp.get("")
def list_bundles():
    """Every region, with its current bundle's version and size where one is built."""
    return BundleListSchema().dump({"bundles": [_summary(r, spec) for r, spec in REGIONS.items()]})


@bp.get("/<region>/manifest.json")
def manifest(region: str):
    """The region's manifest: format, versions, build time, every file with size, sha256 and media type."""
    body = json.dumps(_region(region), ensure_ascii=False).encode("utf-8")
    tag = hashlib.sha256(body).hexdigest()
    resp = Response(status=304) if request.if_none_match.contains(tag) else Response(body, mimetype="application/json")
    resp.set_etag(tag)
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/<region>/<name>")
def bundle_file(region: str, name: str):
    """One file of the current bundle, with ETag = sha256, If-None-Match → 304 and Range → 206."""
    entry = next((f for f in _region(region)["files"] if f["name"] == name), None)
    if entry is None:  # only listed names are served: nothing else of the directory can be reached
        raise APIProblem(404, "Not Found", f"{name!r} is not a file of the current {region} bundle; "
                                           f"read /v1/bundles/{region}/manifest.json again", "name")
    mimetype = "application/gzip" if entry["compression"] == "gzip" else entry["media_type"]
    asked = parse_range_header(request.environ.get("HTTP_RANGE"))
    if "HTTP_RANGE" in request.environ and (asked is None or asked.units != "bytes"):
        del request.environ["HTTP_RANGE"]  # a Range that does not parse, or in other units, is ignored (RFC 9110 §14.2)
    resp = send_file(bundle_dir(_cfg(), region) / name, mimetype=mimetype, conditional=True, etag=entry["sha256"],
                     max_age=31536000)
    resp.headers["Cache-Control"] = IMMUTABLE
    resp.headers["Accept-Ranges"] = "bytes"
    return resp
