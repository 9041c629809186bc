"""The compiled graph: columnar arrays saved under the data version, and its networkx view.

Arrays load in well under a second and feed the search engine directly; ``to_networkx`` gives
the osmnx-convention MultiDiGraph (``x``/``y`` nodes, ``length``/``geometry`` edges, a ``crs``)
for analysis, osmnx functions and reference checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
import shapely

from .io import atomic_write

FORMAT_VERSION = 1
_ARRAYS = (
    "node_id", "node_lon", "node_lat", "node_elevation", "node_terril",
    "edge_u", "edge_v", "edge_attr", "edge_length", "edge_ascent", "edge_descent",
    "edge_cavalier", "edge_ev5", "edge_unesco", "geom_offsets", "geom_lon", "geom_lat", "geom_elevation",
)


@dataclass
class CompiledGraph:
    """An undirected edge list with attributes; each edge is walkable both ways.

    Edge ``i`` runs from ``edge_u[i]`` to ``edge_v[i]`` (node indices) along
    ``geom_lon/geom_lat[geom_offsets[i]:geom_offsets[i+1]]``. A way with ``oneway=1`` is drawn
    in its legal direction; profiles decide what travelling against it costs.
    """

    node_id: np.ndarray
    node_lon: np.ndarray
    node_lat: np.ndarray
    node_elevation: np.ndarray
    node_terril: np.ndarray  # index into meta["terrils"], or -1
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_attr: np.ndarray  # row of meta["attr_table"]
    edge_length: np.ndarray
    edge_ascent: np.ndarray
    edge_descent: np.ndarray
    edge_cavalier: np.ndarray
    edge_ev5: np.ndarray
    edge_unesco: np.ndarray  # index into meta["unesco_elements"], or -1
    geom_offsets: np.ndarray
    geom_lon: np.ndarray
    geom_lat: np.ndarray
    geom_elevation: np.ndarray  # float32, metres at each geometry vertex
    meta: dict = field(default_factory=dict)
    _columns: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def data_version(self) -> str:
        return self.meta["data_version"]

    @property
    def n_nodes(self) -> int:
        return len(self.node_id)

    @property
    def n_edges(self) -> int:
        """Directed edges, as in the networkx view (two per way)."""
        return 2 * len(self.edge_u)

    def edge_column(self, name: str) -> np.ndarray:
        """One attribute (``class``, ``name``…) of every edge, decoded once from the attribute table."""
        if name not in self._columns:
            col = self.meta["attr_names"].index(name)
            table = np.array([row[col] for row in self.meta["attr_table"]], dtype=object)
            self._columns[name] = table[self.edge_attr]
        return self._columns[name]

    def geom_points(self) -> np.ndarray:
        """All geometry vertices as one (n, 3) lon/lat/elevation array, stacked once."""
        if "_points" not in self._columns:
            self._columns["_points"] = np.column_stack([self.geom_lon, self.geom_lat, self.geom_elevation])
        return self._columns["_points"]

    def edge_on_terril(self) -> np.ndarray:
        """Ways with an end on a terril polygon (where terril climbs happen)."""
        return (self.node_terril[self.edge_u] >= 0) | (self.node_terril[self.edge_v] >= 0)

    def edge_grade(self) -> np.ndarray:
        """Rise over run from the u end to the v end of each edge."""
        dz = self.node_elevation[self.edge_v] - self.node_elevation[self.edge_u]
        return dz / np.maximum(self.edge_length, 1e-9)

    def edge_geometries(self) -> np.ndarray:
        """Shapely LineStrings (lon/lat) of the edges, drawn from u to v."""
        idx = np.repeat(np.arange(len(self.edge_u)), np.diff(self.geom_offsets))
        return shapely.linestrings(np.column_stack([self.geom_lon, self.geom_lat]), indices=idx)

    def save(self, path: Path) -> Path:
        """Write atomically: a temporary file in the same directory, then a rename."""
        path = Path(path)
        with atomic_write(path) as fh:
            arrays = {name: getattr(self, name) for name in _ARRAYS}
            meta = json.dumps({**self.meta, "format_version": FORMAT_VERSION}, ensure_ascii=False)
            np.savez(fh, meta=np.frombuffer(meta.encode("utf-8"), dtype=np.uint8), **arrays)
        return path

    @classmethod
    def load(cls, path: Path) -> CompiledGraph:
        """Read a graph written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode("utf-8"))
            if meta.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"{path}: graph format {meta.get('format_version')}, expected {FORMAT_VERSION}")
            return cls(**{name: data[name] for name in _ARRAYS}, meta=meta)

    def _street_counts(self) -> np.ndarray:
        """Physical ways meeting at each node, as osmnx's ``street_count`` (a loop counts twice)."""
        n = self.n_nodes
        return np.bincount(self.edge_u, minlength=n) + np.bincount(self.edge_v, minlength=n)

    def _node_rows(self) -> list:
        terrils = [t["number"] for t in self.meta.get("terrils", [])]
        counts = self._street_counts()
        rows = []
        for i, nid in enumerate(self.node_id.tolist()):
            data = {"x": float(self.node_lon[i]), "y": float(self.node_lat[i]),
                    "elevation": float(self.node_elevation[i]), "street_count": int(counts[i])}
            if self.node_terril[i] >= 0:
                data["terril"] = terrils[self.node_terril[i]]
            rows.append((nid, data))
        return rows

    def _edge_rows(self) -> list:
        names = self.meta["attr_names"]
        attr_dicts = [{k: v for k, v in zip(names, row) if v is not None} for row in self.meta["attr_table"]]
        unesco = self.meta.get("unesco_elements", [])
        geoms = self.edge_geometries()
        back = shapely.reverse(geoms)
        grade = self.edge_grade()
        ids = self.node_id.tolist()
        rows = []
        for i in range(len(self.edge_u)):
            u, v = ids[self.edge_u[i]], ids[self.edge_v[i]]
            # The tiles carry no OSM ids; osmnx needs an ``osmid`` shared by both directions of a way.
            attrs = attr_dicts[self.edge_attr[i]]
            base = {**attrs, "osmid": i, "oneway": bool(attrs.get("oneway")), "length": float(self.edge_length[i]),
                    "cavalier": bool(self.edge_cavalier[i]), "ev5": bool(self.edge_ev5[i])}
            if self.edge_unesco[i] >= 0:
                base["unesco"] = unesco[self.edge_unesco[i]]["id"]
            up, down, g = float(self.edge_ascent[i]), float(self.edge_descent[i]), float(grade[i])
            rows.append((u, v, {**base, "reversed": False, "geometry": geoms[i], "ascent": up, "descent": down,
                                "grade": g, "grade_abs": abs(g)}))
            rows.append((v, u, {**base, "reversed": True, "geometry": back[i], "ascent": down, "descent": up,
                                "grade": -g, "grade_abs": abs(g)}))
        return rows

    def to_networkx(self) -> nx.MultiDiGraph:
        """The osmnx-convention MultiDiGraph: both directions of every way, ``reversed`` on the back one."""
        G = nx.MultiDiGraph(crs="epsg:4326", simplified=self.meta.get("simplified", True),
                            data_version=self.data_version, created_with="galibot", bbox=self.meta.get("bbox"))
        G.add_nodes_from(self._node_rows())
        G.add_edges_from(self._edge_rows())
        return G
