"""Write a real .osm file from tile lines, so the .osm/.osm.pbf reader is tested on real geometry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import osmium

from routing.sources import LineSet
from routing.topology import vertex_keys


def write_osm(lines: LineSet, path: Path, surface_every: int | None = None) -> int:
    """Write the lines as OSM nodes and ways (highway = the tile subclass); returns the way count.

    Every ``surface_every``-th way gets ``surface=asphalt`` so the rich-tag path is exercised.
    """
    names = lines.attr_names
    lon, lat = lines.to_lonlat(lines.coords)
    keys = vertex_keys(lines.coords)
    uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    path.unlink(missing_ok=True)
    with osmium.SimpleWriter(str(path)) as writer:
        for i, j in enumerate(first):
            writer.add_node(osmium.osm.mutable.Node(id=i + 1, location=(float(lon[j]), float(lat[j]))))
        for w in range(len(lines)):
            row = dict(zip(names, lines.attr_table[lines.attrs[w]]))
            tags = {"highway": row["subclass"]}
            for key in ("name", "ref", "service"):
                if row.get(key):
                    tags[key] = row[key]
            if row.get("brunnel"):
                tags[row["brunnel"]] = "yes"
            if row.get("oneway"):
                tags["oneway"] = "yes"
            if surface_every and w % surface_every == 0:
                tags["surface"] = "asphalt"
            refs = [int(inverse[k]) + 1 for k in range(lines.offsets[w], lines.offsets[w + 1])]
            writer.add_way(osmium.osm.mutable.Way(id=w + 1, nodes=refs, tags=tags))
    return len(lines)
