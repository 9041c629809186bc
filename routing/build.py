"""Build the compiled graph of the basin: sources → topology → enrichment → cache.

``load_or_build`` is the entry point: it computes the data version (a hash of every input file,
the bounding box and the builder version), loads ``<cache>/graph-<version>.npz`` if it exists,
and otherwise builds and saves it atomically.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from . import __version__, enrich, geo, settings, topology
from .compiled import CompiledGraph
from .elevation import ElevationModel, edge_climbs, fit_terrils
from .errors import BBoxError, DataError, EmptyGraphError
from .progress import Reporter
from .settings import Settings
from .sources import LineSet, ev5, mbm, tiles
from .sources.srtm import DEM

MBM_LAYERS = ("terrils", "zt-terrils", "zt-cavaliers", "cavaliers", "bien-inscrit")


@dataclass(frozen=True)
class BuildRequest:
    """What to build: an area and, optionally, a real .osm/.osm.pbf file instead of the tiles."""

    bbox: tuple[float, float, float, float] = settings.DATA_BBOX
    osm_file: Path | None = None
    simplify: bool = True

    def describe(self) -> str:
        src = f"osm file {self.osm_file.name}" if self.osm_file else "vector tiles"
        return f"{src}, bbox {tiles.format_bbox(self.bbox)}" + ("" if self.simplify else ", unsimplified")


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``minlon,minlat,maxlon,maxlat`` or a named area (see settings.NAMED_BBOXES)."""
    if text in settings.NAMED_BBOXES:
        return settings.NAMED_BBOXES[text]
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        names = ", ".join(settings.NAMED_BBOXES)
        raise BBoxError(f"--bbox must be minlon,minlat,maxlon,maxlat or one of {names}; got {text!r}")
    return check_bbox(values)  # type: ignore[arg-type]


def check_bbox(bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Refuse an inverted bbox or one that does not overlap the data area."""
    w, s, e, n = bbox
    if not (w < e and s < n):
        raise BBoxError(f"--bbox {tiles.format_bbox(bbox)} is empty: it needs minlon < maxlon and minlat < maxlat")
    dw, ds, de, dn = settings.DATA_BBOX
    if e <= dw or w >= de or n <= ds or s >= dn:
        area = tiles.format_bbox(settings.DATA_BBOX)
        raise BBoxError(f"--bbox {tiles.format_bbox(bbox)} lies outside the data area {area}")
    return bbox


def input_files(cfg: Settings, req: BuildRequest) -> list[Path]:
    """Every file the build reads, in a stable order."""
    if not cfg.data_dir.is_dir():
        raise DataError(f"data directory not found: {cfg.data_dir} (set GALIBOT_DATA_DIR or --data-dir)")
    if req.osm_file is not None:
        if not req.osm_file.is_file():
            raise DataError(f"OSM file not found: {req.osm_file}")
        lines = [req.osm_file]
    else:
        lines = tiles.tiles_for_bbox(cfg.tiles_dir, req.bbox)
    srtm = sorted(cfg.srtm_dir.glob("*.hgt")) if cfg.srtm_dir.is_dir() else []
    if not srtm:
        raise DataError(f"no SRTM .hgt tile in {cfg.srtm_dir}")
    layers = [cfg.mbm_dir / f"{name}.geojson" for name in MBM_LAYERS]
    for path in layers + [cfg.ev5_gpx]:
        if not path.is_file():
            raise DataError(f"data file not found: {path}")
    return lines + srtm + layers + [cfg.ev5_gpx]


def data_version(cfg: Settings, req: BuildRequest, files: list[Path]) -> str:
    """Hash of the builder version, the request and the content of every input file."""
    h = hashlib.sha256()
    h.update(f"builder={settings.BUILDER_VERSION};{req.describe()}\n".encode())
    for path in files:
        rel = path.relative_to(cfg.data_dir) if path.is_relative_to(cfg.data_dir) else path.name
        h.update(f"{rel}\n".encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:20]


def cache_path(cfg: Settings, version: str) -> Path:
    return cfg.cache_dir / f"graph-{version}.npz"


def _read_network(cfg: Settings, req: BuildRequest, rep: Reporter) -> tuple[LineSet, list]:
    """Lines and terril peaks from the tiles, or from the .osm/.osm.pbf file."""
    if req.osm_file is not None:
        from .sources import osm_file  # pyosmium is only needed for this path

        rep.step(f"reading {req.osm_file}")
        return osm_file.read_osm(req.osm_file, req.bbox)
    n_tiles = len(tiles.tiles_for_bbox(cfg.tiles_dir, req.bbox))
    with rep.bar(n_tiles, "decoding tiles") as tick:
        lines = tiles.read_lines(cfg.tiles_dir, req.bbox, cfg.workers, tick)
    peaks = tiles.read_points(cfg.tiles_dir, ("mountain_peak",), _padded(req.bbox), cfg.workers)
    return lines, peaks


def _padded(bbox: tuple[float, ...], pad: float = 0.01) -> tuple[float, float, float, float]:
    return (bbox[0] - pad, bbox[1] - pad, bbox[2] + pad, bbox[3] + pad)


def _edge_lengths(lon: np.ndarray, lat: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Great-circle length (m) of each edge polyline, with osmnx's haversine."""
    seg = geo.great_circle_m(lat[:-1], lon[:-1], lat[1:], lon[1:])
    edge_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    inner = edge_of[1:] == edge_of[:-1]
    return np.bincount(edge_of[1:][inner], weights=seg[inner], minlength=len(offsets) - 1)


def _metric_lines(lon: np.ndarray, lat: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    x, y = geo.to_metric(lon, lat)
    idx = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    return shapely.linestrings(np.column_stack([x, y]), indices=idx)


def _metric(geoms: list) -> list:
    return [geo.geometry_to_metric(g) for g in geoms]


def _climbs(edges_m: np.ndarray, model: ElevationModel) -> tuple[np.ndarray, np.ndarray]:
    coords, edge_of = enrich.sample_points(edges_m, settings.ELEVATION_SAMPLE_M)
    lon, lat = geo.to_lonlat(coords[:, 0], coords[:, 1])
    return edge_climbs(lon, lat, edge_of, len(edges_m), model)


def _km_by(values: np.ndarray, lengths: np.ndarray) -> dict:
    keys, inv = np.unique(values.astype(str), return_inverse=True)
    km = np.bincount(inv, weights=lengths) / 1000.0
    return {str(k): round(float(v), 1) for k, v in sorted(zip(keys, km), key=lambda kv: -kv[1])}


def compile_graph(cfg: Settings, req: BuildRequest, version: str, rep: Reporter) -> CompiledGraph:
    """Run the whole build for ``req`` and return the graph (not yet saved)."""
    lines, peaks = _read_network(cfg, req, rep)
    if len(lines) == 0:
        raise EmptyGraphError(f"no routable way in {req.describe()}")
    rep.step(f"{len(lines)} line pieces; building topology")
    topo = topology.build_topology(lines, simplify=req.simplify)
    topo, lcc_share = topology.largest_component(topo)
    rep.step(f"{len(topo.node_keys)} nodes, {topo.n_edges} ways in the largest component ({lcc_share:.1%} of nodes)")

    lon, lat = lines.to_lonlat(lines.coords[topo.geom_index])
    lon, lat = np.round(lon, 7), np.round(lat, 7)
    node_lon, node_lat = lines.to_lonlat(topo.node_coords)
    node_lon, node_lat = np.round(node_lon, 7), np.round(node_lat, 7)
    lengths = _edge_lengths(lon, lat, topo.geom_offsets)
    edges_m = _metric_lines(lon, lat, topo.geom_offsets)
    attr_names = lines.attr_names
    table = np.array(lines.attr_table, dtype=object).reshape(len(lines.attr_table), len(attr_names))
    classes = table[topo.edge_attr, attr_names.index("class")].astype(str)
    names = table[topo.edge_attr, attr_names.index("name")]

    rep.step("elevation: SRTM3 with terril summits from OSM peaks")
    terril_polys = mbm.terril_polygons(cfg.mbm_dir)
    dem = DEM(cfg.srtm_dir)
    model = ElevationModel(dem, fit_terrils(dem, terril_polys, peaks))
    node_terril = model.terril_of(node_lon, node_lat)
    node_elev = model(node_lon, node_lat, node_terril)
    ascent, descent = _climbs(edges_m, model)
    vertex_elev = model(lon, lat)

    rep.step("matching cavaliers, EuroVelo 5 and UNESCO elements")
    railways = _metric([g for g, _ in mbm.read_layer(cfg.mbm_dir, "zt-cavaliers")])
    strips = _metric([g for g, _ in mbm.read_layer(cfg.mbm_dir, "cavaliers")])
    cavalier = enrich.cavalier_flags(edges_m, lengths, classes, names, railways, strips)
    ev5_lines = _metric([shapely.linestrings(seg) for seg in ev5.read_gpx_segments(cfg.ev5_gpx)])
    on_ev5 = enrich.ev5_flags(edges_m, lengths, ev5_lines)
    elements = mbm.read_layer(cfg.mbm_dir, "bien-inscrit")
    unesco = enrich.nearest_polygon(edges_m, _metric([g for g, _ in elements]), settings.UNESCO_BORDER_M)

    meta = {
        "data_version": version,
        "builder_version": settings.BUILDER_VERSION,
        "galibot_version": __version__,
        "request": req.describe(),
        "bbox": list(req.bbox),
        "crs": "epsg:4326",
        "simplified": req.simplify,
        "attr_names": list(attr_names),
        "attr_table": [list(row) for row in lines.attr_table],
        "terrils": [
            {"number": t.number, "name": t.name, "zone": t.zone, "rim_m": round(t.rim_m, 1),
             "dem_max_m": round(t.dem_max_m, 1), "peak_m": t.peak_m, "peak_name": t.peak_name,
             "summit_m": round(t.summit_m, 1), "factor": round(t.factor, 4),
             "summit_lon": round(t.summit[0], 7), "summit_lat": round(t.summit[1], 7)}
            for t in model.terrils
        ],
        "unesco_elements": [
            {"id": p.get("no_element"), "name": p.get("nom"), "section": p.get("section")} for _, p in elements
        ],
        "stats": {
            "source": lines.stats,
            "topology": topo.stats,
            "lcc_share": round(lcc_share, 5),
            "km_by_class": _km_by(classes, lengths),
            "km_total": round(float(lengths.sum()) / 1000, 1),
            "km_cavalier": round(float(lengths[cavalier].sum()) / 1000, 1),
            "km_ev5": round(float(lengths[on_ev5].sum()) / 1000, 1),
            "km_unesco": round(float(lengths[unesco >= 0].sum()) / 1000, 1),
        },
        "attribution": [
            "© OpenStreetMap contributors, ODbL 1.0 (vector tiles of 2021-08)",
            "Mission Bassin Minier / data.gouv.fr / geo2france, Licence Ouverte Etalab 2.0",
            "NASA SRTM3 v2.1 / USGS, public domain",
            "EuroVelo 5 geometry: OSM relation 5245117 via Waymarked Trails, ODbL",
        ],
    }
    return CompiledGraph(
        node_id=topo.node_keys, node_lon=node_lon, node_lat=node_lat,
        node_elevation=node_elev.astype(np.float32), node_terril=node_terril.astype(np.int16),
        edge_u=topo.edge_u.astype(np.int32), edge_v=topo.edge_v.astype(np.int32),
        edge_attr=topo.edge_attr.astype(np.int32), edge_length=lengths,
        edge_ascent=ascent.astype(np.float32), edge_descent=descent.astype(np.float32),
        edge_cavalier=cavalier, edge_ev5=on_ev5, edge_unesco=unesco.astype(np.int16),
        geom_offsets=topo.geom_offsets, geom_lon=lon, geom_lat=lat, geom_elevation=vertex_elev.astype(np.float32),
        meta=meta,
    )


def load_or_build(cfg: Settings, req: BuildRequest = BuildRequest(), force: bool = False,
                  rep: Reporter | None = None) -> tuple[CompiledGraph, Path, bool]:
    """The compiled graph for ``req``: from the cache when its data version is there, else built.

    Returns the graph, its cache file and whether it was built now.
    """
    rep = rep or Reporter(quiet=True)
    req = BuildRequest(check_bbox(req.bbox), req.osm_file, req.simplify)
    files = input_files(cfg, req)
    version = data_version(cfg, req, files)
    path = cache_path(cfg, version)
    if path.is_file() and not force:
        rep.step(f"loading cached graph {path}")
        return CompiledGraph.load(path), path, False
    rep.step(f"building graph {version} from {req.describe()}")
    graph = compile_graph(cfg, req, version, rep)
    graph.save(path)
    rep.step(f"saved {path}")
    return graph, path, True
