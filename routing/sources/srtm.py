"""Read SRTM3 ``.hgt`` tiles into one grid and interpolate elevations bilinearly."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.interpolate import RegularGridInterpolator

from .. import settings
from ..errors import DataError

SAMPLES = 1201  # SRTM3: 3 arc-seconds, 1201 x 1201 samples per 1-degree tile
_NAME = re.compile(r"^([NS])(\d{2})([EW])(\d{3})\.hgt$", re.IGNORECASE)


def _tile_origin(path: Path) -> tuple[int, int]:
    """South-west corner (lat, lon) from an SRTM file name such as N50E002.hgt."""
    m = _NAME.match(path.name)
    if not m:
        raise DataError(f"not an SRTM tile name: {path}")
    lat = int(m.group(2)) * (1 if m.group(1).upper() == "N" else -1)
    lon = int(m.group(4)) * (1 if m.group(3).upper() == "E" else -1)
    return lat, lon


def _read_hgt(path: Path) -> np.ndarray:
    """One tile as float metres, north row first, with voids and artefacts as NaN."""
    raw = path.read_bytes()
    if len(raw) != SAMPLES * SAMPLES * 2:
        raise DataError(f"SRTM tile has {len(raw)} bytes, expected {SAMPLES * SAMPLES * 2}: {path}")
    grid = np.frombuffer(raw, dtype=">i2").reshape(SAMPLES, SAMPLES).astype(np.float64)
    grid[grid < settings.SRTM_VOID_BELOW_M] = np.nan  # -32768 voids and the -185 m pixel artefact
    return grid


def _fill_voids(grid: np.ndarray) -> np.ndarray:
    """Replace NaN cells with their nearest valid neighbour."""
    voids = np.isnan(grid)
    if not voids.any():
        return grid
    idx = ndimage.distance_transform_edt(voids, return_distances=False, return_indices=True)
    return grid[tuple(idx)]


class DEM:
    """A mosaic of SRTM3 tiles with bilinear interpolation at any lon/lat inside it."""

    def __init__(self, srtm_dir: Path) -> None:
        files = sorted(Path(srtm_dir).glob("*.hgt")) if Path(srtm_dir).is_dir() else []
        if not files:
            raise DataError(f"no SRTM .hgt tile in {srtm_dir}")
        origins = {f: _tile_origin(f) for f in files}
        lats = sorted({o[0] for o in origins.values()})
        lons = sorted({o[1] for o in origins.values()})
        step = SAMPLES - 1
        mosaic = np.full((len(lats) * step + 1, len(lons) * step + 1), np.nan)
        for f, (lat, lon) in origins.items():
            r = (lats[-1] - lat) * step
            c = (lon - lons[0]) * step
            mosaic[r : r + SAMPLES, c : c + SAMPLES] = _read_hgt(f)
        self.grid = _fill_voids(mosaic)
        north = lats[-1] + 1
        self.lat_axis = north - np.arange(mosaic.shape[0]) / step  # descending
        self.lon_axis = lons[0] + np.arange(mosaic.shape[1]) / step
        self.bounds = (lons[0], lats[0], lons[-1] + 1, north)
        self._interp = RegularGridInterpolator(
            (self.lat_axis[::-1], self.lon_axis), self.grid[::-1], method="linear",
            bounds_error=False, fill_value=np.nan,
        )
        self.files = files

    def __call__(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Interpolated elevation (m) at each point; NaN outside the mosaic."""
        lon = np.atleast_1d(np.asarray(lon, dtype=float))
        lat = np.atleast_1d(np.asarray(lat, dtype=float))
        return self._interp(np.column_stack([lat, lon]))
