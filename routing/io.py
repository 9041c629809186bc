"""Atomic file writes for every cache galibot keeps: a temporary file beside the target, then a rename."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import IO


@contextmanager
def atomic_write(path: Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file next to ``path`` for writing; it replaces ``path`` only if the block succeeds.

    Readers never see a half-written cache, and an interrupted build leaves no stray file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: The source files whose content decides what a computed result holds.
CODE_SUFFIXES = (".py", ".toml", ".json")


@cache
def code_version(*packages: Path) -> str:
    """A hash of the source files of ``packages`` (directories): part of the key of every cached *result*.

    The data version names the graph; results (routed circuits, stored API answers, exported files) also depend
    on the code that makes them: the ascent counting, the wording, the waypoints of a file. Keyed by both, a cache
    filled by an older galibot is not served by a newer one.
    """
    h = hashlib.sha256()
    for root in packages:
        files = (p for p in Path(root).rglob("*") if p.suffix in CODE_SUFFIXES and "__pycache__" not in p.parts)
        for path in sorted(files):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]
