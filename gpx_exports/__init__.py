"""GPX and GeoJSON for everything route-like: writing course files devices accept, reading and checking uploads.

Data flows one way: planners' results → ``course`` → ``to_gpx`` / ``to_fit`` / ``to_csv`` / ``course_geojson`` →
the export store; uploads → ``read_gpx`` → ``analyse``, or an organiser's own course → ``organiser_course`` →
``course_of_upload`` → ``race_course`` → the same writers. Nothing here knows Flask.
"""

from __future__ import annotations

from .analysis import TrackAnalysis, analyse
from .course import Course, Part, Waypoint, course
from .effort import RunnerFigures, runner_figures
from .errors import (
    EmptyGPX,
    ExportError,
    GPXError,
    GPXSyntaxError,
    GPXTooLarge,
    GPXUnsafe,
    InvalidGPX,
    NotACourse,
    NotGPX,
    OutsideBasin,
    TrackTooLong,
)
from .fit import FITCourse, to_fit
from .geojson import course_geojson, route_feature
from .race import RaceSpec, Station, race_course
from .reader import Track, read_gpx
from .results import course_of_result
from .store import ExportStore, export_key
from .table import to_csv
from .thin import thin_course
from .upload import OrganiserCourse, StationAt, course_of_upload, organiser_course
from .writer import GPXOptions, to_gpx, to_gpx_files

__all__ = [
    "RunnerFigures", "runner_figures",
    "Course", "Part", "Waypoint", "course", "course_geojson", "route_feature", "GPXOptions", "to_gpx",
    "to_gpx_files", "RaceSpec", "race_course", "Track", "read_gpx", "TrackAnalysis", "analyse", "ExportStore",
    "export_key", "course_of_result", "GPXError", "GPXTooLarge", "GPXUnsafe", "GPXSyntaxError", "NotGPX",
    "InvalidGPX", "EmptyGPX", "OutsideBasin", "TrackTooLong", "ExportError",
    "FITCourse", "to_fit", "to_csv", "thin_course", "Station", "StationAt", "NotACourse", "OrganiserCourse",
    "organiser_course", "course_of_upload",
]
