"""Helpers shared by the blueprints: the loaded service, request languages, validated inputs."""

from __future__ import annotations

from flask import current_app, request
from marshmallow import Schema

from routing.instructions import LANGUAGES

from .errors import APIProblem
from .graph_state import GraphState


def service() -> GraphState:
    """The loaded graph, engine and catalogue, or a 503 while they load."""
    state: GraphState = current_app.extensions["galibot.graph"]
    if not state.ready:
        detail = state.error or "the routing graph is still loading; retry in a few seconds"
        raise APIProblem(503, "Service Unavailable", detail)
    return state


def language(explicit: str | None) -> str:
    """``lang`` if given, else the best of Accept-Language, else English."""
    if explicit:
        return explicit
    return request.accept_languages.best_match(LANGUAGES) or "en"


def load(schema: Schema, data) -> dict:
    """Validate with a marshmallow schema (a ValidationError becomes a 422 naming the field)."""
    return schema.load(data if data is not None else {})
