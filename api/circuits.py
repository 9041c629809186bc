"""``GET /v1/circuits`` and ``GET /v1/circuits/<id>``: the named circuits, routed when the API loads; ``POST
/v1/circuits``: a themed circuit on demand, the most valuable POIs of some themes within a budget."""

from __future__ import annotations

from flask import Blueprint, request
from marshmallow import Schema, fields, validate, validates_schema

from gpx_exports import runner_figures
from poi_data import THEMES
from poi_data.themed import POI_VALUES, poi_value, themed_prizes
from presentation import LANGUAGES
from routing import settings
from routing.planners.themed import Prize, plan_prize_circuit

from .common import language, service
from .errors import APIProblem
from .places import (
    Place,
    collection,
    length_m,
    one_length,
    planned_feature,
    positive,
    profile_field,
    request_fields,
    stop,
)
from .responses import CircuitListSchema
from .results import cached_post, serve_result

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
                        lambda: _circuit(circuits[circuit_id]), request.args.get("lang"))


def _circuit(c) -> dict:
    """A circuit's result, language-neutral: its texts in every language they are written in."""
    summary = c.summary(None)
    summary["circuit_kind"] = summary.pop("kind")
    if summary["circuit_kind"] == "trail":
        summary["runner"] = runner_figures(c.route.distance_m, c.route.ascent_m).as_dict()
    return collection([planned_feature(c.route)], kind="circuit", **summary)


#: A themed circuit is at most this long: the candidates within reach and the CP-SAT work bound its cost.
MAX_THEMED_KM = 150.0


class ThemedCircuitSchema(Schema):
    start = Place(required=True)
    end = Place(load_default=None, allow_none=True, metadata={"description": "else the circuit is a loop"})
    profile = profile_field()
    distance_km = fields.Float(load_default=None, allow_none=True, validate=positive(MAX_THEMED_KM),
                               metadata={"description": f"the budget, at most {MAX_THEMED_KM:g} km"})
    duration_min = fields.Float(load_default=None, allow_none=True, validate=positive(24 * 60),
                                metadata={"description": "instead of distance_km: minutes at the profile's flat speed"})
    themes = fields.List(fields.String(validate=validate.OneOf(THEMES)), required=True,
                         validate=validate.Length(min=1, max=len(THEMES)),
                         metadata={"description": "POI themes, e.g. memory, terrils, cites_minieres, museums"})
    must_visit = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list,
                             validate=validate.Length(max=10), metadata={"description": "POI ids visited whatever"})
    lang = fields.String(validate=validate.OneOf(LANGUAGES))

    @validates_schema
    def _one_budget(self, data: dict, **_) -> None:
        one_length(data)


def _themed(args: dict) -> dict:
    state = service()
    start = stop(args["start"], "start")
    end = stop(args["end"], "end") if args["end"] is not None else None
    must = [Prize(stop(pid, f"must_visit[{i}]"), poi_value(state.catalogue.get(pid)))
            for i, pid in enumerate(args["must_visit"])]
    prizes = themed_prizes(state.catalogue, args["themes"])
    budget = length_m(args, lo_m=1, hi_m=MAX_THEMED_KM * 1000, what="a themed circuit")
    with request_fields(distance_m="distance_km" if args["distance_km"] is not None else "duration_min"):
        c = plan_prize_circuit(state.engine, start, prizes, budget, args["profile"], end, must=must,
                               time_limit_s=settings.TRAIL_REQUEST_LIMIT_S, workers=state.cfg.workers)
    stops = [{**p.stop.as_dict(), "km": km, "value": p.value} for p, km in zip(c.visited, c.visited_km)]
    return collection([planned_feature(c.route)], kind="circuit", circuit_kind="themed", themes=args["themes"],
                      profile=args["profile"], budget_m=round(c.budget_m, 1), value=c.value, stops=stops,
                      greedy_value=c.greedy_value, greedy_km=round(c.greedy_m / 1000, 2), optimal=c.optimal,
                      deadline_hit=c.deadline_hit, poi_values=POI_VALUES)


@bp.post("/circuits")
def post_themed_circuit():
    """A themed circuit: from a start, within a distance or duration, the most valuable POIs of the themes (key
    places 3, POIs a seed describes 2, others 1), routed as a loop or to an end, with the POIs as stops."""
    return cached_post("themed-circuits", ThemedCircuitSchema(), _themed)
