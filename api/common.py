"""Helpers shared by the blueprints: the loaded service, request languages, validated inputs."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, current_app, request
from marshmallow import Schema

from routing.instructions import LANGUAGES

from . import cache
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


def cached_post(endpoint: str, schema: Schema, compute: Callable[[dict, str], dict]) -> Response:
    """The shape of every computing POST: validate the body, pick the language, serve from Redis or compute."""
    args = load(schema, request.get_json(silent=True))
    lang = language(args.get("lang"))
    state = service()
    return cache.cached_json(endpoint, {**args, "lang": lang}, state.graph.data_version, lambda: compute(args, lang))
