"""``GET /v1/circuits`` and ``GET /v1/circuits/<id>``: the named circuits, routed when the API loads."""

from __future__ import annotations

from flask import Blueprint, request

from .common import language, service
from .errors import APIProblem
from .places import collection, planned_feature
from .responses import CircuitListSchema
from .results import serve_result

bp = Blueprint("circuits", __name__, url_prefix="/v1")


def _circuits():
    state = service()
    if state.circuits is None:
        raise APIProblem(503, "Service Unavailable", state.circuits_error or "the named circuits are being routed")
    return state.circuits


@bp.get("/circuits")
def list_circuits():
    """The named circuits, without geometry."""
    lang = language(request.args.get("lang"))
    return CircuitListSchema().dump({"circuits": [c.summary(lang) for c in _circuits().values()]})


@bp.get("/circuits/<circuit_id>")
def get_circuit(circuit_id: str):
    """One named circuit as a route Feature with its texts and sources (``format=gpx`` for the GPX)."""
    circuits = _circuits()
    if circuit_id not in circuits:
        raise APIProblem(404, "Not Found", f"no circuit {circuit_id!r}; see /v1/circuits", "circuit_id")
    return serve_result("circuits", {"id": circuit_id, "circuits": service().circuits_version},
                        lambda: _circuit(circuits[circuit_id]), language(request.args.get("lang")))


def _circuit(c) -> dict:
    """A circuit's result, language-neutral: its texts in every language they are written in."""
    summary = c.summary(None)
    summary["circuit_kind"] = summary.pop("kind")
    return collection([planned_feature(c.route)], kind="circuit", **summary)
