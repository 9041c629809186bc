"""``/``: the web planner page, a static front end over the public API, with its npm packages.

The page (``api/web``) talks only to ``/v1``; MapLibre GL JS is served from ``node_modules``, installed by
``make install`` (``npm ci`` from the committed ``package-lock.json``), so nothing is fetched from another
server at run time and the page works on a machine with no internet.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, send_from_directory

from .errors import APIProblem

bp = Blueprint("planner", __name__)

WEB_DIR = Path(__file__).with_name("web")
#: The project's node_modules (``GALIBOT_NODE_MODULES`` overrides it).
NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
#: npm packages the page loads, and the folder of each that is served.
VENDOR = {"maplibre-gl": "maplibre-gl/dist"}
#: Served as JavaScript whatever the system's MIME table says (browsers refuse modules of another type).
SCRIPT_SUFFIXES = (".js", ".mjs")
ASSET_MAX_AGE_S = 3600
VENDOR_MAX_AGE_S = 86400


def _send(folder: Path, name: str, max_age: int):
    mimetype = "text/javascript" if name.endswith(SCRIPT_SUFFIXES) else None
    return send_from_directory(folder, name, max_age=max_age, mimetype=mimetype)


@bp.get("/")
def page():
    """The planner page (never cached, so a new release is seen at once)."""
    return send_from_directory(WEB_DIR, "index.html", max_age=0)


@bp.get("/web/<path:name>")
def asset(name: str):
    """The page's own scripts and style."""
    return _send(WEB_DIR, name, ASSET_MAX_AGE_S)


@bp.get("/web/vendor/<package>/<path:name>")
def vendor(package: str, name: str):
    """A file of an npm package the page uses; 503 when ``npm ci`` has not installed it."""
    if package not in VENDOR:
        raise APIProblem(404, "Not Found", f"no package {package!r}", "package")
    root = Path(current_app.config.get("GALIBOT_NODE_MODULES") or NODE_MODULES) / VENDOR[package]
    if not root.is_dir():
        raise APIProblem(503, "Service Unavailable", f"{package} is not installed: run `make install` (npm ci)",
                         "package")
    return _send(root, name, VENDOR_MAX_AGE_S)
