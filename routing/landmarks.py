"""The reference places the foundation checks use, each located from a dataset, never typed in.

A landmark is found by name in the OSM ``poi`` layer, by ``id_unesco`` in the MBM listed
buildings, or by MBM number among the terril summits of a compiled graph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import shapely

from .compiled import CompiledGraph
from .errors import DataError
from .settings import DATA_BBOX, Settings
from .sources import mbm, tiles


@dataclass(frozen=True)
class Landmark:
    key: str
    label: str
    source: str  # "osm_poi", "osm_place", "mbm_batis" or "terril"
    match: str  # a name pattern, an id_unesco or a terril number
    poi_class: str | None = None  # for osm_poi/osm_place: the OpenMapTiles class it must have


LANDMARKS = (
    Landmark("chm_lewarde", "Centre Historique Minier, Lewarde", "osm_poi", r"^Centre Historique Minier$"),
    Landmark("base_11_19", "Base 11/19, Loos-en-Gohelle", "osm_poi", r"^Ancien site minier de la fosse 11-19"),
    Landmark("fosse_9_9bis", "Fosse 9-9bis, Oignies", "mbm_batis", "42A"),
    Landmark("arenberg", "Arenberg Creative Mine, Wallers", "osm_poi", r"^Mine de Wallers-Arenberg$"),
    Landmark("cite_electriciens", "Cité des Électriciens, Bruay-La-Buissière", "osm_poi", r"^Cité des Electriciens"),
    Landmark("louvre_lens", "Louvre-Lens", "osm_poi", r"^Louvre Lens$", "museum"),
    Landmark("t074_summit", "Terril 74 summit (11/19)", "terril", "T074"),
    # T094 is not among the 162 MBM polygons; OSM maps it as the park "Terril 94: Parc de Trail-Running".
    Landmark("t094", "Terril 94, Noyelles-sous-Lens (Arena Terril Trail)", "osm_poi", r"^Terril 94\b"),
    Landmark("lens", "Lens (town centre)", "osm_place", r"^Lens$", "town"),
    Landmark("don", "Don (village on the Deûle and the EV5)", "osm_place", r"^Don$", "village"),
    Landmark("bethune", "Béthune (town centre)", "osm_place", r"^Béthune$", "town"),
    Landmark("olhain", "Olhain (hamlet by the parc départemental d'Olhain)", "osm_place", r"^Olhain$", "hamlet"),
    Landmark("angres", "Angres (village)", "osm_place", r"^Angres$", "village"),
)


def _osm_poi(cfg: Settings, lm: Landmark, points: list) -> tuple[float, float]:
    rx = re.compile(lm.match)
    hits = [p for p in points if rx.search(p.properties.get("name:latin") or "")
            and lm.poi_class in (None, p.properties.get("class"))]
    if not hits:
        raise DataError(f"no OSM poi named like {lm.match!r} in {cfg.tiles_dir}")
    return hits[0].lon, hits[0].lat


def _mbm_batis(cfg: Settings, id_unesco: str) -> tuple[float, float]:
    for geom, props in mbm.read_layer(cfg.mbm_dir, "batis"):
        if props.get("id_unesco") == id_unesco:
            point = shapely.point_on_surface(geom)
            return point.x, point.y
    raise DataError(f"no MBM listed building with id_unesco {id_unesco}")


def _terril(graph: CompiledGraph, number: str) -> tuple[float, float]:
    for t in graph.meta["terrils"]:
        if t["number"] == number:
            return t["summit_lon"], t["summit_lat"]
    raise DataError(f"terril {number} is not in the graph's terril table")


def locate(cfg: Settings, graph: CompiledGraph, keys: tuple[str, ...] | None = None,
           points: list | None = None) -> dict[str, tuple[float, float]]:
    """Lon/lat of each landmark (all, or those in ``keys``), read from the data.

    OSM landmarks are looked for among ``points`` (tile points of the ``poi`` and ``place`` layers)
    when the caller has read them already, as the catalogue build has over the whole data area;
    otherwise they are read within the graph's area.
    """
    wanted = [lm for lm in LANDMARKS if keys is None or lm.key in keys]
    layers = tuple(sorted({lm.source[4:] for lm in wanted if lm.source.startswith("osm_")}))
    if points is None:
        points = tiles.read_points(cfg.tiles_dir, layers, tuple(graph.meta.get("bbox", DATA_BBOX)),
                                   cfg.workers) if layers else []
    out = {}
    for lm in wanted:
        if lm.source.startswith("osm_"):
            out[lm.key] = _osm_poi(cfg, lm, [p for p in points if p.layer == lm.source[4:]])
        elif lm.source == "mbm_batis":
            out[lm.key] = _mbm_batis(cfg, lm.match)
        else:
            out[lm.key] = _terril(graph, lm.match)
    return out
