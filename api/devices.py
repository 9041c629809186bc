"""``POST /v1/devices``: device tokens issued and signed by the server.

A token is ``gd1.<device id>.<signature>``: a random id and an HMAC-SHA256 of it under the server's
secret, so the server checks a token without storing it, and nobody can make one up. Trips belong
to a signed token, and rate limits count a signed token as one client; any other bearer token is
counted by the caller's address, like an anonymous call.

The secret is ``GALIBOT_SECRET`` when configured, else a random one written once (mode 0600, linked
into place so concurrent starts agree) to ``<cache dir>/secret``, so tokens stay valid across
restarts and workers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

from flask import Blueprint, current_app, jsonify, url_for
from marshmallow import Schema, fields

from .common import bearer_token

bp = Blueprint("devices", __name__, url_prefix="/v1/devices")

TOKEN_PREFIX = "gd1"
SECRET_BYTES = 32
ID_BYTES = 16
SIGNATURE_BYTES = 16


class DeviceSchema(Schema):
    token = fields.String(required=True, metadata={"description": "send it as Authorization: Bearer <token>"})
    device_id = fields.String(required=True)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _signature(secret: bytes, device_id: str) -> str:
    mac = hmac.new(secret, f"{TOKEN_PREFIX}.{device_id}".encode(), hashlib.sha256).digest()
    return _b64(mac[:SIGNATURE_BYTES])


def make_token(secret: bytes, device_id: str | None = None) -> str:
    """A signed token for ``device_id`` (a new random id by default)."""
    device_id = device_id or _b64(secrets.token_bytes(ID_BYTES))
    return f"{TOKEN_PREFIX}.{device_id}.{_signature(secret, device_id)}"


def is_signed(secret: bytes, token: str) -> bool:
    """Whether ``token`` was issued with ``secret`` (constant-time comparison)."""
    prefix, _, rest = token.partition(".")
    device_id, _, signature = rest.rpartition(".")
    if prefix != TOKEN_PREFIX or not device_id or not signature:
        return False
    return hmac.compare_digest(signature, _signature(secret, device_id))


def load_secret(path: Path, configured: str | None = None) -> bytes:
    """The configured secret, else the one kept at ``path``, created on first use."""
    if configured:
        return configured.encode()
    path = Path(path)
    if not path.exists():  # written whole to a temporary file, then linked: two starting workers agree on one
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".secret.", dir=path.parent)
        try:
            os.write(fd, secrets.token_hex(SECRET_BYTES).encode())
            os.fsync(fd)
            os.close(fd)
            os.link(tmp, path)  # fails if another process made it first; its secret is then the one
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_bytes().strip()


def server_secret() -> bytes:
    return current_app.extensions["galibot.secret"]


def signed_token() -> str:
    """The request's bearer token when this server signed it, else ``""``."""
    token = bearer_token()
    return token if token and is_signed(server_secret(), token) else ""


@bp.post("")
def new_device():
    """A new device token: 201, with the token and its device id."""
    token = make_token(server_secret())
    device_id = token.split(".")[1]
    resp = jsonify(DeviceSchema().dump({"token": token, "device_id": device_id}))
    resp.status_code = 201
    resp.headers["Location"] = url_for("trips.list_trips")
    resp.headers["Cache-Control"] = "no-store"
    return resp
