"""The printable circuit sheet (PDF) a tourist office hands out, modelled on French trek sheets (Geotrek's).

A header (title, activity pictogram, start and end communes), a practical box (distance, duration,
D+ and D−, lowest and highest points, loop or one way, difficulty, shares on greenways, cavaliers
and EV5), the overview map drawn offline from the OSM tiles, the elevation profile, the directions
grouped into numbered steps tied to the map, the POIs along the way with their texts, and, as the
result calls for it, detail maps, a stage table with one page per stage, or a race's checkpoint
table. Every page's footer has a QR code to the GPX share link, the data date, the licences and the
page number. reportlab lays the pages out; the map and profile are pictures from
``presentation.basemap`` and ``presentation.charts``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib import get_data_path
from reportlab import rl_config
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, A5
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.tables import LongTable

from presentation import Words, terril_number
from presentation.basemap import MapFrame, MapPoint, MapSpec, render_map
from presentation.charts import ProfileMark, render_profile
from presentation.steps import Step, steps_of
from routing.compiled import CompiledGraph
from routing.route import cumulative_distance

from . import settings
from .course import Course, Waypoint, cut
from .effort import km_effort, runner_figures
from .errors import ExportError
from .race import EffortProfile

#: The page sizes offered (portrait); A5 is the folded booklet offices print most.
PAGE_SIZES = {"A4": A4, "A5": A5}
#: A course longer than this (km) also gets detail maps, each about DETAIL_KM of it, at most MAX_DETAIL_MAPS (a
#: 900 km route gets 8 maps of 110 km: the sheet's cost is bounded, whatever the route).
DETAIL_FROM_KM = 30.0
DETAIL_KM = 25.0
MAX_DETAIL_MAPS = 8
#: An overview with more numbered POIs and steps than this would hide its route under them: they go on detail maps.
MAX_OVERVIEW_MARKS = 45
#: A sheet is printed for courses up to this long (km): longer ones are not walked or ridden from a sheet, and their
#: maps would read the whole basin's tiles several times over (refused with a 422 naming ``format``).
MAX_SHEET_KM = 250.0
#: Difficulty classes by km-effort (km + D+/100 m) per profile: up to the first bound is easy, and so on.
DIFFICULTY_KM_EFFORT = {"walk": (8, 15, 25), "trail": (15, 35, 70), "bike": (25, 50, 90), "road_bike": (40, 80, 130),
                        "mtb": (20, 40, 70)}
#: Way types (class or class/subclass) counted as greenways: the paths and cycleways a bike profile rides.
GREENWAY_TYPES = ("path", "path/cycleway", "cycleway")
#: POIs printed along the way: key places, described ones, and these themes (a café passed is for the map).
SHEET_THEMES = frozenset({"great_mining_sites", "terrils", "pit_shafts", "cites_minieres", "unesco_elements",
                          "museums", "belfries", "memory", "viewpoints"})
#: At most this many POIs are printed (nearest the route first among the rest, key and described ones always).
MAX_SHEET_POIS = 60
DPI = 150
#: A picture numbers every printed POI up to this many; beyond, only the key places (no list beside it to read).
MAX_PICTURE_POIS = 15
#: Km markers go every so many km, the first that puts at most 12 on the map.
KM_MARK_STEPS = (1, 2, 5, 10, 20, 50, 100)
#: Images go into the PDF as binary streams, not ASCII85 text: reportlab's encoder is pure Python without its C
#: accelerator, and spent 1.5 s on the six maps of a 110 km sheet (the file is also 25 % smaller).
rl_config.useA85 = 0
FONT_DIR = Path(get_data_path()) / "fonts" / "ttf"


def _fonts() -> tuple[str, str]:
    """DejaVu Sans (shipped with matplotlib): it has every character the four languages and Babel's spaces use."""
    if "DejaVu" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVu", str(FONT_DIR / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("DejaVu-Bold", str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    return "DejaVu", "DejaVu-Bold"


@dataclass(frozen=True)
class SheetOptions:
    """What a sheet needs besides the result: the page size, the share link, the communes, the tiles."""

    tiles_dir: Path
    link: str
    page: str = "A4"
    start_commune: str | None = None
    end_commune: str | None = None
    graph: CompiledGraph | None = None  # wide maps draw its roads (made from the same tiles), far cheaper to read


@dataclass(frozen=True)
class PlacedMap:
    """A map as printed: its page (0-based), its box on the page in points (x, y from the bottom left, w, h),
    and the frame it shows, so a test can find the route on the rendered page."""

    page: int
    box: tuple[float, float, float, float]
    frame: MapFrame


@dataclass
class Sheet:
    pdf: bytes
    pages: int
    maps: list[PlacedMap] = field(default_factory=list)


class _Map(Flowable):
    """A map picture that records where it was drawn."""

    def __init__(self, png: bytes, frame: MapFrame, width: float, height: float, placed: list[PlacedMap]) -> None:
        super().__init__()
        self.png, self.frame, self.width, self.height, self.placed = png, frame, width, height, placed

    def wrap(self, *_):
        return self.width, self.height

    def draw(self) -> None:
        x, y = self.canv.absolutePosition(0, 0)
        self.placed.append(PlacedMap(self.canv.getPageNumber() - 1, (x, y, self.width, self.height), self.frame))
        Image(io.BytesIO(self.png), self.width, self.height).drawOn(self.canv, 0, 0)
        self.canv.setStrokeColor(colors.HexColor("#555555"))
        self.canv.rect(0, 0, self.width, self.height)


def _numbered_canvas(footer):
    """A canvas class that holds its pages until the end, so each footer can say "page 2 of 5"."""

    class Numbered(pdfcanvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            for state in self._pages:
                self.__dict__.update(state)
                footer(self, len(self._pages))
                super().showPage()
            super().save()

    return Numbered


@dataclass
class _Styles:
    title: ParagraphStyle
    h2: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle


def _styles(scale: float) -> _Styles:
    regular, bold = _fonts()
    return _Styles(
        ParagraphStyle("title", fontName=bold, fontSize=17 * scale, leading=21 * scale, textColor="#7a003f"),
        ParagraphStyle("h2", fontName=bold, fontSize=11.5 * scale, leading=15 * scale, spaceBefore=6 * scale,
                       spaceAfter=3 * scale, textColor="#7a003f", keepWithNext=1),
        ParagraphStyle("body", fontName=regular, fontSize=9 * scale, leading=11.5 * scale),
        ParagraphStyle("small", fontName=regular, fontSize=6.5 * scale, leading=8 * scale, textColor="#444444"),
        ParagraphStyle("cell", fontName=regular, fontSize=8 * scale, leading=10 * scale))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pictogram(profile: str, size: float) -> Drawing:
    """The activity pictogram: a bicycle for the bike profiles, a walker for walking and trail running."""
    d = Drawing(size, size)
    ink = colors.HexColor("#7a003f")
    d.add(Circle(size / 2, size / 2, size / 2, fillColor=colors.HexColor("#fbe3ef"), strokeColor=ink))
    s = size / 20
    if profile in ("bike", "road_bike", "mtb"):
        for cx in (6, 14):
            d.add(Circle(cx * s, 7 * s, 3.2 * s, fillColor=None, strokeColor=ink, strokeWidth=1.2 * s))
        d.add(PolyLine([6 * s, 7 * s, 9 * s, 12 * s, 14 * s, 12 * s, 14 * s, 7 * s], strokeColor=ink,
                       strokeWidth=1.2 * s))
        d.add(PolyLine([9 * s, 12 * s, 11 * s, 7 * s, 14 * s, 12 * s], strokeColor=ink, strokeWidth=1.2 * s))
    else:
        d.add(Circle(10.5 * s, 15.5 * s, 1.6 * s, fillColor=ink, strokeColor=ink))
        for x0, y0, x1, y1 in ((10 * s, 13.5 * s, 9 * s, 9 * s), (9 * s, 9 * s, 6.5 * s, 4 * s),
                               (9 * s, 9 * s, 12 * s, 4.5 * s), (10 * s, 12.5 * s, 7 * s, 10 * s),
                               (10 * s, 12.5 * s, 13 * s, 10.5 * s)):
            d.add(Line(x0, y0, x1, y1, strokeColor=ink, strokeWidth=1.4 * s))
    return d


def difficulty(profile: str, distance_m: float, ascent_m: float) -> int:
    """0 (easy) to 3 (very hard), from the km-effort of the course and the profile's bounds."""
    bounds = DIFFICULTY_KM_EFFORT.get(profile, DIFFICULTY_KM_EFFORT["walk"])
    return int(np.searchsorted(bounds, km_effort(distance_m, ascent_m), side="left"))


def poi_rank(p: dict) -> tuple[int, float]:
    """How a POI ranks for a sheet with no room for all: key places, then those a seed document describes, then
    the nearest to the route."""
    return (0 if p.get("key") else 1 if p.get("cited") else 2, p["distance_m"])


def sheet_pois(pois: Sequence[dict], most: int = MAX_SHEET_POIS) -> list[dict]:
    """The POIs a sheet prints, in route order: key places, described ones and heritage themes, once each, the
    ``most`` best ranked (``poi_rank``) where there are more."""
    seen, out = set(), []
    for p in pois:
        if p["name"] in seen or not (p.get("key") or p.get("description") or set(p["themes"]) & SHEET_THEMES):
            continue
        seen.add(p["name"])
        out.append(p)
    if len(out) > most:
        kept = {id(p) for p in sorted(out, key=poi_rank)[:most]}
        out = [p for p in out if id(p) in kept]
    return out


def drawn_lines(course: Course, lo_m: float = 0.0, hi_m: float = np.inf) -> list[np.ndarray]:
    """The lines a map draws of a course between two distances along it: one per stretch (an uploaded file's
    segments each on their own, so no line crosses a jump between them; a planned course is one)."""
    coords, along = course.coordinates(), course.along_m()
    out = []
    for a, b in course.stretches():
        cum = along[a:b]
        if b - a >= 2 and cum[-1] > lo_m and cum[0] < hi_m:
            out.append(cut(coords[a:b], cum, max(lo_m, float(cum[0])), min(hi_m, float(cum[-1]))))
    return out


def _summit_label(wp: Waypoint) -> str:
    """A summit's terril number, from its catalogue id (``terril-t074a`` → ``74a``), as its waypoint name says it."""
    return terril_number(wp.ref.removeprefix("terril-")) if wp.ref else ""


def _poi_line(p: dict) -> str:
    """A POI's name and text; a sentence that starts with the name is not preceded by it again."""
    desc = p.get("description")
    if not desc:
        return p["name"]
    return desc if desc.startswith(p["name"]) else f"{p['name']} — {desc}"


class _Builder:
    """One sheet being laid out: the styles, the story, the maps placed."""

    def __init__(self, result: dict, course: Course, w: Words, opts: SheetOptions) -> None:
        self.course, self.w, self.opts = course, w, opts
        self.t = w.table["sheet"]
        self.pagesize = PAGE_SIZES[opts.page]
        self.scale = 1.0 if opts.page == "A4" else 0.8
        self.margin = (12 if opts.page == "A4" else 9) * mm
        self.s = _styles(self.scale)
        self.width = self.pagesize[0] - 2 * self.margin
        self.props = result["features"][0]["properties"] if result.get("type") != "Feature" else result["properties"]
        self.plan = (result.get("properties") or {}) if result.get("type") != "Feature" else {}
        self.pois = sheet_pois(self.props.get("pois") or [])
        self.steps = steps_of(self.props.get("instructions") or [], w)
        self.placed: list[PlacedMap] = []
        self.story: list = []

    # -- pieces ---------------------------------------------------------------------------------

    def header(self) -> None:
        w, t, c = self.w, self.t, self.course
        loop = not any(p.kind == "finish" for p in c.waypoints)
        start, end = self.opts.start_commune, self.opts.end_commune
        if not start:
            where = ""
        elif loop:
            where = t["loop_from"].format(start=start)
        else:
            where = t["from_to"].format(start=start, end=end or start)
        activity = w.pick("profiles", c.profile, c.profile)
        title = Paragraph(_escape(c.name), self.s.title)
        sub = Paragraph(" · ".join(_escape(x) for x in (where, activity) if x), self.s.body)
        icon = pictogram(c.profile, 15 * mm * self.scale)
        table = Table([[icon, [title, Spacer(1, 2), sub]]], colWidths=[19 * mm * self.scale, None])
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
        self.story += [table, Spacer(1, 4 * mm * self.scale)]
        if c.description:
            self.story.append(Paragraph(_escape(c.description.split("\n")[0]), self.s.body))

    def practical(self) -> None:
        w, t, c, p = self.w, self.t, self.course, self.props
        ele = np.asarray(p.get("elevation_profile") or [[0, 0]], dtype=float)[:, 1]
        types = p.get("way_types") or {}
        total = sum(types.values()) or 1.0
        green = sum(v for k, v in types.items() if k in GREENWAY_TYPES) / total
        loop = not any(x.kind == "finish" for x in c.waypoints)
        rows = [(t["distance"], w.km(c.distance_m)), (t["duration"], w.duration(c.duration_s)),
                (t["ascent"], w.metres(c.ascent_m)), (t["descent"], w.metres(c.descent_m)),
                (t["lowest"], w.metres(float(ele.min()))), (t["highest"], w.metres(float(ele.max()))),
                (t["shape"], t["loop"] if loop else t["one_way"]),
                (t["difficulty"], t["difficulties"][difficulty(c.profile, c.distance_m, c.ascent_m)]),
                (t["greenways"], f"{w.number(100 * green)} %"),
                (t["cavaliers"], f"{w.number(100 * (p.get('cavalier_share') or 0))} %"),
                (t["ev5"], f"{w.number(100 * (p.get('ev5_share') or 0))} %")]
        if c.profile == "trail" or c.kind == "race":
            rows += self.runner_rows()
        if c.version:  # a race's: the roadbook says which version of the course it prints
            rows.append((t["version"], c.version))
        half = (len(rows) + 1) // 2
        cells = [[Paragraph(f"<b>{_escape(a)}</b>", self.s.cell), Paragraph(_escape(b), self.s.cell)]
                 for a, b in rows]
        left, right = cells[:half], cells[half:] + [["", ""]] * (2 * half - len(rows))
        data = [[*a, *b] for a, b in zip(left, right)]
        col = self.width / 4
        table = Table(data, colWidths=[col * 1.15, col * 0.85, col * 1.15, col * 0.85])
        table.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#fbf2f6")),
                                   ("BOX", (0, 0), (-1, -1), 0.6, colors.HexColor("#7a003f")),
                                   ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                                   ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]))
        self.story += [Paragraph(_escape(t["practical"]), self.s.h2), table]

    def runner_rows(self) -> list[tuple[str, str]]:
        """Km-effort with its ITRA category, D+ per km and the pace groups' times, for a trail course or a race."""
        w, t, c = self.w, self.t, self.course
        r = runner_figures(c.distance_m, c.ascent_m)
        times = {group: w.duration(s) for group, s in r.estimates_s.items()}
        return [(t["km_effort"], t["km_effort_value"].format(effort=w.number(r.km_effort, 1), category=r.category)),
                (t["ascent_per_km"], w.metres(r.ascent_per_km)),
                (t["estimates"], t["estimates_value"].format(**times))]

    def _points(self, lo_km: float = 0.0, hi_km: float = 1e9, *, steps: bool = True,
                key_only: bool = False) -> list[MapPoint]:
        """The points a map shows between two km: ends, summits, numbered POIs (only key places on an overview
        that has detail maps) and, unless told not to, the numbered steps."""
        pts = []
        for wp in self.course.waypoints:
            if wp.kind in ("start", "finish") and lo_km - 0.01 <= (wp.km or 0) <= hi_km + 0.01:
                pts.append(MapPoint(wp.lon, wp.lat, wp.kind))
            elif wp.kind == "summit" and lo_km <= (wp.km or 0) <= hi_km:
                pts.append(MapPoint(wp.lon, wp.lat, "summit", _summit_label(wp)))
        for i, poi in enumerate(self.pois, 1):
            if lo_km <= poi["along_m"] / 1000 <= hi_km and (poi.get("key") or not key_only):
                pts.append(MapPoint(poi["lon"], poi["lat"], "poi", str(i)))
        if steps:
            pts += [MapPoint(s.lon, s.lat, "step", str(s.number)) for s in self.steps if lo_km <= s.km <= hi_km]
        return pts

    def _km_marks(self, coords: np.ndarray, offset_km: float, cum_m: np.ndarray | None = None) -> list[MapPoint]:
        cum = (cumulative_distance(coords) if cum_m is None else cum_m) / 1000
        length = float(cum[-1])
        every = next((e for e in KM_MARK_STEPS if length / e <= 12), KM_MARK_STEPS[-1])
        out = []
        for k in np.arange(every, length, every):
            i = int(np.searchsorted(cum, k))
            out.append(MapPoint(float(coords[i, 0]), float(coords[i, 1]), "km", self.w.number(offset_km + k)))
        return out

    def map(self, coords: np.ndarray, points: list[MapPoint], height: float, offset_km: float = 0.0, *,
            cum_m: np.ndarray | None = None, lines: list[np.ndarray] | None = None) -> None:
        spec = MapSpec(lines or [coords], [*self._km_marks(coords, offset_km, cum_m), *points],
                       attribution="© OpenStreetMap contributors · Mission Bassin Minier")
        px_w = int(self.width / 72 * DPI)
        px_h = int(height / 72 * DPI)
        png, frame = render_map(spec, self.opts.tiles_dir, self.w, width_px=px_w, height_px=px_h, dpi=DPI, fmt="jpeg",
                                graph=self.opts.graph)
        self.story.append(_Map(png, frame, self.width, height, self.placed))

    def profile_marks(self) -> list[ProfileMark]:
        """The summits (at their heights) and the stops, checkpoints and nights the profile names."""
        marks = [ProfileMark(wp.km or 0, _summit_label(wp), "summit", wp.ele)
                 for wp in self.course.waypoints if wp.kind == "summit"]
        named: dict[float, list[str]] = {}
        for wp in self.course.waypoints:
            if wp.kind in ("stop", "checkpoint", "aid-station", "lodging"):
                named.setdefault(round(wp.km or 0, 1), []).append(wp.name.split(" – ")[0][:18])
        return marks + [ProfileMark(km, " / ".join(names)) for km, names in list(named.items())[:30]]

    def profile(self) -> None:
        height = self.width * 0.27
        png = render_profile(self.props.get("elevation_profile") or [[0, 0], [1, 0]], self.w,
                             marks=self.profile_marks(), width_px=int(self.width / 72 * DPI),
                             height_px=int(height / 72 * DPI), dpi=DPI)
        self.story += [KeepTogether([Paragraph(_escape(self.t["profile"]), self.s.h2),
                                     Image(io.BytesIO(png), self.width, height)])]

    def _table(self, head: list[str], rows: list[list], widths: list[float]) -> LongTable:
        cells = [[Paragraph(f"<b>{_escape(h)}</b>", self.s.cell) for h in head]]
        cells += [[Paragraph(_escape(str(v)), self.s.cell) for v in row] for row in rows]
        table = LongTable(cells, colWidths=[self.width * f for f in widths], repeatRows=1)
        table.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#7a003f")),
                                   ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f6f6f6")]),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 1),
                                   ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
        return table

    def directions(self, steps: Sequence[Step]) -> None:
        t = self.t
        rows = [[s.number, self.w.mark(s.km), s.text] for s in steps]
        self.story += [Paragraph(_escape(t["directions"]), self.s.h2),
                       self._table([t["number"], t["km"], t["what"]], rows, [0.07, 0.1, 0.83])]

    def poi_list(self) -> None:
        if not self.pois:
            return
        t = self.t
        rows = [[i, self.w.mark(p["along_m"] / 1000), _poi_line(p)] for i, p in enumerate(self.pois, 1)]
        self.story += [Paragraph(_escape(t["pois"]), self.s.h2),
                       self._table([t["number"], t["km"], t["place"]], rows, [0.07, 0.1, 0.83])]

    def race_table(self) -> None:
        stations = [wp for wp in self.course.waypoints if wp.cutoff is not None]
        if not stations:
            return
        effort = EffortProfile(self.course)
        t, w = self.t, self.w
        services = {"checkpoint": t["checkpoint_services"], "aid-station": t["aid_services"],
                    "start": t["start_services"], "finish": t["finish_services"]}
        climbed = np.interp([(wp.km or 0) * 1000 for wp in stations], effort.grid, effort.ascent)
        rows = [[wp.name, w.mark(wp.km or 0), w.metres(float(up)), w.moment(wp.cutoff), services.get(wp.kind, "")]
                for wp, up in zip(stations, climbed)]
        if self.course.finish_cutoff and not any(wp.kind == "finish" for wp in stations):  # a loop's one end
            rows.append([w.say("finish"), w.mark(effort.length_km), w.metres(float(effort.ascent[-1])),
                         w.moment(self.course.finish_cutoff), services["finish"]])
        self.story += [Paragraph(_escape(t["checkpoints"]), self.s.h2),
                       self._table([t["place"], t["km"], t["cum_ascent"], t["cutoff"], t["services"]], rows,
                                   [0.3, 0.09, 0.13, 0.28, 0.2])]

    def stages(self) -> None:
        stages = self.plan.get("stages") or []
        t, w = self.t, self.w
        rows = [[t["stage"].format(day=s["day"]), f"{w.mark(s['from_km'])} → {w.mark(s['to_km'])}",
                 w.km(s["distance_m"]), w.metres(s["ascent_m"]), (s.get("lodging") or {}).get("name") or t["none"]]
                for s in stages]
        self.story += [Paragraph(_escape(t["stages"]), self.s.h2),
                       self._table([t["stage"].format(day=""), t["km"], t["distance"], t["ascent"], t["lodging"]],
                                   rows, [0.14, 0.2, 0.14, 0.14, 0.38])]
        for k, (s, part) in enumerate(zip(stages, self.course.parts)):
            self.story += [PageBreak(), Paragraph(_escape(part.name), self.s.title),
                           Paragraph(_escape(f"{w.km(s['distance_m'])} · D+ {w.metres(s['ascent_m'])} · "
                                             f"D− {w.metres(s['descent_m'])}"), self.s.body), Spacer(1, 3 * mm)]
            self.map(part.coordinates, self._points(s["from_km"], s["to_km"]), self.width * 1.05, s["from_km"])
            self.directions([st for st in self.steps if s["from_km"] <= st.km < s["to_km"] or
                             (k == len(stages) - 1 and st.km >= s["to_km"])])

    def detail_maps(self) -> None:
        coords = self.course.coordinates()
        cum = self.course.along_m() / 1000
        length = float(cum[-1])
        n = max(2, min(MAX_DETAIL_MAPS, int(np.ceil(length / DETAIL_KM))))
        edges = np.linspace(0, length, n + 1)
        for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]), 1):
            part = cut(coords, cum * 1000, lo * 1000, hi * 1000)
            title = self.t["detail_map"].format(number=k, start=self.w.number(lo), end=self.w.number(hi))
            if k % 2 == 1:
                self.story.append(PageBreak())
            self.story.append(Paragraph(_escape(title), self.s.h2))
            self.map(part, self._points(lo, hi), self.width * 0.62, float(lo),
                     lines=drawn_lines(self.course, lo * 1000, hi * 1000))

    # -- the whole ------------------------------------------------------------------------------

    def footer(self, canv: pdfcanvas.Canvas, pages: int) -> None:
        regular, _ = _fonts()
        size = 15 * mm * self.scale
        qr = QrCodeWidget(self.opts.link)
        x0, y0, x1, y1 = qr.getBounds()
        d = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
        d.add(qr)
        d.drawOn(canv, self.margin, 4 * mm)
        canv.setFont(regular, 6.3 * self.scale)
        canv.setFillColor(colors.HexColor("#444444"))
        text_x = self.margin + size + 3 * mm
        lines = [self.t["gpx_line"].format(link=self.opts.link), self.t["data_date"],
                 " · ".join(text for text, _ in settings.LICENCES)]
        for i, line in enumerate(lines):
            canv.drawString(text_x, 4 * mm + size - (i + 1) * 7.5 * self.scale, line)
        canv.drawRightString(self.pagesize[0] - self.margin, 4 * mm + 1,
                             self.t["page"].format(page=canv.getPageNumber(), pages=pages))

    def build(self) -> Sheet:
        staged = bool(self.plan.get("stages")) and len(self.course.parts) > 1
        crowded = len(self.pois) + len(self.steps) > MAX_OVERVIEW_MARKS
        long = (self.course.distance_m / 1000 > DETAIL_FROM_KM or crowded) and not staged
        self.header()
        self.practical()
        self.story += [Paragraph(_escape(self.t["map"]), self.s.h2)]
        self.map(self.course.coordinates(), self._points(steps=not (long or staged), key_only=long or staged),
                 self.width * 0.62, cum_m=self.course.along_m(), lines=drawn_lines(self.course))
        self.profile()
        self.race_table()
        if staged:
            self.poi_list()
            self.stages()
        else:
            if self.steps:  # an organiser's own course has no turn-by-turn
                self.directions(self.steps)
            self.poi_list()
            if long:
                self.detail_maps()
        out = io.BytesIO()
        doc = SimpleDocTemplate(out, pagesize=self.pagesize, leftMargin=self.margin, rightMargin=self.margin,
                                topMargin=self.margin, bottomMargin=self.margin + 14 * mm * self.scale,
                                title=self.course.name, author=settings.CREATOR, subject=self.t["map"],
                                creator=settings.CREATOR, lang=self.w.lang, invariant=True)
        numbered = _numbered_canvas(self.footer)
        doc.build(self.story, canvasmaker=numbered)
        return Sheet(out.getvalue(), doc.page, self.placed)


def map_picture(result: dict, course: Course, w: Words, tiles_dir: Path, *, width_px: int, height_px: int,
                graph: CompiledGraph | None = None) -> bytes:
    """The map of a result as a PNG for a website: the route, its ends, km markers, summits and numbered POIs."""
    b = _Builder(result, course, w, SheetOptions(tiles_dir, ""))
    points = b._points(steps=False, key_only=len(b.pois) > MAX_PICTURE_POIS)
    spec = MapSpec([line for k in range(len(course.parts)) for line in drawn_lines(course.only_part(k))],
                   [*b._km_marks(course.coordinates(), 0.0, course.along_m()), *points],
                   attribution="© OpenStreetMap contributors · Mission Bassin Minier")
    png, _ = render_map(spec, tiles_dir, w, width_px=width_px, height_px=height_px, dpi=DPI, graph=graph)
    return png


def profile_picture(result: dict, course: Course, w: Words, *, width_px: int, height_px: int,
                    fmt: str = "png") -> bytes:
    """The elevation chart of a result, with its summits and stops, as PNG or SVG."""
    b = _Builder(result, course, w, SheetOptions(Path("."), ""))
    return render_profile(b.props.get("elevation_profile") or [[0, 0], [1, 0]], w, marks=b.profile_marks(),
                          width_px=width_px, height_px=height_px, dpi=DPI, fmt=fmt)


def check_sheet(course: Course, page: str) -> None:
    """Refuse a sheet no page is made for (ExportError naming the field), before anything is drawn: the API asks
    it before it queues a sheet for a worker, so such a request is refused at once."""
    if page not in PAGE_SIZES:
        raise ExportError(f"page must be one of {', '.join(PAGE_SIZES)}", field="page")
    if course.distance_m > MAX_SHEET_KM * 1000:
        raise ExportError(f"a printable sheet is for courses up to {MAX_SHEET_KM:g} km; this one is "
                          f"{course.distance_m / 1000:.0f} km (its GPX and pictures are not limited so)",
                          field="format")


def circuit_sheet(result: dict, course: Course, w: Words, opts: SheetOptions) -> Sheet:
    """The printable sheet of a route-like result (as rendered in ``w``'s language) and its course."""
    check_sheet(course, opts.page)
    return _Builder(result, course, w, opts).build()

