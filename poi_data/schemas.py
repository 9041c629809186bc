"""marshmallow schemas of a catalogue POI: every record is validated when built and when loaded."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from routing.settings import DATA_BBOX

THEMES = (
    "great_mining_sites", "terrils", "pit_shafts", "cites_minieres", "unesco_elements", "museums", "belfries",
    "memory", "parks", "viewpoints", "stations", "bike_services", "water_toilets", "food", "lodging",
)
LANGS = ("fr", "en", "nl", "de")


class SnapSchema(Schema):
    node = fields.Integer(required=True, metadata={"description": "graph node id (nearest end of the nearest way)"})
    distance_m = fields.Float(required=True, validate=validate.Range(min=0))


class DescriptionSchema(Schema):
    fr = fields.String(required=True)
    en = fields.String(required=True)
    sources = fields.List(fields.String(validate=validate.Regexp(r"^\d{3}:\d+(-\d+)?$")), required=True,
                          validate=validate.Length(min=1))


class SourceSchema(Schema):
    dataset = fields.String(required=True)
    licence = fields.String(required=True)
    ref = fields.String(allow_none=True)


class POISchema(Schema):
    """One place of the catalogue."""

    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9._-]*$", flags=0))
    name = fields.String(required=True, validate=validate.Length(min=1))
    names = fields.Dict(keys=fields.String(validate=validate.OneOf(LANGS)), values=fields.String(), load_default=dict)
    themes = fields.List(fields.String(validate=validate.OneOf(THEMES)), required=True,
                         validate=validate.Length(min=1))
    lon = fields.Float(required=True, validate=validate.Range(min=DATA_BBOX[0], max=DATA_BBOX[2]))
    lat = fields.Float(required=True, validate=validate.Range(min=DATA_BBOX[1], max=DATA_BBOX[3]))
    geometry = fields.Dict(allow_none=True, load_default=None, metadata={"description": "GeoJSON polygon, if any"})
    commune = fields.String(allow_none=True, load_default=None)
    key = fields.Boolean(load_default=False, metadata={"description": "a key place, with a description"})
    description = fields.Nested(DescriptionSchema, allow_none=True, load_default=None)
    snap = fields.Nested(SnapSchema, allow_none=True, load_default=None)
    source = fields.Nested(SourceSchema, required=True)
    properties = fields.Dict(load_default=dict)

    @validates_schema
    def _key_places_are_described(self, data: dict, **_) -> None:
        if data.get("key") and not data.get("description"):
            raise ValidationError("a key place needs a description", "description")


POI_SCHEMA = POISchema()
