"""The MapLibre style of the basemap (style spec v8), as data: the same style online and in a bundle.

The style draws with fills, lines and circles only, so it needs no glyphs and no sprites: a phone with
no network has everything it needs in the bundle. Names are in the tiles (``transportation_name``,
``place``, ``mountain_peak``…) for an app that labels with its own fonts. Paths, where the greenways
and cavaliers are, are drawn in green from zoom 12, since they are what cyclists and runners come for.
"""

from __future__ import annotations

from .geojson import ATTRIBUTION
from .tileset import MAX_ZOOM, MIN_ZOOM

SOURCE = "basemap"
BACKGROUND = "#f6f3ee"

#: Fills: (layer id, source layer, filter on class or None, colour, min zoom).
FILLS = (
    ("landcover-wood", "landcover", ["wood", "forest"], "#cfe3c0", MIN_ZOOM),
    ("landcover-grass", "landcover", ["grass", "farmland", "wetland", "scrub"], "#e4eed3", 10),
    ("landuse-residential", "landuse", ["residential", "neighbourhood", "suburb"], "#ebe6e0", 10),
    ("landuse-industrial", "landuse", ["industrial", "commercial", "retail", "railway", "quarry"], "#e6dfe6", 11),
    ("park", "park", None, "#d6eccb", 10),
    ("water", "water", None, "#a9cdee", MIN_ZOOM),
    ("aeroway", "aeroway", None, "#e2e0ea", 12),
    ("building", "building", None, "#ddd3ca", 14),
)

#: Lines: (layer id, source layer, classes, colour, width at zoom 10, width at zoom 14, dashed, min zoom).
LINES = (
    ("waterway-river", "waterway", ["river", "canal"], "#a9cdee", 1.0, 3.0, False, 9),
    ("waterway-stream", "waterway", ["stream", "ditch", "drain"], "#a9cdee", 0.5, 1.0, False, 13),
    ("boundary", "boundary", None, "#9e8fb3", 0.6, 1.0, True, MIN_ZOOM),
    ("rail", "transportation", ["rail", "transit"], "#9a9a9a", 0.6, 1.4, True, 10),
    ("track", "transportation", ["track"], "#a0783c", 0.4, 1.4, True, 12),
    ("path", "transportation", ["path", "cycleway", "pedestrian"], "#2f8f3a", 0.6, 1.8, False, 12),
    ("service", "transportation", ["service"], "#ffffff", 0.4, 1.6, False, 13),
    ("minor", "transportation", ["minor"], "#ffffff", 0.5, 2.6, False, 12),
    ("tertiary", "transportation", ["tertiary"], "#fff7c2", 0.8, 3.2, False, 11),
    ("secondary", "transportation", ["secondary"], "#fde6a6", 1.0, 4.0, False, 10),
    ("primary", "transportation", ["primary", "trunk"], "#fbc99a", 1.2, 4.6, False, 9),
    ("motorway", "transportation", ["motorway"], "#e8a0a8", 1.4, 5.0, False, MIN_ZOOM),
)


def _filter(classes: list[str] | None) -> list | None:
    return None if classes is None else ["in", ["get", "class"], ["literal", classes]]


def _width(at10: float, at14: float) -> list:
    return ["interpolate", ["exponential", 1.5], ["zoom"], MIN_ZOOM, at10 / 3, 10, at10, 14, at14, 18, at14 * 4]


def _fill(layer_id: str, source_layer: str, classes, colour: str, minzoom: int) -> dict:
    layer = {"id": layer_id, "type": "fill", "source": SOURCE, "source-layer": source_layer, "minzoom": minzoom,
             "paint": {"fill-color": colour}}
    if (f := _filter(classes)) is not None:
        layer["filter"] = f
    return layer


def _line(layer_id: str, source_layer: str, classes, colour: str, at10: float, at14: float, dashed: bool,
          minzoom: int) -> dict:
    paint: dict = {"line-color": colour, "line-width": _width(at10, at14)}
    if dashed:
        paint["line-dasharray"] = [2, 2]
    layer = {"id": layer_id, "type": "line", "source": SOURCE, "source-layer": source_layer, "minzoom": minzoom,
             "layout": {"line-join": "round", "line-cap": "butt" if dashed else "round"}, "paint": paint}
    if (f := _filter(classes)) is not None:
        layer["filter"] = f
    return layer


def _casing(line: dict) -> dict:
    """A grey edge under a white or pale road, so it shows on pale land."""
    width = line["paint"]["line-width"]
    return {**line, "id": f"{line['id']}-casing",
            "paint": {"line-color": "#b9b1a8", "line-width": ["+", width, 1.2] if isinstance(width, (int, float))
                      else ["interpolate", ["exponential", 1.5], ["zoom"],
                            *[v + 1.2 if i % 2 else v for i, v in enumerate(width[3:])]]}}


def _peaks() -> dict:
    """Summits (the terrils' tops in the OSM data) as brown dots."""
    return {"id": "mountain-peak", "type": "circle", "source": SOURCE, "source-layer": "mountain_peak",
            "minzoom": 12, "paint": {"circle-color": "#6b4f3a", "circle-radius": 3.5,
                                     "circle-stroke-color": "#ffffff", "circle-stroke-width": 1}}


def style(source: dict, *, name: str = "galibot basemap") -> dict:
    """The style with ``source`` as its one vector source: ``{"url": "pmtiles://…"}`` in a bundle, ``{"tiles":
    […]}`` online. The source's zoom range and attribution are the archive's."""
    lines = [_line(*spec) for spec in LINES]
    road_ids = {"service", "minor", "tertiary", "secondary", "primary", "motorway"}
    casings = [_casing(line) for line in lines if line["id"] in road_ids]
    return {
        "version": 8,
        "name": name,
        "metadata": {"galibot:needs": "no glyphs, no sprites"},
        "sources": {SOURCE: {"type": "vector", "minzoom": MIN_ZOOM, "maxzoom": MAX_ZOOM,
                             "attribution": ATTRIBUTION, **source}},
        "layers": [{"id": "background", "type": "background", "paint": {"background-color": BACKGROUND}},
                   *[_fill(*spec) for spec in FILLS], *casings, *lines, _peaks()],
    }
