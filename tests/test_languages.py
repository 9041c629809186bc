"""Every word a person reads comes out of the presentation layer in the language asked for.

The sweep asks each computing endpoint, in every export format, in French and in English, and
looks for the other language's words among the generated texts: instructions, waypoint labels,
GPX descriptions, race texts and file names.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import gpxpy
import pytest

from presentation import LANGUAGES, messages, words
from presentation.words import I18N_DIR
from tests.conftest import BASE_11_19, LOUVRE

pytestmark = pytest.mark.slow

#: Words of the English texts galibot writes, which a French reader must never get.
ENGLISH = re.compile(r"\b(Head|Turn|Continue|Make a U-turn|Get off|You have|Start|Finish|Checkpoint|Aid station|"
                     r"Summit|Night|day \d|cut-off|Course version|Data:|ascent|descent|off the route|galibot route|"
                     r"Stop \d|round trip|trail course)\b")
#: Words of the French texts, which an English reader must never get.
FRENCH = re.compile(r"\b(Partez|Tournez|Continuez|Faites demi-tour|Descendez|Vous avez|Vous êtes|Départ|Arrivée|"
                    r"Pointage|Ravitaillement|Sommet du terril|Nuit \d|jour \d|barrière|Version du parcours|"
                    r"Données :|D\+|de l'itinéraire|itinéraire de|Étape \d)")

START = "2027-03-06T08:00:00+01:00"
#: One request per computing endpoint (method, path, JSON body), each a route-like result.
REQUESTS = {
    "route": ("post", "/v1/routes", {"points": ["louvre-lens", "great-site-base-11-19", LOUVRE]}),
    "tour in days": ("post", "/v1/tours", {"start": "louvre-lens", "stops": ["great-site-base-11-19",
                                                                             "great-site-chm-lewarde"],
                                           "daily_km": 30}),
    "round trip": ("post", "/v1/roundtrips", {"start": "great-site-base-11-19", "distance_km": 15}),
    "trail": ("post", "/v1/trails", {"start": BASE_11_19, "distance_km": 21, "terrils": 4}),
    "circuit": ("get", "/v1/circuits/trail-pyramides-noires-inspire", None),
    "tour circuit": ("get", "/v1/circuits/cinq-grands-sites", None),
}
#: Every export format, as query strings.
FORMATS = {"json": "format=json", "geojson": "format=geojson&km_markers=5",
           "gpx": "format=gpx&rte=true&km_markers=5",
           "race": f"format=gpx&race=true&start_time={START.replace('+', '%2B')}"}


def _ask(client, name: str, lang: str, query: str):
    method, path, body = REQUESTS[name]
    url = f"{path}?{query}&lang={lang}"
    resp = client.post(url, json=body) if method == "post" else client.get(url)
    assert resp.status_code == 200, (name, resp.get_data(as_text=True)[:300])
    return resp


#: Identifiers, not words: JSON keys whose values are codes (a Garmin symbol name such as "Summit" among them).
CODES = {"type", "kind", "profile", "way_class", "subclass", "modifier", "sym", "themes", "theme", "id", "ref"}


def _gpx_texts(xml: str) -> list[str]:
    """The names, descriptions and comments of a GPX: what a device shows (not its symbols and types)."""
    gpx = gpxpy.parse(xml)
    out = [gpx.name, gpx.description]
    for p in [*gpx.waypoints, *(pt for r in gpx.routes for pt in r.points)]:
        out += [p.name, p.description, p.comment]
    out += [t.name for t in [*gpx.tracks, *gpx.routes]]
    return [t for t in out if t]


def _readable(resp) -> str:
    """The texts of a response a person reads (JSON string values, the GPX's texts), and the file name."""
    text = resp.get_data(as_text=True)
    if resp.mimetype == "application/gpx+xml":
        return "\n".join([*_gpx_texts(text), resp.headers.get("Content-Disposition", "")])
    if resp.mimetype.endswith("json"):
        values: list[str] = []

        def walk(v, key=""):
            if isinstance(v, dict):
                for k, x in v.items():
                    walk(x, k)
            elif isinstance(v, list):
                for x in v:
                    walk(x, key)
            elif isinstance(v, str) and key not in CODES:
                values.append(v)
        walk(json.loads(text))
        return "\n".join(values)
    return text


@pytest.mark.parametrize("name", list(REQUESTS))
def test_no_word_of_the_other_language_in_any_format(client, name):
    for fmt, query in FORMATS.items():
        fr, en = _readable(_ask(client, name, "fr", query)), _readable(_ask(client, name, "en", query))
        assert not ENGLISH.findall(fr), (name, fmt, sorted(set(ENGLISH.findall(fr))))
        assert not FRENCH.findall(en), (name, fmt, sorted(set(FRENCH.findall(en))))
    share = _ask(client, name, "fr", "format=json").get_json()["links"]["self"]
    assert not ENGLISH.findall(_readable(client.get(f"{share}?lang=fr")))
    assert not FRENCH.findall(_readable(client.get(f"{share}.gpx?lang=en")))


def test_one_computation_serves_every_language(client):
    """The language is not part of a result's key: four languages, one share link, one route."""
    body = {"points": ["great-site-base-11-19", "louvre-lens"], "profile": "walk"}
    results = {lang: client.post(f"/v1/routes?lang={lang}", json=body).get_json() for lang in LANGUAGES}
    assert len({r["links"]["self"] for r in results.values()}) == 1
    assert len({json.dumps(r["geometry"]) for r in results.values()}) == 1
    firsts = {lang: r["properties"]["instructions"][0]["text"] for lang, r in results.items()}
    assert firsts["fr"].startswith("Partez") and firsts["en"].startswith("Head")
    assert firsts["de"].startswith("Richtung") and len(set(firsts.values())) == 4
    again = client.post("/v1/routes?lang=nl", json=body)
    assert again.headers["X-Cache"] == "hit" and "Accept-Language" in again.headers["Vary"]
    by_header = client.post("/v1/routes", json=body, headers={"Accept-Language": "fr-FR,fr;q=0.9"}).get_json()
    assert by_header["properties"]["instructions"][0]["text"] == firsts["fr"]


def test_french_files_say_depart_arrivee_and_the_terrils_in_french(client):
    trail = _ask(client, "trail", "fr", f"{FORMATS['race']}&aid_stations_km=10.5")
    gpx = gpxpy.parse(trail.get_data(as_text=True))
    kinds = {w.type: w for w in gpx.waypoints}
    assert kinds["start"].name == "Départ / Arrivée"
    assert re.fullmatch(r"Sommet du terril \d+[a-zA-Z]? – \d+\u00a0m", kinds["summit"].name)
    aid = kinds["aid-station"]
    assert aid.name == "Ravitaillement 1 – km 10,5", aid.name
    assert "6 mars 2027" in kinds["start"].description and "barrière d'arrivée" in kinds["start"].description
    assert re.search(r"\d+,\d\u00a0km, D\+ \d", gpx.description) and "(trail)" in gpx.description
    assert re.fullmatch(r"galibot, parcours de trail de \d+,\d\u00a0km", gpx.name)
    english = gpxpy.parse(_ask(client, "trail", "en", FORMATS["race"]).get_data(as_text=True))
    assert "March 6, 2027" in next(w for w in english.waypoints if w.type == "start").description


def test_stage_names_and_nights_are_in_the_language(client):
    fr = gpxpy.parse(_ask(client, "tour in days", "fr", "format=gpx").get_data(as_text=True))
    assert [t.name.rsplit(" – ", 1)[1] for t in fr.tracks] == [f"jour {d}" for d in range(1, len(fr.tracks) + 1)]
    nights = [w for w in fr.waypoints if w.type == "lodging"]
    assert all(re.fullmatch(r"Nuit \d : [\d\u202f]+\u00a0m de l'itinéraire", w.description) for w in nights)


@pytest.mark.parametrize("lang, km, day", [("fr", "48,5\u00a0km", "6 mars 2027"),
                                           ("en", "48.5\u00a0km", "March 6, 2027"),
                                           ("nl", "48,5\u00a0km", "6 maart 2027"),
                                           ("de", "48,5\u00a0km", "6. März 2027")])
def test_numbers_and_dates_follow_the_language(lang, km, day):
    w = words(lang)
    assert w.km(48_480) == km and w.date(datetime(2027, 3, 6)) == day
    assert w.distance(344) == "340\u00a0m" and w.distance(2_349) == w.km(2_349)
    when = datetime(2027, 3, 6, 14, 5, tzinfo=timezone(timedelta(hours=1)))
    assert day in w.moment(when)


def test_every_language_has_every_message():
    keys = {lang: set(json.loads((I18N_DIR / f"{lang}.json").read_text())) for lang in LANGUAGES}
    assert all(k == keys["en"] for k in keys.values()), {lang: keys["en"] ^ k for lang, k in keys.items()}
    with pytest.raises(ValueError):
        messages("es")


def test_a_pit_shaft_is_described_from_its_fields_in_every_output(client, catalogue):
    """The MBM fields make the sentence (no seed document describes a pit shaft), the same in the API and bundles."""
    from gpx_exports.bundles import bundle_poi_feature

    fosse = next(p for p in catalogue.by_theme("pit_shafts")
                 if p["properties"].get("compagnie") == "Société Houillère de Vendin-lez-Béthune"
                 and p["properties"].get("fosse") == "1")
    fr = client.get(f"/v1/pois/{fosse['id']}?lang=fr").get_json()["properties"]["description"]
    assert fr == ("Fosse 1 – Société Houillère de Vendin-lez-Béthune : fonçage en 1857, fermeture en 1928, "
                  "profondeur 384\u00a0m.")
    en = client.get(f"/v1/pois/{fosse['id']}?lang=en").get_json()["properties"]["description"]
    assert en.endswith("sunk in 1857, closed in 1928, 384\u00a0m deep.")
    assert bundle_poi_feature(fosse)["properties"]["description"] == {
        lang: client.get(f"/v1/pois/{fosse['id']}?lang={lang}").get_json()["properties"]["description"]
        for lang in LANGUAGES}
    seeded = catalogue.get("louvre-lens")
    assert bundle_poi_feature(seeded)["properties"]["description"]["fr"] == seeded["description"]["fr"]
