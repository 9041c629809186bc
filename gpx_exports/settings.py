"""Every constant of GPX writing, reading and analysis, in one place (as osmnx keeps its settings)."""

from __future__ import annotations

#: What a course can be; the GPX ``<trk><type>`` and the GeoJSON ``kind``.
COURSE_KINDS = ("route", "tour", "stages", "roundtrip", "trail", "circuit", "race")

#: The documented waypoint ``<type>`` values, with the Garmin symbol name each is written with.
WAYPOINT_TYPES = {
    "start": "Flag, Green",
    "finish": "Flag, Red",
    "stop": "Flag, Blue",
    "summit": "Summit",
    "poi": "Information",
    "lodging": "Lodging",
    "km": "Mile Marker",
    "checkpoint": "Flag, Blue",
    "aid-station": "Food Source",
}

#: The symbol of a POI waypoint by its first theme with one (Garmin names), else "Information".
THEME_SYMBOLS = {
    "great_mining_sites": "Museum", "museums": "Museum", "terrils": "Summit", "pit_shafts": "Mine",
    "cites_minieres": "City (Small)", "unesco_elements": "Scenic Area", "belfries": "Church",
    "memory": "Monument", "parks": "Park", "viewpoints": "Scenic Area", "stations": "Ground Transportation",
    "bike_services": "Bike Trail", "water_toilets": "Drinking Water", "food": "Restaurant", "lodging": "Lodging",
}

#: POIs of these themes (and every key place) become waypoints of a course; the rest stay on the map.
WAYPOINT_THEMES = frozenset({"great_mining_sites", "museums", "viewpoints", "belfries", "water_toilets",
                             "bike_services", "stations", "lodging"})


def theme_symbol(themes: list[str]) -> str:
    """The device symbol of a POI from its themes."""
    return next((THEME_SYMBOLS[t] for t in themes if t in THEME_SYMBOLS), "Information")


CREATOR = "galibot"
#: Namespace of galibot's GPX extensions (course version, licences, cut-offs); devices ignore them.
NAMESPACE = "https://galibot.example/xmlschemas/gpx/1"
HOME = "https://galibot.example/"
COPYRIGHT_AUTHOR = ("© OpenStreetMap contributors (ODbL 1.0); Mission Bassin Minier (Licence Ouverte Etalab 2.0); "
                    "SRTM3 NASA/USGS (public domain)")
COPYRIGHT_YEAR = 2021  # the OSM extract the graph is built from
#: (text, licence link) of every dataset an export is made from.
LICENCES = (
    ("© OpenStreetMap contributors, ODbL 1.0", "https://www.openstreetmap.org/copyright"),
    ("Mission Bassin Minier open data, Licence Ouverte Etalab 2.0",
     "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"),
    ("SRTM3 v2.1, NASA/USGS, public domain", "https://www.usgs.gov/centers/eros/science/usgs-eros-archive-digital-elevation-shuttle-radar-topography-mission-srtm-non"),
)
ODBL_URL = "https://opendatacommons.org/licenses/odbl/1-0/"

#: Reading: uploads over this size are refused before parsing.
MAX_GPX_BYTES = 10 * 1024 * 1024
#: Reading: more points than this (all tracks, routes and waypoints) are refused.
MAX_GPX_POINTS = 500_000

#: Analysis: longer tracks are refused, which bounds an analysis to a few seconds.
MAX_TRACK_KM = 1000.0
#: Analysis: the track is sampled every this many metres to match it to the graph.
SAMPLE_STEP_M = 10.0
#: Analysis: a sample within this distance of a way is on the graph.
MATCH_TOLERANCE_M = 25.0
#: Analysis: an unmatched stretch at least this long is reported as leaving the graph.
MIN_OFF_GRAPH_M = 50.0
#: Analysis: the snapped track is routed between matched anchors this far apart.
ANCHOR_STEP_M = 100.0
#: Analysis: a routed piece longer than this times the track between its anchors is not the track's way.
MAX_DETOUR_RATIO = 1.5
#: Analysis: POIs within this distance of the track are passed.
POI_CORRIDOR_M = 50.0

#: Export: default checkpoint spacing, aid-station spacing and cut-off pace (s per km-effort) of race files.
CHECKPOINT_EVERY_KM = 10.0
AID_EVERY_KM = 20.0
CUTOFF_S_PER_KM_EFFORT = 720.0
#: Export: the bounds of the GPX options (inclusive), checked by ``GPXOptions`` and by the API's schema.
KM_MARKERS_RANGE = (0.1, 100.0)
#: Export: at most this many km markers in one file (a marker every 0.1 km of a 100 km course).
MAX_KM_MARKERS = 1000
PACE_S_PER_KM_RANGE = (60.0, 3600.0)
MAX_POINTS_RANGE = (10, 1_000_000)
CUTOFF_S_PER_KM_EFFORT_RANGE = (60.0, 7200.0)
#: Export: race stations are at least this far apart, and at most this many of each kind.
MIN_STATION_SPACING_KM = 0.5
MAX_STATIONS = 200
#: ITRA's km-effort: one km of distance plus one per this many metres of ascent.
KM_EFFORT_ASCENT_M = 100.0
#: ITRA's race categories by km-effort: (name, first km-effort of the next category); XXL has no upper bound.
ITRA_CATEGORIES = (("XXS", 25), ("XS", 45), ("S", 75), ("M", 115), ("L", 155), ("XL", 210), ("XXL", None))
#: Time estimates by pace group, in seconds per km-effort. ITRA defines the km-effort, not these paces: they are
#: galibot's defaults (the cut-off pace, 12 min, is the slowest group's), not figures of any race.
PACE_GROUPS_S_PER_KM_EFFORT = {"fast": 360.0, "median": 540.0, "steady": 720.0}

#: Pictures (``format=png``): width and height in pixels, each in this range, and at most PICTURE_MAX_PIXELS in all
#: (a 2,000 × 1,500 map takes about 1 s and 60 MB to draw; the cap bounds a request's CPU and memory).
PICTURE_SIDE_RANGE = (200, 3000)
PICTURE_MAX_PIXELS = 4_000_000
PICTURE_DEFAULT_PX = (1200, 900)
#: What a picture shows: the map, or the elevation profile.
PICTURES = ("map", "profile")

#: FIT courses: a course point's name is at most FIT_NAME_BYTES bytes of UTF-8 with its terminating zero, i.e. 15
#: bytes of text, Garmin's limit for the names of saved locations (BaseCamp's and the Edge's). Longer names are cut
#: at a character boundary, and the response of the request that named them says so.
FIT_NAME_BYTES = 16
#: FIT courses: the course's own name (the ``course`` message) is cut to this many bytes with its zero.
FIT_COURSE_NAME_BYTES = 32
#: FIT courses: the FIT ``course_point`` type of each waypoint type (names of the FIT profile's ``course_point``).
FIT_COURSE_POINTS = {
    "start": "segment_start", "finish": "segment_end", "checkpoint": "checkpoint", "aid-station": "aid_station",
    "summit": "summit", "stop": "generic", "lodging": "shelter", "poi": "info", "km": "general_distance",
}
#: FIT courses: a POI's course point type by its device symbol (``THEME_SYMBOLS``), else ``FIT_COURSE_POINTS["poi"]``.
FIT_SYMBOL_POINTS = {"Drinking Water": "water", "Restaurant": "food", "Scenic Area": "overlook", "Lodging": "shelter",
                     "Bike Trail": "service", "Ground Transportation": "transport", "Summit": "summit"}
#: FIT courses: the FIT sport and sub-sport of each routing profile.
FIT_SPORTS = {"bike": ("cycling", "generic"), "road_bike": ("cycling", "road"), "mtb": ("cycling", "mountain"),
              "walk": ("walking", "generic"), "trail": ("running", "trail")}
#: FIT courses: the media type (the one Garmin's own services send).
FIT_MIMETYPE = "application/vnd.ant.fit"

#: Thinning (``thin_to``): the number of points a thinned track may be asked for; devices hold 500 to 10,000.
THIN_TO_RANGE = (50, 100_000)
#: Thinning: bisection steps on the Douglas-Peucker tolerance (a fixed count, so the result never depends on time).
THIN_BISECTION_STEPS = 24

#: Uploaded races: a checkpoint given by POI id or by [lon, lat] must be this close to the course.
STATION_SNAP_M = 200.0
#: Uploaded races: a stretch off the graph at least this long is a warning in the response (shorter ones are only in
#: the analysis).
RACE_WARN_OFF_GRAPH_M = 500.0
#: Uploaded races: a jump between two track segments of the file longer than this is a warning (the segments are
#: joined in file order; a jump counts no km and no line is drawn across it).
RACE_WARN_GAP_M = 50.0
#: Uploaded races: at most this many checkpoints and aid stations in one race.
MAX_RACE_STATIONS = 100

#: CSV tables (``format=csv``): the columns, in order; the names are stable identifiers for timing software.
CSV_COLUMNS = ("order", "type", "name", "km", "cum_ascent_m", "cum_descent_m", "km_effort", "cutoff", "services")
