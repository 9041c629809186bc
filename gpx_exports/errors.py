"""Typed errors of GPX reading and export; the API maps each family to a status in one place."""

from __future__ import annotations

from routing.errors import GalibotError


class GPXError(GalibotError):
    """A GPX file that cannot be read or analysed; ``line`` is where the problem is, when known."""

    field = "file"

    def __init__(self, message: str, field: str | None = None, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message, field)
        self.line = line


class GPXTooLarge(GPXError):
    """The upload is over the size limit."""


class GPXUnsafe(GPXError):
    """The file declares a DTD or entities (billion laughs, XXE): refused before any expansion."""


class GPXSyntaxError(GPXError):
    """The file is not well-formed XML."""


class NotGPX(GPXError):
    """Well-formed XML whose root is not a GPX 1.0 or 1.1 ``<gpx>`` element."""


class InvalidGPX(GPXError):
    """A GPX element holds a value GPX does not allow (a latitude of 123°, a word for an elevation)."""


class EmptyGPX(GPXError):
    """No track, route or waypoint with at least two points to analyse."""


class NotACourse(GPXError):
    """An upload that holds no course: waypoints only, or a line with no length."""


class OutsideBasin(GPXError):
    """Every point of the track lies outside the area the graph covers."""


class TrackTooLong(GPXError):
    """A track longer than any course galibot analyses (``MAX_TRACK_KM``)."""


class ExportError(GalibotError):
    """An export was asked with options that cannot be honoured; the message names the option."""
