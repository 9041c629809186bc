"""Read GPX 1.0 and 1.1 uploads safely: size limit, no DTD or entity, checked values, then gpxpy.

A first pass with defusedxml's expat reader refuses any DTD (so no billion laughs and no XXE),
checks that the root is a GPX ``<gpx>``, and checks every point's latitude, longitude and
elevation, naming the line of the first bad one. Only then does gpxpy build its object model.
"""

from __future__ import annotations

import codecs
import io
import re
from dataclasses import dataclass, field
from functools import cached_property
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler, feature_namespaces

import defusedxml
import gpxpy
import gpxpy.gpx
import numpy as np
from defusedxml.expatreader import create_parser

from routing.route import cumulative_distance

from . import settings
from .errors import EmptyGPX, GPXSyntaxError, GPXTooLarge, GPXUnsafe, InvalidGPX, NotGPX

GPX_NAMESPACES = {"http://www.topografix.com/GPX/1/0": "1.0", "http://www.topografix.com/GPX/1/1": "1.1"}
POINT_TAGS = ("wpt", "rtept", "trkpt")
_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding=[\"']([A-Za-z0-9._-]+)[\"']")


@dataclass
class Track:
    """What a GPX holds, as arrays: each line (track segment or route) and the waypoints."""

    name: str | None
    version: str
    lines: list[np.ndarray]  # each (n, 3) lon, lat, elevation (NaN where the file has none)
    waypoints: list[dict] = field(default_factory=list)  # name, lon, lat, ele, type, sym
    claimed_ascent_m: float | None = None
    claimed_descent_m: float | None = None
    source: str = "track"  # what the lines are: the file's "track" segments, its "routes", or its "waypoints"

    @property
    def points(self) -> int:
        """All the points of the lines analysed."""
        return sum(len(line) for line in self.lines)

    @cached_property
    def distances(self) -> list[np.ndarray]:
        """Metres from the start of each line to each of its points, as galibot measures routes."""
        return [cumulative_distance(line) for line in self.lines]

    @property
    def offsets(self) -> list[float]:
        """Where each line starts, in metres along the whole track (lines end to end)."""
        return np.concatenate([[0.0], np.cumsum([d[-1] for d in self.distances])]).tolist()


class _Checker(ContentHandler):
    """Counts points and checks their values as expat streams the file; raises on the first problem."""

    def __init__(self) -> None:
        super().__init__()
        self.root: tuple[str | None, str] | None = None
        self.points = 0
        self._text: list[str] | None = None

    def _line(self) -> int | None:
        return self._locator.getLineNumber() if self._locator else None

    def startElementNS(self, name, qname, attrs) -> None:  # noqa: N802 (SAX API)
        uri, local = name
        if self.root is None:
            self.root = (uri, local)
            if local != "gpx" or uri not in GPX_NAMESPACES:
                raise NotGPX(f"the root element is {{{uri}}}{local}, not a GPX 1.0 or 1.1 <gpx>"
                             if uri else f"the root element is <{local}> without the GPX namespace, not a GPX <gpx>",
                             line=self._line())
        if local in POINT_TAGS:
            self._check_point(local, attrs)
        elif local == "ele":
            self._text = []

    def characters(self, content: str) -> None:
        if self._text is not None:
            self._text.append(content)

    def endElementNS(self, name, qname) -> None:  # noqa: N802 (SAX API)
        if name[1] == "ele" and self._text is not None:
            text = "".join(self._text).strip()
            self._text = None
            if text and not _is_float(text, -1000.0, 10000.0):
                raise InvalidGPX(f"<ele> {text[:30]!r} is not an elevation in metres", line=self._line())

    def _check_point(self, tag: str, attrs) -> None:
        self.points += 1
        if self.points > settings.MAX_GPX_POINTS:
            raise GPXTooLarge(f"more than {settings.MAX_GPX_POINTS:,} points", line=self._line())
        values = {k[1]: v for k, v in attrs.items()}
        for key, limit in (("lat", 90.0), ("lon", 180.0)):
            if key not in values:
                raise InvalidGPX(f"<{tag}> has no {key} attribute", line=self._line())
            if not _is_float(values[key], -limit, limit):
                what = "out of range" if _is_float(values[key], -np.inf, np.inf) else "not a number"
                raise InvalidGPX(f"<{tag}> {key}={values[key][:30]!r} is {what} (-{limit:g}..{limit:g})",
                                 line=self._line())


def _is_float(text: str, lo: float, hi: float) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return lo <= value <= hi


def check_xml(data: bytes) -> str:
    """Run the safe first pass; return the GPX version declared by the root's namespace."""
    if len(data) > settings.MAX_GPX_BYTES:
        raise GPXTooLarge(f"the file is {len(data) / 1e6:.1f} MB; the limit is {settings.MAX_GPX_BYTES / 1e6:.0f} MB")
    if not data.strip():
        raise EmptyGPX("the file is empty")
    checker = _Checker()
    parser = create_parser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    parser.setFeature(feature_namespaces, True)
    parser.setContentHandler(checker)
    try:
        parser.parse(io.BytesIO(data))
    except SAXParseException as exc:
        raise GPXSyntaxError(f"not well-formed XML: {exc.getMessage()}", line=exc.getLineNumber()) from None
    except LookupError as exc:
        raise InvalidGPX(f"the declared encoding is not one XML readers know: {exc}", line=1) from None
    except defusedxml.DefusedXmlException as exc:
        raise GPXUnsafe(f"the file declares a DTD or entities, which GPX never needs ({type(exc).__name__})",
                        line=parser.getLineNumber()) from None
    except ValueError as exc:  # (after DefusedXmlException, a ValueError too) expat reads no UTF-32 or Shift-JIS
        raise InvalidGPX(f"the declared encoding cannot be read ({exc}); write the GPX in UTF-8", line=1) from None
    return GPX_NAMESPACES[checker.root[0]]


def _text(data: bytes) -> str:
    """The document as text in its declared encoding, without the declaration (gpxpy re-encodes it)."""
    m = _DECLARATION.match(data)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = m.group(1).decode() if m else "utf-8-sig"
    try:
        text = data.decode(encoding)
    except (LookupError, UnicodeDecodeError) as exc:
        raise InvalidGPX(f"the file is not in its declared encoding: {exc}") from None
    return re.sub(r"^\s*<\?xml[^>]*\?>", "", text.lstrip("\ufeff"), count=1)


def _lines(gpx: gpxpy.gpx.GPX) -> tuple[list[np.ndarray], str]:
    """The lines to analyse: the tracks; else the routes; else the waypoints in file order.

    A file with both a track and a route (as some devices want) describes one course twice; the
    track is the course, the route only its turn points.
    """
    tracks = [[(p.longitude, p.latitude, p.elevation) for p in seg.points]
              for trk in gpx.tracks for seg in trk.segments]
    routes = [[(p.longitude, p.latitude, p.elevation) for p in rte.points] for rte in gpx.routes]
    waypoints = [[(p.longitude, p.latitude, p.elevation) for p in gpx.waypoints]]
    for source, lines in (("track", tracks), ("routes", routes), ("waypoints", waypoints)):
        kept = [np.array(line, dtype=float) for line in lines if len(line) >= 2]
        if kept:
            return kept, source
    return [], ""


def read_gpx(data: bytes) -> Track:
    """Parse an uploaded GPX (1.0 or 1.1; tracks, routes or waypoints) into arrays, refusing anything unsafe."""
    version = check_xml(data)
    try:
        gpx = gpxpy.parse(_text(data))
    except gpxpy.gpx.GPXException as exc:
        raise InvalidGPX(f"gpxpy cannot read it: {exc}") from None
    lines, source = _lines(gpx)
    if not lines:
        raise EmptyGPX("the file has no track, route or set of waypoints with at least two points")
    has_ele = any(p.elevation is not None for trk in gpx.tracks for seg in trk.segments for p in seg.points)
    up_down = gpx.get_uphill_downhill() if has_ele else None
    waypoints = [{"name": w.name, "lon": w.longitude, "lat": w.latitude, "ele": w.elevation, "type": w.type,
                  "sym": w.symbol} for w in gpx.waypoints]
    return Track(name=gpx.name or next((t.name for t in gpx.tracks if t.name), None), version=version,
                 lines=lines, waypoints=waypoints,
                 claimed_ascent_m=round(up_down.uphill, 1) if up_down else None,
                 claimed_descent_m=round(up_down.downhill, 1) if up_down else None, source=source)
