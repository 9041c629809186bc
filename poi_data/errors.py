"""Typed errors of the POI catalogue; the API turns them into 400/404 problem responses."""

from __future__ import annotations

from routing.errors import GalibotError


class POIQueryError(GalibotError):
    """A catalogue query with a bad parameter."""


class UnknownTheme(POIQueryError):
    field = "theme"


class BadBBox(POIQueryError):
    field = "bbox"


class RadiusTooLarge(POIQueryError):
    field = "radius_m"


class UnknownPOI(POIQueryError):
    """No POI has this id."""

    field = "id"
