"""``GET /v1/pois`` and ``GET /v1/pois/<id>``: the POI catalogue as GeoJSON."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from marshmallow import Schema, fields, validate

from gpx_exports.bundles import bundle_poi_feature
from poi_data import THEMES, versions
from poi_data.catalogue import MAX_RADIUS_M, Catalogue
from poi_data.geojson import poi_feature
from poi_data.labels import load_themes
from presentation import LANGUAGES, poi_description, words

from .common import BBoxText, LonLatText, language, load, service
from .responses import POIChangesSchema, POICollectionSchema, POIFeatureSchema, ThemeListSchema

bp = Blueprint("pois", __name__, url_prefix="/v1/pois")


class POIQuerySchema(Schema):
    theme = fields.String(validate=validate.OneOf(THEMES))
    bbox = BBoxText(metadata={"description": "minlon,minlat,maxlon,maxlat"})
    near = LonLatText(metadata={"description": "lon,lat; results are sorted by distance"})
    radius_m = fields.Float(load_default=1000.0, validate=validate.Range(min=1, max=MAX_RADIUS_M))
    q = fields.String(validate=validate.Length(min=1, max=100))
    lang = fields.String(validate=validate.OneOf(LANGUAGES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


def _select(cat: Catalogue, args: dict) -> list[tuple[int, float | None]]:
    """Indices matching every filter given, in relevance, distance or catalogue order."""
    order: list[tuple[int, float | None]]
    near = cat.near_indices(*args["near"], args["radius_m"]) if args.get("near") else None
    if args.get("q"):
        order = [(i, None) for i, _ in cat.search_scores(args["q"])]
        if near is not None:  # text relevance first, distance reported, farther than the radius left out
            distance = dict(near)
            order = [(i, distance[i]) for i, _ in order if i in distance]
    elif near is not None:
        order = list(near)
    else:
        order = [(i, None) for i in range(len(cat))]
    keep = None
    if args.get("theme"):
        keep = set(cat.theme_indices(args["theme"]))
    if args.get("bbox"):
        inside = set(cat.bbox_indices(args["bbox"]).tolist())
        keep = inside if keep is None else keep & inside
    return order if keep is None else [(i, d) for i, d in order if i in keep]


@bp.get("")
def list_pois():
    """POIs filtered by theme, bbox, distance and text, as a FeatureCollection with a ``total``."""
    args = load(POIQuerySchema(), request.args.to_dict())
    cat = service().catalogue
    lang = language(args.get("lang"))
    found = _select(cat, args)
    page = found[args["offset"]: args["offset"] + args["limit"]]
    return jsonify(POICollectionSchema().dump({"type": "FeatureCollection", "total": len(found), "limit": args["limit"],
                                               "offset": args["offset"],
                                               "features": [_described(cat.pois[i], lang, d) for i, d in page]}))


def _described(poi: dict, lang: str, distance_m: float | None = None, *, outline: bool = False) -> dict:
    """A POI's Feature with its description in ``lang``: cited, or made from its dataset's fields."""
    feature = poi_feature(poi, lang, distance_m, outline)
    feature["properties"]["description"] = poi_description(poi, words(lang))
    return feature


class ChangesQuerySchema(Schema):
    since = fields.String(required=True, validate=validate.Length(min=1, max=64),
                          metadata={"description": "the poi_version (or data_version) of the bundle the app holds"})


@bp.get("/changes")
def poi_changes():
    """The POIs added, changed and removed since a catalogue version, shaped as in the bundles' POI file."""
    args = load(ChangesQuerySchema(), request.args.to_dict())
    state = service()
    delta = versions.changes(state.cfg, args["since"], state.poi_version, state.catalogue, state.poi_fingerprints)
    delta["added"] = [bundle_poi_feature(p) for p in delta["added"]]
    delta["changed"] = [bundle_poi_feature(p) for p in delta["changed"]]
    delta["removed"] = [{"id": pid, "deleted": True} for pid in delta["removed"]]
    return jsonify(POIChangesSchema().dump(delta))


@bp.get("/themes")
def list_themes():
    """The POI themes, with their labels in every language and how many POIs each holds (for a map's legend)."""
    cat, labels = service().catalogue, load_themes()
    return jsonify(ThemeListSchema().dump({"themes": [
        {"id": t, "labels": labels[t]["labels"], "count": len(cat.theme_indices(t))} for t in THEMES]}))


@bp.get("/<poi_id>")
def get_poi(poi_id: str):
    """One POI, with its outline when it has one."""
    lang = language(request.args.get("lang"))
    return jsonify(POIFeatureSchema().dump(_described(service().catalogue.get(poi_id), lang, outline=True)))
