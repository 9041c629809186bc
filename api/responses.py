"""marshmallow schemas of every JSON response: the views serialise through them, and /openapi.json shows them."""

from __future__ import annotations

from functools import cache

from marshmallow import Schema, fields

Num = fields.Float
Str = fields.String


def _opt(field: fields.Field) -> fields.Field:
    field.allow_none = True
    return field


class LineStringSchema(Schema):
    type = Str(required=True, metadata={"enum": ["LineString"]})
    coordinates = fields.List(fields.List(Num()), required=True, metadata={"description": "[lon, lat, elevation]"})


class GeometrySchema(Schema):
    """Any GeoJSON geometry (a point, a polygon…)."""

    type = Str(required=True)
    coordinates = fields.Raw(required=True)


class InstructionSchema(Schema):
    type = Str(required=True, metadata={"enum": ["depart", "turn", "continue", "waypoint", "arrive"]})
    modifier = _opt(Str())
    name = _opt(Str())
    way_class = _opt(Str())
    distance_m = Num(required=True)
    location = fields.List(Num(), required=True)
    subclass = _opt(Str())
    text = Str(required=True, metadata={"description": "the maneuver in the reader's language"})
    push = fields.Boolean(metadata={"description": "the rider gets off and pushes the bike here (steps)"})
    bearing = Num(metadata={"description": "depart: the compass bearing it heads on, degrees"})
    number = fields.Integer(metadata={"description": "waypoint: the number of the via point reached"})
    place = _opt(Str(metadata={"description": "waypoint and arrive: the name of the place reached"}))


class RoutePOISchema(Schema):
    id = Str(required=True)
    name = Str(required=True)
    themes = fields.List(Str(), required=True)
    lon = Num(required=True)
    lat = Num(required=True)
    distance_m = Num(required=True)
    along_m = Num(required=True)
    key = fields.Boolean(required=True)
    description = _opt(Str())
    cited = fields.Boolean(metadata={"description": "the description is cited from a seed document (else it is "
                                                    "made from the dataset's fields)"})


class LegSchema(Schema):
    distance_m = Num(required=True)
    duration_s = Num(required=True)


class SummitSchema(Schema):
    number = Str(required=True)
    name = _opt(Str())
    height_m = Num(required=True)
    relief_m = Num(required=True)
    lon = Num(required=True)
    lat = Num(required=True)
    km = Num(required=True)


class RoutePropertiesSchema(Schema):
    """Everything the app shows about one route; planners add their own figures."""

    profile = Str(required=True)
    distance_m = Num(required=True)
    duration_s = Num(required=True)
    ascent_m = Num(required=True)
    descent_m = Num(required=True)
    cavalier_share = Num(required=True)
    ev5_share = Num(required=True)
    data_version = Str(required=True)
    elevation_profile = fields.List(fields.List(Num()), metadata={
        "description": "[m, elevation]; always there but where a route request's details leaves it out"})
    way_types = fields.Dict(keys=Str(), values=Num(), required=True, metadata={"description": "metres by way type"})
    legs = fields.List(fields.Nested(LegSchema), required=True)
    instructions = fields.List(fields.Nested(InstructionSchema), metadata={
        "description": "always there but where a route request's details leaves them out"})
    pois = fields.List(fields.Nested(RoutePOISchema), metadata={
        "description": "always there but where a route request's details leaves them out"})
    attribution = Str(required=True)
    overlap_with_best = Num(metadata={"description": "alternatives: the share shared with the best route"})
    target_m = Num(metadata={"description": "round trips and trails: the length asked for"})
    length_error = Num()
    reused_share = Num()
    spurs = fields.Integer()
    summits = fields.List(fields.Nested(SummitSchema), metadata={"description": "trails: the summits, in order"})


class RouteFeatureSchema(Schema):
    type = Str(required=True, metadata={"enum": ["Feature"]})
    geometry = fields.Nested(LineStringSchema, required=True)
    properties = fields.Nested(RoutePropertiesSchema, required=True)
    links = fields.Dict(keys=Str(), values=Str(), metadata={"description": "self, geojson, gpx, pdf, png"})


class StopSchema(Schema):
    id = _opt(Str())
    name = _opt(Str())
    lon = Num(required=True)
    lat = Num(required=True)
    km = Num()
    value = fields.Integer(metadata={"description": "themed circuits: what visiting it is worth"})


class StageSchema(Schema):
    day = fields.Integer(required=True)
    from_km = Num(required=True)
    to_km = Num(required=True)
    distance_m = Num(required=True)
    ascent_m = Num(required=True)
    descent_m = Num(required=True)
    lodging = _opt(fields.Dict(metadata={"description": "id, name, lon, lat, detour_m; null where none is near"}))


class RunnerSchema(Schema):
    """The figures runners compare races by (trail courses and trail circuits)."""

    km_effort = Num(required=True, metadata={"description": "ITRA: km + D+/100 m"})
    category = Str(required=True, metadata={"enum": ["XXS", "XS", "S", "M", "L", "XL", "XXL"]})
    ascent_per_km = Num(required=True, metadata={"description": "metres of ascent per km"})
    estimates_s = fields.Dict(keys=Str(), values=fields.Integer(), required=True,
                              metadata={"description": "seconds by pace group (fast 6, median 9, steady 12 min "
                                                       "per km-effort: galibot's defaults)"})


class PlanPropertiesSchema(Schema):
    """A planner's own facts about its result (which ones depends on ``kind``)."""

    kind = Str(required=True, metadata={"enum": ["tour", "roundtrip", "trail", "circuit"]})
    optimal = fields.Boolean()
    gap = Num()
    deadline_hit = fields.Boolean(metadata={"description": "the wall-clock safety net, not the deterministic work "
                                                           "budget, ended the solver: such a result is not cached"})
    stops = fields.List(fields.Nested(StopSchema))
    return_to_start = fields.Boolean()
    stages = fields.List(fields.Nested(StageSchema))
    seed = fields.Integer()
    count = fields.Integer()
    terrils = fields.Integer()
    id = Str()
    name = Str()
    description = Str()
    names = fields.Dict(keys=Str(), values=Str(), metadata={"description": "circuits: the name by language"})
    descriptions = fields.Dict(keys=Str(), values=Str(),
                               metadata={"description": "circuits: the description by language"})
    theme = Str()
    circuit_kind = Str()
    profile = Str()
    inspired_by = fields.Boolean()
    sources = fields.List(Str())
    km = Num()
    ascent_m = Num()
    cavalier_share = Num()
    ev5_share = Num()
    summits = fields.List(fields.Nested(SummitSchema))
    themes = fields.List(Str(), metadata={"description": "themed circuits: the themes asked for"})
    budget_m = Num(metadata={"description": "themed circuits: the length budget"})
    value = fields.Integer(metadata={"description": "themed circuits: the summed value of the stops"})
    greedy_value = fields.Integer(metadata={"description": "themed circuits: the greedy baseline's value"})
    greedy_km = Num(metadata={"description": "themed circuits: the greedy baseline's length"})
    runner = fields.Nested(RunnerSchema, metadata={"description": "trails: km-effort, ITRA category, estimates"})
    poi_values = fields.Dict(keys=Str(), values=fields.Integer(), metadata={"description": "the value of a key place, "
                                                                                        "a described POI, another"})


class RouteCollectionSchema(Schema):
    """Several route Features: alternatives, loops, or a planner's result with its facts."""

    type = Str(required=True, metadata={"enum": ["FeatureCollection"]})
    features = fields.List(fields.Nested(RouteFeatureSchema), required=True)
    properties = fields.Nested(PlanPropertiesSchema)
    total = fields.Dict(keys=Str(), values=fields.Integer())
    links = fields.Dict(keys=Str(), values=Str())


class CourseFeatureSchema(Schema):
    """A part of a course (LineString) or one of its waypoints (Point, with ``type``, ``sym`` and ``km``)."""

    type = Str(required=True)
    geometry = fields.Nested(GeometrySchema, required=True)
    properties = fields.Dict(required=True)


class CourseCollectionSchema(Schema):
    """A course for the app's map (``format=geojson``): its parts, then its waypoints in km order."""

    type = Str(required=True)
    features = fields.List(fields.Nested(CourseFeatureSchema), required=True)
    properties = fields.Dict(required=True)


class IsochronePropertiesSchema(Schema):
    minutes = Num(required=True)
    profile = Str(required=True)
    nodes = fields.Integer(required=True)
    area_km2 = Num(required=True)


class IsochroneFeatureSchema(Schema):
    type = Str(required=True)
    geometry = fields.Nested(GeometrySchema, required=True)
    properties = fields.Nested(IsochronePropertiesSchema, required=True)


class IsochroneCollectionSchema(Schema):
    type = Str(required=True)
    features = fields.List(fields.Nested(IsochroneFeatureSchema), required=True)
    links = fields.Dict(keys=Str(), values=Str())


class POIPropertiesSchema(Schema):
    id = Str(required=True)
    name = Str(required=True)
    names = fields.Dict(keys=Str(), values=Str(), required=True)
    themes = fields.List(Str(), required=True)
    commune = _opt(Str())
    key = fields.Boolean(required=True)
    description = _opt(Str())
    description_sources = fields.List(Str(), required=True)
    snap = _opt(fields.Dict())
    source = fields.Dict(required=True)
    details = fields.Dict(required=True)
    distance_m = Num()
    outline = fields.Dict(metadata={"description": "the POI's polygon (GeoJSON), when it has one"})


class POIFeatureSchema(Schema):
    type = Str(required=True)
    id = Str(required=True)
    geometry = fields.Nested(GeometrySchema, required=True)
    properties = fields.Nested(POIPropertiesSchema, required=True)


class BundlePOIPropertiesSchema(POIPropertiesSchema):
    description = _opt(fields.Dict(keys=Str(), values=Str(), metadata={"description": "by language, as in bundles"}))


class BundlePOIFeatureSchema(POIFeatureSchema):
    properties = fields.Nested(BundlePOIPropertiesSchema, required=True)


class TombstoneSchema(Schema):
    id = Str(required=True)
    deleted = fields.Boolean(required=True)


class POIChangesSchema(Schema):
    since = Str(required=True, metadata={"description": "the catalogue version the delta starts from"})
    version = Str(required=True, metadata={"description": "the catalogue version it leads to (the served one)"})
    data_version = Str(required=True)
    added = fields.List(fields.Nested(BundlePOIFeatureSchema), required=True)
    changed = fields.List(fields.Nested(BundlePOIFeatureSchema), required=True)
    removed = fields.List(fields.Nested(TombstoneSchema), required=True)


class POICollectionSchema(Schema):
    type = Str(required=True)
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    features = fields.List(fields.Nested(POIFeatureSchema), required=True)


class CircuitSummarySchema(Schema):
    id = Str(required=True)
    name = Str(required=True)
    description = Str(required=True)
    theme = Str(required=True)
    kind = Str(required=True)
    profile = Str(required=True)
    inspired_by = fields.Boolean(required=True)
    sources = fields.List(Str(), required=True)
    km = Num(required=True)
    ascent_m = Num(required=True)
    cavalier_share = Num(required=True)
    ev5_share = Num(required=True)
    stops = fields.List(fields.Nested(StopSchema), required=True)
    summits = fields.List(fields.Nested(SummitSchema), required=True)


class CircuitListSchema(Schema):
    circuits = fields.List(fields.Nested(CircuitSummarySchema), required=True)


class ThemeSchema(Schema):
    id = Str(required=True)
    labels = fields.Dict(keys=Str(), values=Str(), required=True, metadata={"description": "by language"})
    count = fields.Integer(required=True)


class ThemeListSchema(Schema):
    themes = fields.List(fields.Nested(ThemeSchema), required=True)


class AnalysisSchema(Schema):
    """What ``POST /v1/gpx/analyze`` finds in a track."""

    name = _opt(Str())
    version = Str(required=True, metadata={"enum": ["1.0", "1.1"]})
    points = fields.Integer(required=True)
    lines = fields.Integer(required=True)
    distance_m = Num(required=True)
    ascent_m = Num(required=True)
    descent_m = Num(required=True)
    dem_share = Num(required=True)
    claimed_ascent_m = _opt(Num())
    claimed_descent_m = _opt(Num())
    inside_share = Num(required=True)
    matched_share = Num(required=True)
    off_graph = fields.List(fields.Dict(), required=True)
    terrils = fields.List(fields.Dict(), required=True)
    pois = fields.List(fields.Dict(), required=True)
    snapped_distance_m = Num(required=True)
    elevation_profile = fields.List(fields.List(Num()), required=True)
    snapped = fields.Dict(metadata={"description": "a GeoJSON MultiLineString, unless snap=false"})


#: Route properties galibot's own code makes as lists of plain JSON values, in their schema's shape: the fast dump
#: passes them through instead of walking them value by value (a test holds it equal to the schemas' own dump).
BULK = {"instructions": InstructionSchema, "pois": RoutePOISchema, "elevation_profile": None}


def dump_result(result: dict) -> dict:
    """A computed result through its schema: a route Feature, a collection of them, or isochrone areas.

    The large arrays of a route (its coordinates, instructions, POIs and elevation profile) are copied as they are
    when every item has only the fields its schema declares; the rest goes through marshmallow."""
    if result.get("type") == "Feature":
        return dump_route(result)
    features = result.get("features") or []
    if features and features[0].get("geometry", {}).get("type") != "LineString":
        return _instance(IsochroneCollectionSchema).dump(result)
    out = _instance(RouteCollectionSchema).dump({**result, "features": []})
    out["features"] = [dump_route(f) for f in features]
    return out


def dump_route(feature: dict) -> dict:
    """A route Feature as ``RouteFeatureSchema`` dumps it, its bulk arrays copied without a walk through fields."""
    props = feature.get("properties") or {}
    bulk = {k: props[k] for k in BULK if k in props and _plain(props[k], BULK[k])}
    geometry = feature.get("geometry") or {}
    out = _instance(RouteFeatureSchema).dump({**feature, "geometry": {**geometry, "coordinates": []},
                                     "properties": {k: v for k, v in props.items() if k not in bulk}})
    out["geometry"]["coordinates"] = geometry.get("coordinates", [])
    dumped = {**out["properties"], **bulk}
    out["properties"] = {k: dumped[k] for k in RoutePropertiesSchema._declared_fields if k in dumped}
    return out


@cache
def _instance(schema: type[Schema]) -> Schema:
    """One instance of a schema for every dump: making one builds its fields and its nested schemas' (0.2 ms a
    route), and a dump neither changes it nor keeps state in it (marshmallow 4 has no schema context)."""
    return schema()


def _plain(items: list, schema: type[Schema] | None) -> bool:
    """Whether a bulk list can be copied: a list whose dicts hold only the fields of their schema."""
    if not isinstance(items, list):
        return False
    if schema is None:
        return True
    allowed = schema._declared_fields.keys()
    return all(isinstance(i, dict) and i.keys() <= allowed for i in items)
