"""Typed errors of the routing library; the CLI and the API map them to messages and statuses."""

from __future__ import annotations


class GalibotError(Exception):
    """Base of every error galibot raises on purpose; its message is meant for the user."""


class DataError(GalibotError):
    """A data file or directory is missing, unreadable or corrupt; the message names it."""


class BBoxError(GalibotError):
    """A bounding box is malformed or lies outside the data."""


class EmptyGraphError(GalibotError):
    """The build produced no routable edges."""
