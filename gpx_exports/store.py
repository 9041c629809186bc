"""The export store: files named by the content hash of their inputs and the data version, written atomically.

The same export asked twice maps to the same name, so it is served from disk and rewritten never.
The store is capped in bytes and evicts its least recently used files (``ExportStore.evict``).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from routing.io import atomic_write

#: Bump when the writers change what a given input produces, so old files are not served for new ones.
FORMAT_VERSION = 1


def export_key(kind: str, inputs: dict, data_version: str) -> str:
    """A stable name for an export: the hash of what it is made from (canonical JSON) and the data version."""
    blob = json.dumps({"kind": kind, "inputs": inputs, "data": data_version, "format": FORMAT_VERSION},
                      sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


#: The store's default size cap. Past EVICT_AT of it the least recently used files are evicted down to EVICT_TO.
DEFAULT_MAX_BYTES = 1024**3
EVICT_AT = 0.9
EVICT_TO = 0.8
#: A process sums the store again (a directory scan) once it has written this share of the cap since its last scan:
#: with up to 4 processes writing, the store stays under EVICT_AT + 4 × RESCAN_SHARE = its cap.
RESCAN_SHARE = 0.025

#: Bytes each process wrote per store root since it last summed that store.
_WRITTEN: dict[Path, int] = {}


class ExportStore:
    """A directory of exports, one file per key and suffix, at most ``max_bytes`` in all.

    Reading a file marks it used (its access time), and the least recently used files are evicted first:
    a share link lives while it is used, and an evicted result is computed again when asked again.
    """

    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def path(self, key: str, suffix: str) -> Path:
        """Where a key's file lives (two-character fan-out); refuses names that could leave the store."""
        if not key.isalnum() or not suffix.replace(".", "").replace("-", "").isalnum():
            raise ValueError(f"bad export name {key!r}{suffix!r}")
        return self.root / key[:2] / f"{key}{suffix}"

    def has(self, key: str, suffix: str) -> bool:
        """Whether the export is stored (without marking it used)."""
        return self.path(key, suffix).is_file()

    def get(self, key: str, suffix: str) -> bytes | None:
        """The stored export, or None."""
        p = self.path(key, suffix)
        try:
            content = p.read_bytes()
        except FileNotFoundError:  # never stored, or evicted (perhaps by another process just now)
            return None
        try:  # used now, so evicted last: the access time, set here (mount options may not), the mtime kept
            os.utime(p, ns=(time.time_ns(), p.stat().st_mtime_ns))
        except FileNotFoundError:
            pass
        return content

    def put(self, key: str, suffix: str, content: bytes) -> tuple[Path, bool]:
        """Store ``content`` unless it is there already; returns the path and whether it was written."""
        p = self.path(key, suffix)
        if p.is_file():
            return p, False
        with atomic_write(p) as fh:
            fh.write(content)
        written = _WRITTEN.get(self.root, self.max_bytes) + len(content)  # a new process sums the store at once
        _WRITTEN[self.root] = written
        if written >= RESCAN_SHARE * self.max_bytes:
            _WRITTEN[self.root] = 0
            self.evict()
        return p, True

    def files(self) -> list[os.DirEntry]:
        """Every stored file (temporary files being written are left out)."""
        if not self.root.is_dir():
            return []
        out = []
        for fan in os.scandir(self.root):
            if fan.is_dir():
                out += [f for f in os.scandir(fan.path) if f.is_file() and not f.name.startswith(".")]
        return out

    def size(self) -> int:
        """The bytes the store holds."""
        return sum(_stat(f)[1] for f in self.files())

    def evict(self) -> int:
        """If the store is over EVICT_AT of its cap, delete the least recently used files down to EVICT_TO of it;
        the bytes freed."""
        stats = [(*_stat(f), f.path) for f in self.files()]
        total = sum(size for _, size, _ in stats)
        freed = 0
        if total <= EVICT_AT * self.max_bytes:
            return 0
        for _, size, path in sorted(stats):
            if total - freed <= EVICT_TO * self.max_bytes:
                break
            try:
                os.unlink(path)
                freed += size
            except FileNotFoundError:  # another process evicted it
                pass
        return freed


def _stat(entry: os.DirEntry) -> tuple[int, int]:
    """(last use in ns: written or read, size) of a file; (0, 0) once it is gone."""
    try:
        st = entry.stat()
    except FileNotFoundError:
        return 0, 0
    return max(st.st_atime_ns, st.st_mtime_ns), st.st_size
