"""Read the EuroVelo 5 relation geometry (Waymarked Trails GPX export) with gpxpy."""

from __future__ import annotations

from pathlib import Path

import gpxpy
import gpxpy.gpx
import numpy as np

from ..errors import DataError


def read_gpx_segments(path: Path) -> list[np.ndarray]:
    """Each track segment as an (n, 2) lon/lat array; the segments are the relation's way chains."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = gpxpy.parse(fh)
    except FileNotFoundError:
        raise DataError(f"EV5 GPX not found: {path}") from None
    except (gpxpy.gpx.GPXException, ValueError) as exc:
        raise DataError(f"EV5 GPX does not parse: {path} ({exc})") from None
    out = []
    for track in doc.tracks:
        for seg in track.segments:
            pts = np.array([(p.longitude, p.latitude) for p in seg.points], dtype=float)
            if len(pts) >= 2:
                out.append(pts)
    return out
