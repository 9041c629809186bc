"""Readers that turn each raw dataset into plain arrays; nothing here knows about graphs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class LineSet:
    """Lines on an integer grid, so that shared vertices compare exactly.

    ``coords[offsets[i]:offsets[i+1]]`` is line ``i``; ``attrs[i]`` indexes ``attr_table``, whose rows
    are tuples in the order of ``attr_names``. ``to_lonlat`` turns grid coordinates into degrees.
    """

    coords: np.ndarray
    offsets: np.ndarray
    attrs: np.ndarray
    attr_table: list[tuple]
    attr_names: tuple[str, ...]
    to_lonlat: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    source: str = ""
    stats: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.offsets) - 1


class AttrInterner:
    """Gives each distinct attribute tuple a small integer, so lines carry ids instead of dicts."""

    def __init__(self) -> None:
        self.table: list[tuple] = []
        self._ids: dict[tuple, int] = {}

    def __call__(self, attrs: tuple) -> int:
        found = self._ids.get(attrs)
        if found is None:
            found = self._ids[attrs] = len(self.table)
            self.table.append(attrs)
        return found


def pack_lines(parts: list[np.ndarray], attr_ids: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate per-line arrays into the (coords, offsets, attrs) triple of a LineSet."""
    lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    coords = np.concatenate(parts).astype(np.int64) if parts else np.zeros((0, 2), dtype=np.int64)
    return coords, offsets, np.asarray(attr_ids, dtype=np.int32)
