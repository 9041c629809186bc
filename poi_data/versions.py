"""Catalogue versions kept for delta updates: what changed in the POIs since the version an app holds.

Each catalogue version the server has served leaves a snapshot, ``<cache>/poi-versions/<version>.json``:
one fingerprint (a hash of the record) per POI id, and ``index.json`` lists them in the order they
appeared. A delta compares a snapshot with the current catalogue, so only fingerprints are kept, never
a second copy of the records.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from routing.io import atomic_write
from routing.settings import Settings

from .catalogue import Catalogue
from .errors import POIQueryError


class UnknownVersion(POIQueryError):
    """``since`` names no catalogue version this server has kept."""

    field = "since"


class VersionAhead(POIQueryError):
    """``since`` is a version newer than the one served: going from it to the current one goes backwards."""

    field = "since"


def fingerprint(poi: dict) -> str:
    """A short hash of everything a POI record says (canonical JSON)."""
    blob = json.dumps(poi, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def _dir(cfg: Settings) -> Path:
    return cfg.cache_dir / "poi-versions"


def read_index(cfg: Settings) -> list[dict]:
    """The versions kept, oldest first: ``{"version", "data_version", "first_served"}``."""
    path = _dir(cfg) / "index.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def fingerprints(catalogue: Catalogue) -> dict[str, str]:
    """The fingerprint of every POI, by id (computed once per loaded catalogue)."""
    return {p["id"]: fingerprint(p) for p in catalogue.pois}


def remember(cfg: Settings, version: str, data_version: str, prints: dict[str, str]) -> None:
    """Keep the snapshot of the catalogue being served (once per version) and list it in the index."""
    snapshot = _dir(cfg) / f"{version}.json"
    if not snapshot.is_file():
        doc = {"version": version, "data_version": data_version, "fingerprints": prints}
        with atomic_write(snapshot, "w") as fh:
            json.dump(doc, fh)
    index = read_index(cfg)
    if all(v["version"] != version for v in index):
        index.append({"version": version, "data_version": data_version,
                      "first_served": datetime.now(UTC).isoformat(timespec="seconds")})
        with atomic_write(_dir(cfg) / "index.json", "w") as fh:
            json.dump(index, fh, indent=1)


def alias(cfg: Settings, data_version: str, poi_version: str) -> None:
    """Remember that a bundle of graph ``data_version`` (a sub-region's graph has its own) holds ``poi_version``,
    so an app may ask for the changes since either of the versions its manifest names."""
    path = _dir(cfg) / "aliases.json"
    known = read_aliases(cfg)
    if known.get(data_version) == poi_version:
        return
    with atomic_write(path, "w") as fh:
        json.dump({**known, data_version: poi_version}, fh, indent=1, sort_keys=True)


def read_aliases(cfg: Settings) -> dict[str, str]:
    """Bundle graph data versions → the catalogue version their bundle holds."""
    path = _dir(cfg) / "aliases.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


@lru_cache(maxsize=8)
def _snapshot(path: Path) -> dict[str, str]:
    """A kept version's fingerprints, read once per process: a snapshot is written once and never changed."""
    return json.loads(path.read_text(encoding="utf-8"))["fingerprints"]


def _resolve(index: list[dict], since: str) -> int:
    """The position in the index of a catalogue version or a graph data version."""
    for i in range(len(index) - 1, -1, -1):
        if since in (index[i]["version"], index[i]["data_version"]):
            return i
    raise UnknownVersion(f"no catalogue version {since!r} is kept here; download the full POI file of the bundle")


def changes(cfg: Settings, since: str, version: str, catalogue: Catalogue, prints: dict[str, str]) -> dict:
    """POIs added, changed and removed (tombstones) from ``since`` to the served ``version`` (whose records
    are ``catalogue`` and fingerprints ``prints``)."""
    index = read_index(cfg)
    since = read_aliases(cfg).get(since, since)
    at, now = _resolve(index, since), _resolve(index, version)
    if at > now:
        raise VersionAhead(f"{since!r} is newer than the served catalogue {version!r}; a delta cannot go backwards")
    old = _snapshot(_dir(cfg) / f"{index[at]['version']}.json")
    added = [p for p in catalogue.pois if p["id"] not in old]
    changed = [p for p in catalogue.pois if p["id"] in old and old[p["id"]] != prints[p["id"]]]
    removed = sorted(pid for pid in old if pid not in prints)
    return {"since": index[at]["version"], "version": version, "data_version": index[now]["data_version"],
            "added": added, "changed": changed, "removed": removed}
