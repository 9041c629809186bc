"""The POI catalogue and its queries: by id, theme, bounding box, nearest, text and along a route.

Points are indexed twice: a k-d tree on metric (Lambert-93) coordinates answers nearest and radius
queries, and a shapely R-tree on lon/lat answers bounding boxes and route corridors.
"""

from __future__ import annotations

import bisect
import json
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import shapely
from rapidfuzz import fuzz, process
from scipy.spatial import cKDTree

from routing import geo

from .errors import BadBBox, RadiusTooLarge, UnknownPOI, UnknownTheme
from .schemas import THEMES

MAX_RADIUS_M = 50_000.0
#: Typo-tolerant search: how close (rapidfuzz ratio, 0-100) an indexed word must be to stand for a word typed.
FUZZY_CUTOFF, FUZZY_CUTOFF_SHORT = 80.0, 75.0
MAX_LIMIT = 500
#: POIs along a route: how many of its segments each stretch asked of the POI index holds (a route's box holds
#: thousands of POIs far from it, a stretch's few; a POI's distance is taken to a few stretches, not 1,000 segments).
LINE_CHUNK = 32


def _stretches(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a line of metric points as linestrings of LINE_CHUNK segments each, the last shorter; each one's first
    point's index)."""
    starts = np.arange(0, len(xy) - 1, LINE_CHUNK)
    points = np.minimum(LINE_CHUNK + 1, len(xy) - starts)
    return shapely.linestrings(xy[_ranges(starts, points)], indices=np.repeat(np.arange(len(starts)), points)), starts


def _ranges(first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``first[k], first[k] + 1, … (count[k] of them)`` for each k, one after the other."""
    shift = np.repeat(first - (np.cumsum(count) - count), count)
    return np.arange(int(count.sum())) + shift


def normalise(text: str) -> str:
    """Accent-, case- and punctuation-insensitive form: ``Fosse 11/19`` → ``fosse 11 19``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", ascii_text).split())


@dataclass(frozen=True)
class Hit:
    """A POI found near a route: how far from it, and where along it."""

    poi: dict
    distance_m: float
    along_m: float


def parse_bbox(values) -> tuple[float, float, float, float]:
    """A ``minlon,minlat,maxlon,maxlat`` string or sequence, checked."""
    try:
        parts = [float(v) for v in (values.split(",") if isinstance(values, str) else values)]
    except (TypeError, ValueError):
        parts = []
    if len(parts) != 4 or not all(np.isfinite(parts)):
        raise BadBBox("bbox must be minlon,minlat,maxlon,maxlat")
    w, s, e, n = parts
    if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
        raise BadBBox("bbox needs minlon <= maxlon and minlat <= maxlat, within -180..180 and -90..90")
    return w, s, e, n


class Catalogue:
    """All POIs in memory with their indexes."""

    def __init__(self, pois: list[dict], report: dict | None = None) -> None:
        self.pois = pois
        self.report = report or {}
        self._by_id = {p["id"]: i for i, p in enumerate(pois)}
        for i, p in enumerate(pois):  # ids of near-duplicates merged into this record still find it
            for old in (p.get("properties") or {}).get("merged", []):
                self._by_id.setdefault(old, i)
        self._by_theme: dict[str, list[int]] = {t: [] for t in THEMES}
        for i, p in enumerate(pois):
            for t in p["themes"]:
                self._by_theme[t].append(i)
        self.lon = np.array([p["lon"] for p in pois])
        self.lat = np.array([p["lat"] for p in pois])
        x, y = geo.to_metric(self.lon, self.lat)
        self.xy = np.column_stack([x, y])
        self._kdtree = cKDTree(self.xy)
        self._points = shapely.points(self.lon, self.lat)
        self._rtree = shapely.STRtree(self._points)
        self._shapes = self._metric_shapes(x, y)
        self._shape_tree = shapely.STRtree(self._shapes)
        self._text = [self._search_text(p) for p in pois]
        self._vocab, self._postings = self._index_words()

    def __len__(self) -> int:
        return len(self.pois)

    def _metric_shapes(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Each POI's polygon (terrils, cités, UNESCO elements) or point, in metres."""
        shapes = shapely.points(x, y)
        for i, p in enumerate(self.pois):
            if p.get("geometry"):
                shapes[i] = geo.geometry_to_metric(shapely.from_geojson(json.dumps(p["geometry"])))
        return shapes

    @staticmethod
    def _search_text(p: dict) -> tuple[str, set[str], str]:
        name = normalise(p["name"])
        props = p["properties"]
        extra = [p.get("commune") or "", props.get("number") or "", props.get("official_name") or ""]
        extra += list(p.get("names", {}).values())
        return name, set(name.split()), normalise(" ".join(extra))

    def _index_words(self) -> tuple[list[str], list[list[int]]]:
        """Sorted vocabulary of names and extras, with the POIs each word occurs in (prefix look-ups by bisect)."""
        postings: dict[str, set[int]] = {}
        for i, (_, words, extra) in enumerate(self._text):
            for w in words | set(extra.split()):
                postings.setdefault(w, set()).add(i)
        vocab = sorted(postings)
        return vocab, [sorted(postings[w]) for w in vocab]

    def _candidates(self, token: str) -> set[int]:
        """POIs with a word that starts with ``token``."""
        lo = bisect.bisect_left(self._vocab, token)
        hi = bisect.bisect_left(self._vocab, token + "\x7f")
        return {i for k in range(lo, hi) for i in self._postings[k]}

    def counts(self) -> dict[str, int]:
        """POIs per theme."""
        return {t: len(ix) for t, ix in self._by_theme.items()}

    def find(self, poi_id: str) -> dict | None:
        """The POI of an id (a current or a former one), or None: for the presentation layer's lookups."""
        i = self._by_id.get(poi_id)
        return None if i is None else self.pois[i]

    def get(self, poi_id: str) -> dict:
        try:
            return self.pois[self._by_id[poi_id]]
        except KeyError:
            raise UnknownPOI(f"no POI with id {poi_id!r}") from None

    def theme_indices(self, theme: str) -> list[int]:
        if theme not in self._by_theme:
            raise UnknownTheme(f"unknown theme {theme!r}; choose one of {', '.join(THEMES)}")
        return self._by_theme[theme]

    def by_theme(self, theme: str) -> list[dict]:
        return [self.pois[i] for i in self.theme_indices(theme)]

    def bbox_indices(self, bbox) -> np.ndarray:
        w, s, e, n = parse_bbox(bbox)
        return np.sort(self._rtree.query(shapely.box(w, s, e, n), predicate="intersects"))

    def in_bbox(self, bbox) -> list[dict]:
        return [self.pois[i] for i in self.bbox_indices(bbox)]

    def nearest(self, lon: float, lat: float, radius_m: float = 1000.0, limit: int = 10) -> list[tuple[dict, float]]:
        """Up to ``limit`` POIs within ``radius_m`` of a point, nearest first, with their distance (m)."""
        return [(self.pois[i], d) for i, d in self.near_indices(lon, lat, radius_m, limit)]

    def near_indices(self, lon: float, lat: float, radius_m: float,
                     limit: int | None = None) -> list[tuple[int, float]]:
        if not 0 < radius_m <= MAX_RADIUS_M:
            raise RadiusTooLarge(f"radius_m must be in (0, {MAX_RADIUS_M:.0f}] metres; got {radius_m:g}")
        x, y = geo.to_metric(lon, lat)
        if not (np.isfinite(x) and np.isfinite(y)):  # Lambert-93 has no plane coordinates there (a pole): far away
            return []
        idx = self._kdtree.query_ball_point([x, y], r=radius_m)
        d = np.hypot(self.xy[idx, 0] - x, self.xy[idx, 1] - y)
        order = np.argsort(d, kind="stable")[: limit or len(idx)]
        return [(int(idx[k]), float(d[k])) for k in order]

    def search(self, q: str, limit: int = 10) -> list[dict]:
        """Free-text search on names (and communes, MBM numbers), accent- and case-insensitive, best first.

        Every word of the query must start a word of the name, commune or number ("11/19", "lewarde", "T074").
        """
        return [self.pois[i] for i, _ in self.search_scores(q)[:limit]]

    def search_scores(self, q: str) -> list[tuple[int, float]]:
        """(POI index, score) best first: word-prefix matches, else names within a typo or two (``lewade``)."""
        query = normalise(q)
        if not query:
            return []
        tokens = query.split()
        candidates = set.intersection(*(self._candidates(t) for t in tokens))
        if not candidates:
            return self._fuzzy_scores(query)
        scored = []
        for i in candidates:
            name, words, extra = self._text[i]
            score = self._match(query, tokens, name, words, extra)
            if score:
                p = self.pois[i]
                # The flagship places come first: a key place outranks an exact namesake (terril "Arenberg").
                score += 30 * p.get("key", False) + 50 * ("great_mining_sites" in p["themes"])
                scored.append((i, score - len(name) / 1000.0))
        scored.sort(key=lambda s: (-s[1], s[0]))
        return scored

    def _fuzzy_scores(self, query: str) -> list[tuple[int, float]]:
        """The query with each unknown word replaced by the nearest word of the index (rapidfuzz's edit ratio),
        searched again: ``lewade`` finds Lewarde. Scores a little below those of the words as typed."""
        tokens = []
        for token in query.split():
            if self._candidates(token):
                tokens.append(token)
                continue
            cutoff = FUZZY_CUTOFF if len(token) > 5 else FUZZY_CUTOFF_SHORT  # one slip in "lnes" is 75
            best = process.extractOne(token, self._vocab, scorer=fuzz.ratio, score_cutoff=cutoff)
            if best is None:
                return []
            tokens.append(best[0])
        corrected = " ".join(tokens)
        if corrected == query:
            return []
        return [(i, score - 1.0) for i, score in self.search_scores(corrected)]

    @staticmethod
    def _match(query: str, tokens: list[str], name: str, words: set[str], extra: str) -> float:
        if name == query:
            return 100.0
        if all(t in words for t in tokens):
            return 60.0
        if all(any(w.startswith(t) for w in words) for t in tokens):
            return 40.0
        extra_words = set(extra.split())
        if all(t in words or t in extra_words for t in tokens):
            return 10.0
        return 5.0  # every token starts a word of the name or of the commune/number

    def _wanted(self, idx: np.ndarray, themes: list[str] | None) -> np.ndarray:
        if not themes:
            return idx
        wanted = set().union(*(self.theme_indices(t) for t in themes))
        return np.array([i for i in idx if i in wanted], dtype=int)

    def _nearest_on_line(self, xy: np.ndarray, corridor_m: float,
                         themes: list[str] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(POI indices, distance to the route, metres along it to the nearest point) of the POIs within
        ``corridor_m`` of a line of metric points.

        The line is cut into stretches of LINE_CHUNK segments; the POI index is asked which POIs lie within the
        corridor of which stretch (a long line's box holds thousands of POIs far from it, a stretch's few), and a
        POI's distance is taken to those few stretches only. The nearest stretch, the earliest among equals, gives
        the nearest point and the metres along."""
        parts, first_vertex = _stretches(xy)
        part, poi = self._shape_tree.query(parts, predicate="dwithin", distance=corridor_m)
        keep = np.isin(poi, self._wanted(np.unique(poi), themes))
        part, poi = part[keep], poi[keep]
        if not len(poi):
            return np.array([], dtype=int), np.array([]), np.array([])
        d = shapely.distance(self._shapes[poi], parts[part])
        best = np.lexsort((part, d, poi))  # per POI: the nearest stretch, the earliest among equals
        best = best[np.r_[True, poi[best][1:] != poi[best][:-1]]]
        part, poi, d = part[best], poi[best], d[best]
        start = np.r_[0.0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]
        lines, first = parts[part], first_vertex[part]
        inside = np.flatnonzero(d == 0)  # the route enters the POI's area: where it first does
        if len(inside):
            lines[inside], first[inside] = self._nearest_segment(xy, first[inside], poi[inside])
        near = shapely.get_point(shapely.shortest_line(lines, self._shapes[poi]), 0)
        return poi, d, start[first] + shapely.line_locate_point(lines, near)

    def _nearest_segment(self, xy: np.ndarray, first: np.ndarray, poi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the nearest segment of each stretch, from its vertex ``first``, to POI ``poi``'s shape, the earliest
        among equals, as a linestring; its first vertex). Where a route enters an area every point inside is as
        near, and a stretch's nearest point may be any of them: the POI comes where the route first reaches it."""
        count = np.minimum(LINE_CHUNK, len(xy) - 1 - first)
        seg, row = _ranges(first, count), np.repeat(np.arange(len(first)), count)
        segments = shapely.linestrings(np.stack([xy[seg], xy[seg + 1]], axis=1))
        order = np.lexsort((seg, shapely.distance(self._shapes[poi[row]], segments), row))
        best = order[np.r_[True, row[order][1:] != row[order][:-1]]]
        return segments[best], seg[best]

    def along(self, coordinates, corridor_m: float = 150.0, themes: list[str] | None = None) -> list[Hit]:
        """POIs within ``corridor_m`` of a route (lon/lat[/ele] points), ordered by distance along it.

        A POI with a polygon (a terril, a cité) counts when the route passes within ``corridor_m`` of the
        polygon, not only of its representative point: a route along the foot of a terril passes it.
        """
        if not 0 < corridor_m <= 5000:
            raise RadiusTooLarge(f"corridor must be in (0, 5000] metres; got {corridor_m:g}", field="corridor_m")
        pts = np.asarray(coordinates, dtype=float)[:, :2]
        x, y = geo.to_metric(pts[:, 0], pts[:, 1])
        xy = np.column_stack([x, y])
        # a zero-length route (its points at one place) is a valid answer: its POIs are those around that place
        if not (xy != xy[0]).any():
            idx = self._wanted(self._shape_tree.query(shapely.Point(xy[0]), predicate="dwithin", distance=corridor_m),
                               themes)
            dist, along = shapely.distance(self._shapes[idx], shapely.Point(xy[0])), np.zeros(len(idx))
        else:
            idx, dist, along = self._nearest_on_line(xy, corridor_m, themes)
        order = np.lexsort((idx, along))  # where the route first comes nearest; POIs at one spot by index
        return [Hit(self.pois[idx[k]], round(float(dist[k]), 1), round(float(along[k]), 1)) for k in order]
