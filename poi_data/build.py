"""Build the POI catalogue from the datasets, snap it to the graph and cache it under the data version.

Sources: the OSM ``poi`` layer of the tiles (themes by the rules of themes.toml), the Mission Bassin
Minier layers (terrils, pit shafts, cités minières, UNESCO elements) and the key places of
key_places.toml. A record that does not parse or does not validate is skipped and counted in the
report; the build goes on.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from marshmallow import ValidationError

from routing import geo, landmarks
from routing.compiled import CompiledGraph
from routing.errors import DataError
from routing.io import atomic_write
from routing.settings import DATA_BBOX, Settings
from routing.snap import EdgeSnapper, nearest_node
from routing.sources import mbm, tiles

from .catalogue import normalise
from .labels import DEFAULT_LANG, LABELS_FILE, THEMES_FILE, load_themes, unnamed_labels
from .schemas import POI_SCHEMA

HERE = Path(__file__).resolve().parent
KEY_PLACES_FILE = HERE / "key_places.toml"
CATALOGUE_VERSION = "2"
ODBL = "ODbL 1.0, © OpenStreetMap contributors"
ETALAB = "Licence Ouverte / Etalab 2.0, Mission Bassin Minier"
NEAREST_PLACE_M = 5000.0
PLACE_CLASSES = ("city", "town", "village")


@dataclass
class Report:
    """What the build kept and skipped, by dataset."""

    kept: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    duplicates: Counter = field(default_factory=Counter)
    merged: Counter = field(default_factory=Counter)  # near-duplicate records folded into another, by theme
    outside_area: Counter = field(default_factory=Counter)
    reasons: list[str] = field(default_factory=list)

    def skip(self, dataset: str, why: str) -> None:
        self.skipped[dataset] += 1
        if len(self.reasons) < 50:
            self.reasons.append(f"{dataset}: {why}")

    def as_dict(self) -> dict:
        return {"kept": dict(self.kept), "skipped": dict(self.skipped), "duplicates": dict(self.duplicates),
                "merged": dict(self.merged),
                "outside_area": dict(self.outside_area), "reasons": self.reasons}


def slug(text: str, limit: int = 40) -> str:
    """ASCII, lower-case, dash-separated: for stable ids."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit].strip("-")


def _hash_id(prefix: str, *parts) -> str:
    return f"{prefix}-{hashlib.sha1('|'.join(map(str, parts)).encode()).hexdigest()[:12]}"


def _inside(lon: float, lat: float) -> bool:
    return DATA_BBOX[0] <= lon <= DATA_BBOX[2] and DATA_BBOX[1] <= lat <= DATA_BBOX[3]


def _polygon_json(geom: shapely.Geometry) -> dict:
    """A light GeoJSON of a polygon: simplified to about 2 m, 6 decimals."""
    small = shapely.set_precision(shapely.simplify(geom, 0.00002), 1e-6)
    return json.loads(shapely.to_geojson(small))


# -- OSM poi layer ---------------------------------------------------------------------------------


def _rule_matches(rule: dict, props: dict, name: str) -> bool:
    if "class" in rule and (props.get("class") or "") not in rule["class"]:
        return False
    if "subclass" in rule and (props.get("subclass") or "") not in rule["subclass"]:
        return False
    return "name" not in rule or bool(name and re.search(rule["name"], name))


def osm_themes(themes: dict, props: dict) -> list[str]:
    """The themes an OSM poi falls into by the rules of themes.toml."""
    name = props.get("name:latin") or props.get("name") or ""
    return [t for t, spec in themes.items() if any(_rule_matches(r, props, name) for r in spec.get("osm", []))]


def osm_record(point, found: list[str]) -> dict:
    """A catalogue record of an OSM poi; one with no name is labelled by its kind (labels.toml), in every language."""
    props = point.properties
    name = props.get("name:latin") or props.get("name")
    labels = None if name else unnamed_labels(props.get("subclass"), props.get("class"))
    if not name and labels is None:
        raise DataError(f"an unnamed OSM poi of kind {props.get('subclass') or props.get('class')!r} has no label in "
                        f"{LABELS_FILE.name}; add one")
    return {
        "id": _hash_id("osm", props.get("class"), props.get("subclass"), name, f"{point.lon:.5f}", f"{point.lat:.5f}"),
        "name": name or labels[DEFAULT_LANG],
        "names": {} if name else dict(labels),
        "themes": found,
        "lon": point.lon, "lat": point.lat,
        "source": {"dataset": "osm-npdc-tilemaker-2021 (poi layer)", "licence": ODBL, "ref": None},
        "properties": {"class": props.get("class"), "subclass": props.get("subclass"), "unnamed": not name},
    }


# -- Mission Bassin Minier layers --------------------------------------------------------------------


def terril_records(mbm_dir: Path, graph: CompiledGraph, report: Report) -> list[dict]:
    """All 162 terrils: MBM number, usual name, zone, summit (OSM peak, else the highest DEM point)."""
    summits = {t["number"]: t for t in graph.meta["terrils"]}
    out: list[dict] = []
    for geom, props in mbm.terril_polygons(mbm_dir):
        number = props.get("number")
        t = summits.get(number)
        if not number or t is None:
            report.skip("terrils", f"no number or no summit for {props.get('nom')!r}")
            continue
        twin = next((r for r in out if r["properties"]["number"] == number), None)
        if twin is not None:  # T140 is in both the UNESCO and the buffer-zone layer: one terril, listed once
            twin["properties"]["also_in"] = f"bassin-minier-unesco/zt-terrils ({props['zone']})"
            report.duplicates["terrils"] += 1
            continue
        out.append({
            "id": f"terril-{number.lower()}",
            "name": props.get("nom_usuel") or props.get("nom") or number,
            "themes": ["terrils"],
            "lon": t["summit_lon"], "lat": t["summit_lat"],
            "geometry": _polygon_json(geom),
            "source": {"dataset": f"bassin-minier-unesco/{'terrils' if props['zone'] == 'unesco' else 'zt-terrils'}",
                       "licence": ETALAB, "ref": number},
            "properties": {
                "number": number, "zone": props["zone"], "official_name": props.get("nom"),
                "forme": props.get("forme"), "summit_m": t["summit_m"],
                "summit_source": "osm_peak" if t["peak_m"] is not None else "dem_max",
                "osm_peak_name": t["peak_name"], "srtm_max_m": t["dem_max_m"],
                # The 2016 classified site's list of 78 terrils is in none of the datasets: unknown, not guessed.
                "chaine_des_terrils": None,
            },
        })
    return out


def _bss_id(url: str | None) -> str | None:
    m = re.search(r"id=(BSS\w+)", url or "")
    return m.group(1) if m else None


def pit_shaft_label(fosse: str | None, puits: str | None) -> str:
    """"Fosse 9 – puits 9 bis", or "Puits avaleresse" when the data name no fosse (not "Fosse None")."""
    if not fosse:
        return f"Puits {puits}" if puits else "Puits de mine"
    return f"Fosse {fosse}" + (f" – puits {puits}" if puits and puits != fosse else "")


def pit_shaft_records(mbm_dir: Path, report: Report) -> list[dict]:
    """The 636 pit shafts: fosse, shaft, company, dates, depth; the id comes from the BRGM BSS code."""
    out = []
    for geom, props in mbm.read_layer(mbm_dir, "puits-de-mines"):
        try:
            bss = _bss_id(props.get("brgm"))
            fosse, puits = props.get("fosse"), props.get("puits")
            label = pit_shaft_label(fosse, puits)
            if props.get("fosse_alias"):
                label += f" ({props['fosse_alias']})"
            # Shafts 4 and 4 bis of a fosse can share one BRGM file: the shaft name makes the id unique.
            pid = f"puits-{bss.lower()}-{slug(str(puits))}" if bss else _hash_id(
                "puits", props.get("commune"), fosse, puits, f"{geom.x:.5f}", f"{geom.y:.5f}")
            out.append({
                "id": pid,
                "name": label,
                "themes": ["pit_shafts"],
                "lon": round(geom.x, 7), "lat": round(geom.y, 7),
                "source": {"dataset": "bassin-minier-unesco/puits-de-mines", "licence": ETALAB + " (BRGM)",
                           "ref": props.get("brgm")},
                "properties": {k: props.get(k) for k in ("fosse", "puits", "compagnie", "concession", "creusement",
                                                         "fermeture", "profondeur", "cote")},
            })
        except (AttributeError, TypeError, ValueError) as exc:
            report.skip("pit_shafts", f"{props!r:.80}: {exc}")
    return out


def polygon_records(mbm_dir: Path, layer: str, theme: str, id_of, name_of, keep: tuple[str, ...],
                    report: Report) -> list[dict]:
    """Polygon features of an MBM layer as POIs at a representative point."""
    out = []
    for geom, props in mbm.read_layer(mbm_dir, layer):
        try:
            point = shapely.point_on_surface(geom)
            out.append({
                "id": id_of(props), "name": name_of(props), "themes": [theme],
                "lon": round(point.x, 7), "lat": round(point.y, 7), "geometry": _polygon_json(geom),
                "source": {"dataset": f"bassin-minier-unesco/{layer}", "licence": ETALAB,
                           "ref": str(props.get("id_unesco") or props.get("no_element") or props.get("id_lsm"))},
                "properties": {k: props.get(k) for k in keep},
            })
        except (KeyError, TypeError, ValueError, shapely.errors.GEOSException) as exc:
            report.skip(theme, f"{layer} {props!r:.80}: {exc}")
    return out


def cite_records(mbm_dir: Path, report: Report) -> list[dict]:
    """Cités minières of the UNESCO property and of the buffer zone."""
    unesco = polygon_records(
        mbm_dir, "cites-minieres", "cites_minieres",
        lambda p: f"cite-unesco-{slug(str(p['id_unesco']))}-{slug(p['nom'])}", lambda p: p["nom"],
        ("id_unesco", "type", "compagnie", "interet"), report)
    buffer = polygon_records(
        mbm_dir, "zt-cites-minieres", "cites_minieres", lambda p: f"cite-zt-{int(p['id_lsm'])}", lambda p: p["nom"],
        ("id_lsm", "nom_2", "type", "compagnie", "interet", "proprietaire"), report)
    for rec in unesco:
        rec["properties"]["zone"] = "unesco"
    for rec in buffer:
        rec["properties"]["zone"] = "buffer"
    return unesco + buffer


def unesco_records(mbm_dir: Path, report: Report) -> list[dict]:
    """The 109 elements of the UNESCO property."""
    return polygon_records(
        mbm_dir, "bien-inscrit", "unesco_elements", lambda p: f"unesco-element-{slug(str(p['no_element']))}",
        lambda p: p["nom"], ("no_element", "no_section", "section", "surface_ha"), report)


# -- key places, communes, snapping --------------------------------------------------------------------


def load_key_places() -> dict:
    with open(KEY_PLACES_FILE, "rb") as fh:
        return tomllib.load(fh)


def _key_location(spec: dict, located: dict, by_id: dict, osm: list) -> tuple[float, float, str | None]:
    """Where a key place is, and the id of the record it replaces (if any)."""
    if "landmark" in spec:
        lon, lat = located[spec["landmark"]]
        twin = next((r for r in osm if abs(r["lon"] - lon) < 1e-7 and abs(r["lat"] - lat) < 1e-7), None)
        return lon, lat, twin["id"] if twin else None
    if "terril" in spec:
        rec = by_id[f"terril-{spec['terril'].lower()}"]
        return rec["lon"], rec["lat"], rec["id"]
    want = spec["osm"]
    rec = next(r for r in osm if r["name"] == want["name"] and (r["properties"]["class"] or "") == want["class"])
    return rec["lon"], rec["lat"], rec["id"]


def apply_key_places(records: list[dict], located: dict, report: Report) -> list[dict]:
    """Add the key places (with descriptions), replacing the raw records they come from."""
    by_id = {r["id"]: r for r in records}
    osm = [r for r in records if r["id"].startswith("osm-")]
    replaced: dict[str, dict] = {}
    for key_id, spec in load_key_places().items():
        try:
            lon, lat, twin = _key_location(spec, located, by_id, osm)
        except (KeyError, StopIteration):
            report.skip("key_places", f"{key_id}: its source feature is not in the data")
            continue
        base = by_id.get(twin, {}) if twin else {}
        if not base and "landmark" in spec:
            lm = next(lm for lm in landmarks.LANDMARKS if lm.key == spec["landmark"])
            batis = lm.source == "mbm_batis"
            dataset = "bassin-minier-unesco/batis" if batis else f"osm-npdc-tilemaker-2021 ({lm.source})"
            base = {"source": {"dataset": dataset, "licence": ETALAB if batis else ODBL,
                               "ref": lm.match}, "properties": {}}
        replaced[twin or key_id] = {
            **base, "id": key_id, "name": spec["name"], "themes": spec["themes"], "lon": lon, "lat": lat, "key": True,
            "description": {"fr": spec["fr"], "en": spec["en"], "sources": spec["sources"]},
            "source": base["source"],
            "properties": {**base.get("properties", {}), "located_by": spec.get("landmark") or spec.get("terril")
                           or "osm poi"},
        }
    out = [replaced.pop(r["id"], r) for r in records]
    return out + list(replaced.values())


def _one_per_commune(records: list[dict], themes: dict) -> list[dict]:
    """For themes mapped several times in OSM (belfries), keep the longest name per commune."""
    single = {t for t, spec in themes.items() if spec.get("one_per_commune")}
    best: dict[tuple, dict] = {}
    out = []
    for r in records:
        theme = next((t for t in r["themes"] if t in single), None)
        if theme is None or r.get("key"):
            out.append(r)
            continue
        k = (theme, r.get("commune"))
        if k not in best or len(r["name"]) > len(best[k]["name"]):
            best[k] = r
    return out + list(best.values())


#: Two named POIs this close whose names say the same (after expanding abbreviations) are one place.
MERGE_M = 300.0
#: Abbreviations and number marks in POI names ("Rés. du Parc", "Cité n°4"), for comparing names only.
NAME_ABBREVIATIONS = {"res": "residence", "st": "saint", "ste": "sainte", "av": "avenue", "bd": "boulevard",
                      "pl": "place", "ch": "chemin", "n": "", "no": "", "num": "", "numero": ""}


def name_key(name: str) -> str:
    """A name as compared for duplicates: normalised, abbreviations expanded, number marks dropped."""
    words = (NAME_ABBREVIATIONS.get(w, w) for w in normalise(name).split())
    return " ".join(w for w in words if w)


def _rank(r: dict) -> tuple:
    """Which of two records of one place to keep: a key place, then an MBM record, a description, more themes,
    then the longer (unabbreviated) name."""
    return (bool(r.get("key")), not r["source"]["dataset"].startswith("osm"), bool(r.get("description")),
            len(r["themes"]), len(r["name"]))


#: Two terrils or two pit shafts are two landforms or two shafts, whatever their names: never merged.
NEVER_MERGED = frozenset({"terrils", "pit_shafts"})


def _distinct_features(a: dict, b: dict) -> bool:
    """Whether two records are distinct features although named alike (terrils 116 and 117, two shafts "avaleresse")."""
    return a["themes"][0] == b["themes"][0] and a["themes"][0] in NEVER_MERGED


def merge_near_duplicates(records: list[dict], report: Report) -> list[dict]:
    """One record per place: named records with the same name key within MERGE_M are merged into the best one.

    The kept record takes the others' themes, and lists their ids in ``properties.merged`` so that an id a
    client or a circuit already holds still finds the place. Unnamed POIs (two toilets 100 m apart) are kept.
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        if not (r.get("properties") or {}).get("unnamed"):
            groups[name_key(r["name"])].append(i)
    dropped: set[int] = set()
    for members in groups.values():
        if len(members) < 2:
            continue
        x, y = geo.to_metric(np.array([records[i]["lon"] for i in members]),
                             np.array([records[i]["lat"] for i in members]))
        for a in sorted(members, key=lambda i: _rank(records[i]), reverse=True):
            if a in dropped:
                continue
            ia = members.index(a)
            for b in members:
                ib = members.index(b)
                if b == a or b in dropped or np.hypot(x[ia] - x[ib], y[ia] - y[ib]) > MERGE_M:
                    continue
                if _distinct_features(records[a], records[b]):
                    continue
                keep, other = records[a], records[b]
                keep["themes"] = list(dict.fromkeys([*keep["themes"], *other["themes"]]))
                merged = keep.setdefault("properties", {}).setdefault("merged", [])
                merged += [other["id"], *(other.get("properties") or {}).get("merged", [])]
                dropped.add(b)
                report.merged[other["themes"][0]] += 1
    return [r for i, r in enumerate(records) if i not in dropped]


class CommuneFinder:
    """The commune of a point: the MBM commune polygon holding it, else the nearest OSM place within 5 km."""

    def __init__(self, cfg: Settings, places: list) -> None:
        communes = mbm.read_layer(cfg.mbm_dir, "communes-mbm")
        self.names = [p["nom"] for _, p in communes]
        self.tree = shapely.STRtree([g for g, _ in communes])
        towns = [p for p in places if p.properties.get("class") in PLACE_CLASSES and p.properties.get("name:latin")]
        self.place_names = [p.properties["name:latin"] for p in towns]
        self.snapper_xy = np.array([(p.lon, p.lat) for p in towns]).reshape(-1, 2)

    def __call__(self, lon: np.ndarray, lat: np.ndarray) -> list[str | None]:
        out: list[str | None] = [None] * len(lon)
        pt_idx, poly_idx = self.tree.query(shapely.points(lon, lat), predicate="within")
        for p, c in zip(pt_idx, poly_idx):
            out[p] = self.names[c]
        for i in [i for i, v in enumerate(out) if v is None]:
            dx = (self.snapper_xy[:, 0] - lon[i]) * 71_000  # metres per degree of longitude at 50.4°N
            dy = (self.snapper_xy[:, 1] - lat[i]) * 111_000
            d = np.hypot(dx, dy)
            if len(d) and d.min() <= NEAREST_PLACE_M:
                out[i] = self.place_names[int(d.argmin())]
        return out


def _validated(records: list[dict], report: Report) -> list[dict]:
    out, seen = [], set()
    for rec in records:
        dataset = rec.get("themes", ["?"])[0]
        if not _inside(rec.get("lon", 0), rec.get("lat", 0)):
            report.outside_area[dataset] += 1
            continue
        try:
            clean = POI_SCHEMA.load(rec)
        except ValidationError as exc:
            report.skip(dataset, f"{rec.get('id')}: {exc.messages}")
            continue
        if clean["id"] in seen:  # the same feature mapped twice at the same place
            report.duplicates[dataset] += 1
            continue
        seen.add(clean["id"])
        out.append(clean)
        for t in clean["themes"]:
            report.kept[t] += 1
    return out


def build_records(cfg: Settings, graph: CompiledGraph) -> tuple[list[dict], Report]:
    """Every POI, classified, located, snapped and validated, and the build report."""
    report = Report()
    themes = load_themes()
    points = tiles.read_points(cfg.tiles_dir, ("poi", "place"), DATA_BBOX, cfg.workers)
    pois = [p for p in points if p.layer == "poi"]
    records = []
    for p in pois:
        found = osm_themes(themes, p.properties)
        if found:
            records.append(osm_record(p, found))
    records += terril_records(cfg.mbm_dir, graph, report)
    records += pit_shaft_records(cfg.mbm_dir, report)
    records += cite_records(cfg.mbm_dir, report)
    records += unesco_records(cfg.mbm_dir, report)
    located = landmarks.locate(cfg, graph, tuple({s["landmark"] for s in load_key_places().values()
                                                  if "landmark" in s}), points)
    records = apply_key_places(records, located, report)
    lon = np.array([r["lon"] for r in records])
    lat = np.array([r["lat"] for r in records])
    for rec, commune in zip(records, CommuneFinder(cfg, [p for p in points if p.layer == "place"])(lon, lat)):
        rec["commune"] = commune
    records = _one_per_commune(records, themes)
    records = merge_near_duplicates(records, report)
    _snap(records, graph)
    return _validated(records, report), report


def _snap(records: list[dict], graph: CompiledGraph) -> None:
    inside = [r for r in records if _inside(r["lon"], r["lat"])]
    snaps = EdgeSnapper(graph).snap_many(np.array([r["lon"] for r in inside]), np.array([r["lat"] for r in inside]))
    for rec, sn in zip(inside, snaps):
        rec["snap"] = {"node": int(graph.node_id[nearest_node(graph, sn)]), "distance_m": round(sn.distance_m, 1)}


def catalogue_version(graph: CompiledGraph) -> str:
    """Hash of the graph's data version, the catalogue builder and its data files."""
    h = hashlib.sha256(f"{graph.data_version};{CATALOGUE_VERSION}".encode())
    for path in (THEMES_FILE, KEY_PLACES_FILE, LABELS_FILE, Path(__file__), HERE / "schemas.py"):
        h.update(path.read_bytes())
    return h.hexdigest()[:20]


def write_json(path: Path, payload: dict) -> None:
    """Atomic JSON write: temporary file in the same directory, then rename."""
    with atomic_write(path, "w") as fh:
        json.dump(payload, fh, ensure_ascii=False, separators=(",", ":"))


def load_or_build_records(cfg: Settings, graph: CompiledGraph) -> tuple[list[dict], dict, Path]:
    """The catalogue records from ``var/pois-<version>.json``, built and saved first if missing."""
    version = catalogue_version(graph)
    path = cfg.cache_dir / f"pois-{version}.json"
    if path.is_file():
        doc = json.loads(path.read_text(encoding="utf-8"))
        return POI_SCHEMA.load(doc["pois"], many=True), doc["report"], path
    records, report = build_records(cfg, graph)
    by_theme = defaultdict(int)
    for r in records:
        for t in r["themes"]:
            by_theme[t] += 1
    doc = {"version": version, "data_version": graph.data_version, "report": report.as_dict(),
           "counts": dict(by_theme), "pois": [POI_SCHEMA.dump(r) for r in records]}
    write_json(path, doc)
    return records, doc["report"], path
