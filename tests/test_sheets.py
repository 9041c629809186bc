"""The printable sheets and pictures, read back as a visitor's printer and browser would.

PDFs are read with pdfium (pypdfium2), a second implementation beside reportlab that writes them:
its text extraction must find what the JSON says, and its rendering of the first page must show the
route's colour along the route's projected line.
"""

from __future__ import annotations

import io
import re

import pypdfium2 as pdfium
import pytest
from PIL import Image

import gpx_exports as gx
from bench.sheets import route_pixel_shares
from gpx_exports.sheet import SheetOptions, circuit_sheet, sheet_pois
from presentation import words
from tests.conftest import BASE_11_19, assert_problem

pytestmark = pytest.mark.slow

CIRCUITS = ("cinq-grands-sites", "trail-pyramides-noires-inspire", "boucle-un-escaut-inspiree",
            "eurovelo-5-bassin-minier", "memoire-14-18", "terrils-panoramas-11-19")


def _flat(text: str) -> str:
    """Text with every kind of space as one space (Babel's narrow spaces, line breaks inside table cells)."""
    return re.sub(r"[\s\u00a0\u202f]+", " ", text)


def pdf_text(pdf: bytes) -> tuple[int, str]:
    doc = pdfium.PdfDocument(pdf)
    return len(doc), _flat(" ".join(doc[i].get_textpage().get_text_range() for i in range(len(doc))))


def _in_order(text: str, names: list[str], after: int) -> list[str]:
    """The names not found in order in ``text`` from position ``after``."""
    missing, at = [], after
    for name in names:
        i = text.find(_flat(name), at)
        if i < 0:
            missing.append(name)
        else:
            at = i + len(name)
    return missing


@pytest.mark.parametrize("circuit", CIRCUITS)
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_circuit_sheet_says_what_the_json_says(client, circuit, lang):
    body = client.get(f"/v1/circuits/{circuit}?lang={lang}").get_json()
    resp = client.get(f"/v1/circuits/{circuit}?format=pdf&lang={lang}")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf", resp.get_data(as_text=True)[:300]
    assert resp.headers["Content-Disposition"].endswith('.pdf"')
    pages, text = pdf_text(resp.data)
    w, props = words(lang), body["features"][0]["properties"]
    assert pages >= 2
    assert _flat(body["properties"]["name"]) in text
    assert _flat(w.km(props["distance_m"])) in text and _flat(w.metres(props["ascent_m"])) in text
    assert "© OpenStreetMap contributors" in text and "Licence Ouverte Etalab 2.0" in text
    heading = text.find(w.table["sheet"]["pois"])
    assert heading > 0
    names = [p["name"] for p in sheet_pois(props["pois"])]
    assert names and not _in_order(text, names, heading)
    assert re.search(re.escape(_flat(w.table["sheet"]["page"].format(page=pages, pages=pages))), text)
    again = client.get(f"/v1/circuits/{circuit}?format=pdf&lang={lang}")
    assert again.headers["X-Cache"] == "hit" and again.data == resp.data


def test_sheets_default_to_french_and_follow_the_reader(client):
    french = pdf_text(client.get("/v1/circuits/memoire-14-18?format=pdf").data)[1]
    assert "Informations pratiques" in french and "Practical information" not in french
    german = pdf_text(client.get("/v1/circuits/memoire-14-18?format=pdf",
                                 headers={"Accept-Language": "de"}).data)[1]
    assert "Praktische Informationen" in german
    listing = client.get("/v1/circuits/memoire-14-18?format=json").get_json()
    assert listing["properties"]["description"] == listing["properties"]["descriptions"]["en"]


def test_the_route_colour_lies_along_the_projected_route(client, cfg):
    """Render page 1 with pdfium: the route colour is found along the route, and nowhere else on the map."""
    result = client.get("/v1/circuits/cinq-grands-sites?lang=fr").get_json()
    w = words("fr")
    course = gx.course_of_result(result, w)
    sheet = circuit_sheet(result, course, w, SheetOptions(cfg.tiles_dir, "https://galibot.example/x.gpx"))
    assert sheet.pages == len(pdfium.PdfDocument(sheet.pdf)) and sheet.maps[0].page == 0
    on, drawn = route_pixel_shares(sheet, course)
    assert on >= 0.98, "route-coloured pixels lie on the route, and nowhere else"
    assert drawn >= 0.8, "the route is drawn all along (its km, stop and POI markers cover 13 %)"


def test_a5_booklets_pictures_and_their_bounds(client):
    route = client.post("/v1/routes", json={"points": ["louvre-lens", "great-site-base-11-19"]}).get_json()
    base = route["links"]["self"]
    a5 = pdfium.PdfDocument(client.get(f"{base}.pdf?page=A5").data)
    assert [round(v) for v in a5[0].get_size()] == [420, 595]
    png = client.get(f"{base}.png?width=800")
    assert png.mimetype == "image/png" and Image.open(io.BytesIO(png.data)).size == (800, 600)
    profile = client.get(f"{base}.png?picture=profile&width=900&height=300")
    assert Image.open(io.BytesIO(profile.data)).size == (900, 300)
    svg = client.get(f"{base}.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data[:400]
    assert_problem(client.get(f"{base}.pdf?page=A3"), 422, "page")
    assert_problem(client.get(f"{base}.png?width=3000&height=3000"), 422, "width")
    assert_problem(client.get(f"{base}.png?width=50"), 422, "width")
    assert_problem(client.get("/v1/isochrones?format=pdf&start=2.8037,50.4306&minutes=10"), 422, "format")


THEMED = {"start": "louvre-lens", "profile": "bike", "distance_km": 25, "themes": ["memory"]}


def test_a_themed_circuit_collects_the_most_value_within_its_budget(client):
    """memory, 25 km by bike from the Louvre-Lens: within the budget, at least the greedy baseline's value, every
    stop a POI of the theme; a route-like result with its GPX, sheet and picture."""
    resp = client.post("/v1/circuits?lang=fr", json=THEMED)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    props, route = body["properties"], body["features"][0]["properties"]
    assert props["kind"] == "circuit" and props["circuit_kind"] == "themed" and props["themes"] == ["memory"]
    assert route["distance_m"] <= 25_000 * 1.01 and props["budget_m"] == 25_000
    assert props["stops"] and props["value"] == sum(s["value"] for s in props["stops"]) >= props["greedy_value"]
    kms = [s["km"] for s in props["stops"]]
    assert kms == sorted(kms)
    for s in props["stops"]:
        poi = client.get(f"/v1/pois/{s['id']}").get_json()["properties"]
        assert "memory" in poi["themes"] and s["value"] == (3 if poi["key"] else 2 if poi["description_sources"]
                                                            else 1)
    gpx = client.get(body["links"]["gpx"] + "?lang=fr").get_data(as_text=True)
    assert all(f"<name>{s['name']}</name>" in gpx for s in props["stops"] if "&" not in s["name"])
    assert props["name"] == f"Circuit « Mémoire », {words('fr').km(route['distance_m'])}"
    pages, text = pdf_text(client.get(body["links"]["pdf"]).data)
    assert pages >= 1 and _flat(props["name"]) in text
    again = client.post("/v1/circuits", json={**THEMED, "lang": "en"})
    assert again.headers["X-Cache"] == "hit" and again.get_json()["properties"]["stops"] == props["stops"]


@pytest.mark.parametrize("change, status, field", [
    ({"themes": ["casinos"]}, 422, "themes"),
    ({"themes": []}, 422, "themes"),
    ({"distance_km": 0.3}, 422, "distance_km"),
    ({"distance_km": 400}, 422, "distance_km"),
    ({"distance_km": None}, 422, "distance_km"),
    ({"must_visit": ["no-such-poi"]}, 404, "must_visit[0]"),
    ({"start": [5.0, 45.0]}, 422, "start"),
])
def test_a_themed_circuit_refuses_bad_input_naming_the_field(client, change, status, field):
    problem = assert_problem(client.post("/v1/circuits", json={**THEMED, **change}), status)
    assert problem["field"].startswith(field), problem


def test_race_and_multi_day_variants(client):
    """A race sheet has its checkpoint table, to the finish cut-off; a tour in days a stage table and a page a day."""
    race = client.get("/v1/circuits/trail-pyramides-noires-inspire?format=pdf&lang=fr&race=true"
                      "&start_time=2027-03-06T06:00:00%2B01:00&aid_stations_km=20,60")
    pages, text = pdf_text(race.data)
    assert "Points de contrôle" in text and "Ravitaillement 2 – km 60,0" in text and "pointage, eau" in text
    assert "6 mars 2027 à 06:00" in text and re.search(r"Arrivée 1\d\d,\d [\d ]+ m 7 mars 2027 à \d\d:\d\d", text)
    body = {"start": "louvre-lens", "stops": ["great-site-base-11-19", "great-site-chm-lewarde"], "daily_km": 30}
    tour = client.post("/v1/tours?lang=en", json=body).get_json()
    days = len(tour["properties"]["stages"])
    pages, text = pdf_text(client.get(f"{tour['links']['self']}.pdf?lang=en").data)
    assert days >= 2 and pages >= days + 1 and "The stages" in text
    assert all(f"Stage {d}" in text for d in range(1, days + 1))


def test_a_sheet_for_a_course_too_long_to_print_is_refused(client):
    far = client.post("/v1/routes", json={"points": ["louvre-lens", [3.55, 50.35], [2.45, 50.55], [3.55, 50.5],
                                                     [2.5, 50.35]]}).get_json()
    assert far["properties"]["distance_m"] > 250_000
    problem = assert_problem(client.get(f"{far['links']['self']}.pdf"), 422, "format")
    assert "250 km" in problem["detail"]
    picture = client.get(f"{far['links']['self']}.png?width=400")  # its picture is drawn: 100 km marks apart
    assert picture.status_code == 200 and Image.open(io.BytesIO(picture.data)).size == (400, 300)


def test_trail_results_carry_the_figures_runners_compare_races_by(client):
    """ITRA's km-effort (km + D+/100) and category on the TPN-style circuit and a trail, in its race file and sheet."""
    from gpx_exports.effort import itra_category

    assert [itra_category(k) for k in (24.9, 25, 44, 45, 114.9, 115, 125.6, 154, 155, 209, 210, 400)] == \
        ["XXS", "XS", "XS", "S", "M", "L", "L", "L", "XL", "XL", "XXL", "XXL"]
    tpn = client.get("/v1/circuits/trail-pyramides-noires-inspire").get_json()
    route, runner = tpn["features"][0]["properties"], tpn["properties"]["runner"]
    effort = route["distance_m"] / 1000 + route["ascent_m"] / 100
    assert runner["km_effort"] == round(effort, 1) and runner["category"] == itra_category(effort) == "L"
    assert runner["ascent_per_km"] == round(route["ascent_m"] / (route["distance_m"] / 1000), 1)
    assert runner["estimates_s"] == {"fast": round(effort * 360), "median": round(effort * 540),
                                     "steady": round(effort * 720)}
    trail = client.post("/v1/trails", json={"start": BASE_11_19, "distance_km": 21, "terrils": 4}).get_json()
    assert trail["properties"]["runner"]["category"] == "XS"
    race = client.get("/v1/circuits/trail-pyramides-noires-inspire?format=gpx&race=true&lang=fr"
                      "&start_time=2027-03-06T06:00:00%2B01:00").get_data(as_text=True)
    assert f"{words('fr').number(runner['km_effort'], 1)} km-effort, catégorie ITRA L" in race
    text = pdf_text(client.get("/v1/circuits/trail-pyramides-noires-inspire?format=pdf&lang=fr").data)[1]
    assert f"Km-effort (ITRA) {_flat(words('fr').number(runner['km_effort'], 1))} · catégorie L" in text
