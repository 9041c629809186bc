"""Region bundles for the offline app: the compact graph, the POIs and the named circuits, with a manifest.

A bundle lives in ``<cache>/bundles/<region>/``: content-addressed files (``graph.<sha16>.bin.gz``…),
each written atomically, then ``manifest.json`` last, so a reader sees the old bundle or the new one,
never half of each; the files only the old manifest named are then removed (the API serves only the
current manifest's files). A build whose inputs have not changed is not redone, and an interrupted
one leaves no partial file. The format is in ``docs/bundle-format.md``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import shapely

import presentation
from poi_data import versions
from poi_data.build import catalogue_version
from poi_data.catalogue import Catalogue
from poi_data.geojson import poi_feature
from presentation import SHEET_LANGUAGE, poi_descriptions, words
from routing import bundle_graph
from routing import settings as routing_settings
from routing.build import BuildRequest, load_or_build
from routing.compiled import CompiledGraph
from routing.engine import cch_order
from routing.errors import BBoxError
from routing.io import atomic_write, code_version
from routing.progress import Reporter
from routing.settings import Settings
from routing.sources import mbm

from . import settings, tileset
from .course import course
from .geojson import ATTRIBUTION, route_feature
from .mapstyle import style
from .results import is_loop
from .writer import to_gpx

REGIONS_FILE = Path(__file__).with_name("regions.toml")
#: Bump when what a bundle holds changes for the same inputs (it is part of the bundle version).
BUNDLE_FORMAT_VERSION = 3
PRESENTATION_DIR = Path(presentation.__file__).parent
GZIP_LEVEL = 6
MEDIA_TYPES = {"graph": "application/vnd.galibot.graph", "pois": "application/geo+json",
               "circuits": "application/geo+json", "circuit-gpx": "application/gpx+xml",
               "basemap": "application/vnd.pmtiles", "style": "application/json"}
#: The roles that make the map; the rest is what routing and navigation need (the 15 MB budget).
MAP_ROLES = frozenset({"basemap", "style"})


@dataclass(frozen=True)
class Bundle:
    """A built (or found) bundle: its manifest and directory, and whether this call built it."""

    region: str
    directory: Path
    manifest: dict
    built: bool


def load_regions(path: Path = REGIONS_FILE) -> dict[str, dict]:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


REGIONS = load_regions()


def region_spec(region: str) -> dict:
    """A region of regions.toml, or BBoxError naming the ones that exist."""
    if region not in REGIONS:
        raise BBoxError(f"unknown region {region!r}; choose one of {', '.join(REGIONS)}", field="region")
    return REGIONS[region]


def region_bbox(cfg: Settings, region: str) -> tuple[float, float, float, float]:
    """The basin's data box, or the bounding box of the MBM communes of the region's EPCIs (within it)."""
    spec = region_spec(region)
    if "epci" not in spec:
        return routing_settings.DATA_BBOX
    shapes = [g for g, p in mbm.read_layer(cfg.mbm_dir, "communes-mbm") if p.get("epci_siren") in spec["epci"]]
    if not shapes:
        raise BBoxError(f"region {region!r}: no MBM commune belongs to EPCI {', '.join(spec['epci'])}")
    w, s, e, n = shapely.union_all(shapes).bounds
    W, S, E, N = routing_settings.DATA_BBOX
    return (round(max(w, W), 5), round(max(s, S), 5), round(min(e, E), 5), round(min(n, N), 5))


def region_graph(cfg: Settings, region: str, basin: CompiledGraph, rep: Reporter) -> CompiledGraph:
    """The compiled graph of a region: the basin's own, or a build over the region's box (cached)."""
    if "epci" not in region_spec(region):
        return basin
    graph, _, _ = load_or_build(cfg, BuildRequest(bbox=region_bbox(cfg, region)), rep=rep)
    return graph


def bundle_dir(cfg: Settings, region: str) -> Path:
    return cfg.cache_dir / "bundles" / region


def read_manifest(cfg: Settings, region: str) -> dict | None:
    """The region's current manifest, or None when no bundle was built."""
    path = bundle_dir(cfg, region) / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def bundle_version(graph: CompiledGraph, poi_version: str, circuits_version: str, bbox, basemap_version: str) -> str:
    """What a bundle is made of, hashed: unchanged inputs give the same version and no rebuild. The code that
    writes its files and words its texts (this package, the presentation layer) is an input too."""
    blob = json.dumps([BUNDLE_FORMAT_VERSION, bundle_graph.FORMAT_VERSION, graph.data_version, poi_version,
                       circuits_version, list(bbox), basemap_version,
                       code_version(Path(__file__).parent, PRESENTATION_DIR)])
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _write(directory: Path, stem: str, suffix: str, role: str, data: bytes, compressed: bool) -> dict:
    """Store ``data`` under a name holding its hash (kept if already there) and describe it for the manifest."""
    digest = hashlib.sha256(data).hexdigest()
    name = f"{stem}.{digest[:16]}{suffix}"
    path = directory / name
    if not (path.is_file() and path.stat().st_size == len(data)):
        with atomic_write(path) as fh:
            fh.write(data)
    return {"name": name, "role": role, "size": len(data), "sha256": digest, "media_type": MEDIA_TYPES[role],
            "compression": "gzip" if compressed else None}


def _gz(text: str | bytes) -> bytes:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return gzip.compress(data, GZIP_LEVEL, mtime=0)  # mtime 0: the same content gives the same bytes and hash


def _inside(route, bbox) -> bool:
    w, s, e, n = bbox
    lon, lat = route.coordinates[:, 0], route.coordinates[:, 1]
    return bool((lon >= w).all() and (lon <= e).all() and (lat >= s).all() and (lat <= n).all())


def _circuit_feature(c) -> dict:
    """A circuit as a route Feature with its texts in both languages and its sources."""
    fr, en = c.summary("fr"), c.summary("en")
    feature = route_feature(c.route)
    feature["id"] = c.id
    feature["properties"].update(
        id=c.id, names={"fr": fr["name"], "en": en["name"]},
        description={"fr": fr["description"], "en": en["description"]},
        **{k: fr[k] for k in ("theme", "kind", "inspired_by", "sources", "stops", "summits")})
    return feature


def circuits_geojson(circuits: dict) -> str:
    """Every routed circuit as one FeatureCollection, in canonical JSON: the same circuits give the same bytes."""
    collection = {"type": "FeatureCollection", "attribution": ATTRIBUTION,
                  "features": [_circuit_feature(c) for c in circuits.values()]}
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _circuit_gpx(c) -> str:
    """A circuit's GPX as a tourist office hands it out: in French, the basin's language."""
    s, fr = c.summary("fr"), words(SHEET_LANGUAGE)
    return to_gpx(course(c.route, "circuit", s["name"], s["description"], loop=is_loop(c.route), stops=c.stops,
                         summits=c.summits, wording=fr), wording=fr)


def bundle_poi_feature(poi: dict) -> dict:
    """A POI as the bundles carry it: texts in every language, the descriptions made from the fields included."""
    feature = poi_feature(poi, None, outline=True)
    feature["properties"]["description"] = poi_descriptions(poi)
    return feature


def _pois_geojson(pois: list[dict]) -> str:
    features = [bundle_poi_feature(p) for p in pois]
    return json.dumps({"type": "FeatureCollection", "attribution": ATTRIBUTION, "features": features},
                      ensure_ascii=False, separators=(",", ":"))


def build_bundle(cfg: Settings, region: str, graph: CompiledGraph, catalogue: Catalogue, circuits: dict,
                 circuits_version: str, poi_version: str, rep: Reporter | None = None,
                 force: bool = False) -> Bundle:
    """Write (or find) the bundle of ``region`` from its graph, the catalogue and the routed circuits."""
    rep = rep or Reporter(quiet=True)
    bbox = tuple(graph.meta["bbox"])
    pyramid = tileset.build_pyramid(cfg, rep, workers=cfg.workers)
    version = bundle_version(graph, poi_version, circuits_version, bbox, pyramid.version)
    directory = bundle_dir(cfg, region)
    current = read_manifest(cfg, region)
    if current and current.get("bundle_version") == version and not force and _complete(directory, current):
        versions.alias(cfg, graph.data_version, poi_version)
        rep.step(f"bundle {region}: version {version} already built")
        return Bundle(region, directory, current, False)
    started = time.perf_counter()
    rep.step(f"bundle {region}: compact graph of {graph.n_nodes:,} nodes, {len(graph.edge_u):,} ways")
    rank = np.empty(graph.n_nodes, dtype=np.uint32)
    rank[np.asarray(cch_order(graph, cfg.cache_dir))] = np.arange(graph.n_nodes, dtype=np.uint32)
    files = [_write(directory, "graph", ".bin.gz", "graph", _gz(bundle_graph.encode_graph(graph, rank)), True)]
    pois = catalogue.pois if region_spec(region).get("epci") is None else catalogue.in_bbox(bbox)
    rep.step(f"bundle {region}: {len(pois):,} POIs")
    files.append(_write(directory, "pois", ".geojson.gz", "pois", _gz(_pois_geojson(pois)), True))
    inside = [c for c in circuits.values() if _inside(c.route, bbox)]
    rep.step(f"bundle {region}: {len(inside)} named circuits as GeoJSON and GPX")
    collection = {"type": "FeatureCollection", "attribution": ATTRIBUTION,
                  "features": [_circuit_feature(c) for c in inside]}
    files.append(_write(directory, "circuits", ".geojson.gz", "circuits",
                        _gz(json.dumps(collection, ensure_ascii=False, separators=(",", ":"))), True))
    files += [_write(directory, f"circuit-{c.id}", ".gpx.gz", "circuit-gpx", _gz(_circuit_gpx(c)), True)
              for c in inside]
    map_files, basemap = _map_files(directory, pyramid, bbox, rep, region)
    files += map_files
    manifest = _manifest(region, bbox, version, graph, poi_version, files, len(pois), len(inside),
                         time.perf_counter() - started)
    manifest["basemap"] = basemap
    with atomic_write(directory / "manifest.json") as fh:
        fh.write(json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
    versions.alias(cfg, graph.data_version, poi_version)
    _prune(directory, manifest)
    rep.step(f"bundle {region}: {manifest['total_bytes'] / 1e6:.1f} MB in {manifest['build_s']:.1f} s")
    return Bundle(region, directory, manifest, True)


def _map_files(directory: Path, pyramid: tileset.Basemap, bbox, rep: Reporter,
               region: str) -> tuple[list[dict], dict]:
    """The region's basemap (the pyramid's tiles that touch it) and the style that draws it from the bundle, with
    the basemap's zooms and tile counts for the manifest."""
    archive = tileset.open_basemap(pyramid.path)
    try:
        data = tileset.region_archive(archive, bbox)
    finally:
        archive.close()
    entry = _write(directory, "basemap", ".pmtiles", "basemap", data, False)
    built = tileset.open_basemap(directory / entry["name"])
    info = built.info
    built.close()
    rep.step(f"bundle {region}: basemap, zooms {info.min_zoom}..{info.max_zoom}, {info.tile_count:,} tiles, "
             f"{len(data) / 1e6:.1f} MB")
    doc = style({"url": f"pmtiles://{entry['name']}", "bounds": list(bbox)}, name=f"galibot {region}")
    files = [entry, _write(directory, "style", ".json", "style",
                           json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), False)]
    return files, {"min_zoom": info.min_zoom, "max_zoom": info.max_zoom, "tiles": info.tile_count,
                   "tiles_per_zoom": {str(z): n for z, n in info.tiles_per_zoom.items()}, "bytes": len(data),
                   "area": list(info.bbox)}


def _prune(directory: Path, manifest: dict) -> None:
    """Remove the files of earlier bundles (temporary files of a write in progress start with a dot: kept)."""
    keep = {f["name"] for f in manifest["files"]} | {"manifest.json"}
    for path in directory.iterdir():
        if path.is_file() and path.name not in keep and not path.name.startswith("."):
            path.unlink(missing_ok=True)


def _complete(directory: Path, manifest: dict) -> bool:
    return all((directory / f["name"]).is_file() and (directory / f["name"]).stat().st_size == f["size"]
               for f in manifest["files"])


def _manifest(region: str, bbox, version: str, graph: CompiledGraph, poi_version: str, files: list[dict],
              n_pois: int, n_circuits: int, seconds: float) -> dict:
    spec = region_spec(region)
    return {
        "format": "galibot-bundle", "format_version": BUNDLE_FORMAT_VERSION,
        "graph_format_version": bundle_graph.FORMAT_VERSION,
        "region": {"id": region, "name": spec["name"], "bbox": list(bbox), "epci": spec.get("epci", [])},
        "bundle_version": version, "data_version": graph.data_version, "poi_version": poi_version,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"), "build_s": round(seconds, 1),
        "counts": {"nodes": graph.n_nodes, "ways": len(graph.edge_u), "pois": n_pois, "circuits": n_circuits},
        "files": files, "total_bytes": sum(f["size"] for f in files),
        "routing_bytes": sum(f["size"] for f in files if f["role"] not in MAP_ROLES),
        "map_bytes": sum(f["size"] for f in files if f["role"] in MAP_ROLES),
        "attribution": ATTRIBUTION,
        "licences": [{"text": text, "url": url} for text, url in settings.LICENCES],
    }


def build_region(cfg: Settings, region: str, basin: CompiledGraph, catalogue: Catalogue, circuits: dict,
                 circuits_version: str, rep: Reporter | None = None, force: bool = False) -> Bundle:
    """The bundle of one region, building the region's graph first when it has its own."""
    rep = rep or Reporter(quiet=True)
    graph = region_graph(cfg, region, basin, rep)
    return build_bundle(cfg, region, graph, catalogue, circuits, circuits_version, catalogue_version(basin), rep,
                        force)
