"""Elevation of nodes and edges: SRTM3, with terril relief rescaled to the OSM summit heights.

SRTM's 90 m cells flatten the conical terrils (about 155 m on the 11/19 twins, which are really
186-188 m). Inside each MBM terril polygon that holds an OSM ``mountain_peak`` with a height, the
relief above the polygon's rim is stretched so that the DEM's highest point reaches the peak's
height; outside the polygons, and on terrils with no peak, the DEM is used as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from . import geo
from .compiled import CompiledGraph
from .settings import Settings
from .sources import mbm
from .sources.srtm import DEM

RIM_SAMPLE_M = 20.0
INSIDE_SAMPLE_M = 15.0
PEAK_SEARCH_M = 30.0  # a peak drawn just off the MBM outline still belongs to it
MIN_RELIEF_M = 3.0


@dataclass
class Terril:
    """One terril polygon and how its relief is corrected."""

    number: str
    name: str | None
    zone: str
    polygon: shapely.Geometry  # lon/lat
    rim_m: float
    dem_max_m: float
    peak_m: float | None
    peak_name: str | None
    factor: float
    summit: tuple[float, float]  # lon/lat of the OSM peak, else of the highest DEM sample

    @property
    def summit_m(self) -> float:
        """The corrected height of the terril's top (the OSM peak where there is one)."""
        return self.rim_m + (self.dem_max_m - self.rim_m) * self.factor


def _polygon_samples(poly_m: shapely.Geometry) -> tuple[np.ndarray, np.ndarray]:
    """Metric points on the polygon's outline and on a grid inside it."""
    rim = shapely.get_coordinates(shapely.segmentize(shapely.boundary(poly_m), RIM_SAMPLE_M))
    x0, y0, x1, y1 = poly_m.bounds
    gx, gy = np.meshgrid(np.arange(x0, x1, INSIDE_SAMPLE_M), np.arange(y0, y1, INSIDE_SAMPLE_M))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    inside = grid[shapely.contains_xy(poly_m, grid[:, 0], grid[:, 1])] if len(grid) else grid
    return rim, np.vstack([inside, rim])


def fit_terril(dem: DEM, poly: shapely.Geometry, props: dict, peaks: list, peak_tree) -> Terril:
    """Measure one terril on the DEM and find the OSM peak that fixes its summit height."""
    poly_m = geo.geometry_to_metric(poly)
    rim_xy, inside_xy = _polygon_samples(poly_m)
    rim_z = dem(*geo.to_lonlat(rim_xy[:, 0], rim_xy[:, 1]))
    inside_z = dem(*geo.to_lonlat(inside_xy[:, 0], inside_xy[:, 1]))
    rim, top = float(np.nanmedian(rim_z)), float(np.nanmax(inside_z))
    high = inside_xy[int(np.nanargmax(inside_z))]
    summit = tuple(float(v) for v in geo.to_lonlat(high[0], high[1]))
    peak_m, peak_name = None, None
    if peak_tree is not None:
        hits = peak_tree.query(poly_m, predicate="dwithin", distance=PEAK_SEARCH_M)
        found = [peaks[i] for i in hits if peaks[i].properties.get("ele") is not None]
        if found:
            best = max(found, key=lambda p: float(p.properties["ele"]))
            peak_m, peak_name = float(best.properties["ele"]), best.properties.get("name:latin")
            summit = (best.lon, best.lat)
    factor = 1.0
    if peak_m is not None and peak_m > top and top - rim > MIN_RELIEF_M:
        factor = (peak_m - rim) / (top - rim)
    name = props.get("nom_usuel") or props.get("nom")
    return Terril(props["number"], name, props["zone"], poly, rim, top, peak_m, peak_name, factor, summit)


def fit_terrils(dem: DEM, terrils: list[tuple[shapely.Geometry, dict]], peaks: list) -> list[Terril]:
    """Every MBM terril measured on the DEM, corrected by the OSM peaks (the build's step)."""
    peak_xy = np.array([geo.to_metric(p.lon, p.lat) for p in peaks]).reshape(-1, 2)
    peak_tree = shapely.STRtree(shapely.points(peak_xy)) if len(peak_xy) else None
    return [fit_terril(dem, poly, props, peaks, peak_tree) for poly, props in terrils]


def terrils_from_table(terrils: list[tuple[shapely.Geometry, dict]], table: list[dict]) -> list[Terril]:
    """The terrils as a compiled graph recorded them, on their MBM polygons: no tile read, same corrections."""
    rows = {t["number"]: t for t in table}
    out = []
    for poly, props in terrils:
        r = rows.get(props["number"])
        if r is not None:
            out.append(Terril(r["number"], r["name"], props["zone"], poly, r["rim_m"], r["dem_max_m"], r["peak_m"],
                              r["peak_name"], r["factor"], (r["summit_lon"], r["summit_lat"])))
    return out


def load_elevation(cfg: Settings, graph: CompiledGraph) -> ElevationModel:
    """The build's elevation model for a compiled graph, for measuring tracks drawn elsewhere."""
    return ElevationModel(DEM(cfg.srtm_dir), terrils_from_table(mbm.terril_polygons(cfg.mbm_dir),
                                                                 graph.meta.get("terrils", [])))


class ElevationModel:
    """Elevation at any lon/lat: interpolated SRTM3, corrected on terrils that have an OSM peak."""

    def __init__(self, dem: DEM, terrils: list[Terril]) -> None:
        self.dem = dem
        self.terrils = terrils
        self._tree = shapely.STRtree([t.polygon for t in self.terrils])
        self._rim = np.array([t.rim_m for t in self.terrils])
        self._factor = np.array([t.factor for t in self.terrils])

    def terril_of(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Index into ``self.terrils`` of the polygon holding each point, or -1."""
        out = np.full(len(lon), -1, dtype=np.int32)
        if len(lon) and len(self.terrils):
            pt_idx, poly_idx = self._tree.query(shapely.points(lon, lat), predicate="within")
            out[pt_idx] = poly_idx
        return out

    def __call__(self, lon: np.ndarray, lat: np.ndarray, terril: np.ndarray | None = None) -> np.ndarray:
        """Elevation in metres of each point (``terril`` saves the polygon lookup when known)."""
        z = self.dem(lon, lat)
        t = self.terril_of(lon, lat) if terril is None else terril
        on = t >= 0
        rim = self._rim[t[on]]
        z[on] = np.where(z[on] > rim, rim + (z[on] - rim) * self._factor[t[on]], z[on])
        return z


def edge_climbs(lon: np.ndarray, lat: np.ndarray, edge_of: np.ndarray, n_edges: int,
                model: ElevationModel) -> tuple[np.ndarray, np.ndarray]:
    """Ascent and descent (m) of each edge from elevations sampled along it.

    ``lon``/``lat`` are the samples of all edges in order, ``edge_of`` the edge of each sample.
    """
    z = model(lon, lat)
    dz = np.diff(z)
    same = edge_of[1:] == edge_of[:-1]
    owner = edge_of[1:][same]
    up = np.bincount(owner, weights=np.clip(dz[same], 0, None), minlength=n_edges)
    down = np.bincount(owner, weights=np.clip(-dz[same], 0, None), minlength=n_edges)
    return up, down
