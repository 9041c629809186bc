"""The export store: files named by the content hash of their inputs and the data version, written atomically.

The same export asked twice maps to the same name, so it is served from disk and rewritten never.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from routing.io import atomic_write

#: Bump when the writers change what a given input produces, so old files are not served for new ones.
FORMAT_VERSION = 1


def export_key(kind: str, inputs: dict, data_version: str) -> str:
    """A stable name for an export: the hash of what it is made from (canonical JSON) and the data version."""
    blob = json.dumps({"kind": kind, "inputs": inputs, "data": data_version, "format": FORMAT_VERSION},
                      sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


class ExportStore:
    """A directory of exports, one file per key and suffix."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str, suffix: str) -> Path:
        """Where a key's file lives (two-character fan-out); refuses names that could leave the store."""
        if not key.isalnum() or not suffix.replace(".", "").replace("-", "").isalnum():
            raise ValueError(f"bad export name {key!r}{suffix!r}")
        return self.root / key[:2] / f"{key}{suffix}"

    def get(self, key: str, suffix: str) -> bytes | None:
        """The stored export, or None."""
        p = self.path(key, suffix)
        return p.read_bytes() if p.is_file() else None

    def put(self, key: str, suffix: str, content: bytes) -> tuple[Path, bool]:
        """Store ``content`` unless it is there already; returns the path and whether it was written."""
        p = self.path(key, suffix)
        if p.is_file():
            return p, False
        with atomic_write(p) as fh:
            fh.write(content)
        return p, True
