"""The web planner page in a real headless Chromium (Playwright), on the whole basin's API served over HTTP.

The browser is Debian's Chromium (``make install`` installs it as root); without it these tests are skipped
with a message, unless ``GALIBOT_REQUIRE_BROWSER=1`` (CI sets it), where a missing browser is a failure.
Screenshots go to ``var/screenshots`` (phone and desktop size).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import gpxpy
import pytest
import requests
from PIL import Image
from werkzeug.serving import make_server

from gpx_exports import tileset
from routing.core import haversine_m
from tests.conftest import BASE_11_19, LOUVRE

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "var" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BROWSERS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
#: Software WebGL: the CI machine has no GPU.
CHROMIUM_ARGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist", "--no-sandbox"]
DESKTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}
#: What the page may take to plan on a loaded 2-core machine (the route itself is a few milliseconds).
WAIT_MS = 60_000

pytestmark = pytest.mark.browser


def _browser_path() -> str | None:
    return next((p for p in BROWSERS if Path(p).is_file()), None) or shutil.which("chromium")


@pytest.fixture(scope="module")
def browser():
    path = _browser_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        path = None
    if path is None:
        message = "no Chromium for the browser tests: `make install` as root installs Debian's chromium"
        if os.environ.get("GALIBOT_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(client, cfg):
    """The whole basin's API (the ``client`` fixture's app, circuits loaded) on a loopback port, tiles built."""
    tileset.build_pyramid(cfg)
    http = make_server("127.0.0.1", 0, client.application, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()


class Page:
    """A browser page on the planner, with what the tests look at: console errors and the plan's figures."""

    def __init__(self, browser, base: str, *, viewport: dict = DESKTOP):
        self.base = base
        self.context = browser.new_context(viewport=viewport, accept_downloads=True, locale="en-GB")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.refusals: set[int] = set()  # statuses a test provokes on purpose (the browser logs each as an error)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, query: str = "") -> Page:
        self.page.goto(f"{self.base}/{query}")
        self.page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
        return self

    def wait_result(self) -> dict:
        self.page.wait_for_selector("body[data-result=ready]", timeout=WAIT_MS)
        return self.page.evaluate("window.galibot.state.result")

    def click_lonlat(self, lon: float, lat: float) -> None:
        x, y = self.page.evaluate("([lon, lat]) => { const p = window.galibot.map.project([lon, lat]); "
                                  "const r = window.galibot.map.getCanvas().getBoundingClientRect(); "
                                  "return [r.left + p.x, r.top + p.y]; }", [lon, lat])
        self.page.mouse.click(x, y)

    def points(self) -> list[list[float]]:
        return self.page.evaluate("window.galibot.state.points.map(p => [p.lon, p.lat])")

    def places(self) -> list:
        """The points as the page sends them: a POI's id where a click fell on a POI, else [lon, lat]."""
        return self.page.evaluate("window.galibot.state.points.map(p => p.poi || [+p.lon.toFixed(6), "
                                  "+p.lat.toFixed(6)])")

    def error_text(self) -> str:
        box = self.page.locator("#error")
        box.wait_for(state="visible", timeout=WAIT_MS)
        return box.inner_text()

    def close(self) -> None:
        self.context.close()
        provoked = tuple(f"the server responded with a status of {s} " for s in self.refusals)
        unexpected = [e for e in self.errors if not (provoked and any(p in e for p in provoked))]
        assert not unexpected, unexpected


@pytest.fixture()
def page(browser, server):
    p = Page(browser, server)
    yield p
    p.close()


def _plan_route(page: Page) -> dict:
    """Click the Louvre-Lens then the Base 11/19 on the map; the page plans at the second click."""
    page.open("?lang=en&mode=route&profile=bike")
    west_south = [min(LOUVRE[0], BASE_11_19[0]), min(LOUVRE[1], BASE_11_19[1])]
    east_north = [max(LOUVRE[0], BASE_11_19[0]), max(LOUVRE[1], BASE_11_19[1])]
    page.page.evaluate("(box) => window.galibot.map.fitBounds(box, {padding: 120, duration: 0})",
                       [west_south, east_north])
    page.click_lonlat(*LOUVRE)
    page.click_lonlat(*BASE_11_19)
    return page.wait_result()


def test_the_map_draws_the_basins_tiles(page):
    page.open("?lang=en")
    page.page.wait_for_selector("body[data-map=idle]", timeout=WAIT_MS)
    picture = Image.open(io.BytesIO(page.page.locator("#map canvas").screenshot()))
    colours = picture.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50, "the map canvas is blank"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.page.screenshot(path=SHOTS / "planner-start-desktop.png")


def test_a_clicked_route_is_the_apis_route_for_the_same_points(page, server):
    result = _plan_route(page)
    start, end = page.points()
    assert haversine_m(*start, *LOUVRE) < 30 and haversine_m(*end, *BASE_11_19) < 30
    api = requests.post(f"{server}/v1/routes", json={"points": page.places(), "profile": "bike", "lang": "en"},
                        timeout=60).json()
    drawn = page.page.evaluate("window.galibot.map.getSource('route').serialize().data.features[0]")
    assert drawn["geometry"]["coordinates"] == api["geometry"]["coordinates"]
    assert result["properties"]["distance_m"] == api["properties"]["distance_m"]
    summary = page.page.locator("#summary [data-figure=distance]").inner_text()
    assert summary == f"{api['properties']['distance_m'] / 1000:.2f} km"
    ascent = page.page.locator("#summary [data-figure=ascent]").inner_text()
    assert ascent == f"{round(api['properties']['ascent_m'])} m"
    steps = page.page.locator("#instructions li").all_inner_texts()
    assert [s.split(" (")[0] for s in steps] == [i["text"] for i in api["properties"]["instructions"]]
    page.page.screenshot(path=SHOTS / "planner-route-desktop.png", full_page=True)


def test_the_language_switch_rewords_the_page_and_the_route(page):
    _plan_route(page)
    english = page.page.locator("#instructions li").first.inner_text()
    page.page.click("#lang-switch")
    page.page.wait_for_function("document.documentElement.lang === 'fr'")
    page.page.wait_for_function(f"document.querySelector('#instructions li').innerText !== {json.dumps(english)}",
                                timeout=WAIT_MS)
    assert page.page.locator("#plan-title").inner_text() == "Planifier"
    assert "lang=fr" in page.page.url
    assert "km" in page.page.locator("#summary [data-figure=distance]").inner_text()


def test_the_gpx_download_is_a_gpx_of_the_route(page):
    result = _plan_route(page)
    with page.page.expect_download() as got:
        page.page.click("#downloads a[data-format=gpx]")
    gpx = gpxpy.parse(Path(got.value.path()).read_text(encoding="utf-8"))
    length = sum(t.length_2d() for t in gpx.tracks)
    assert abs(length - result["properties"]["distance_m"]) < 0.01 * result["properties"]["distance_m"]
    fit = requests.get(page.page.get_attribute("#downloads a[data-format=fit]", "href"), timeout=60)
    assert fit.status_code == 200 and fit.content[8:12] == b".FIT"  # the FIT file header's signature
    formats = page.page.eval_on_selector_all("#downloads a", "links => links.map(a => a.dataset.format)")
    assert formats == ["gpx", "fit", "csv", "geojson", "pdf", "png"]


def test_a_plan_reopens_from_its_url(page, browser, server):
    first = _plan_route(page)
    url = page.page.url
    assert parse_qs(urlparse(url).query)["pts"]
    again = Page(browser, server)
    try:
        again.page.goto(url)
        reopened = again.wait_result()
        assert reopened["properties"]["distance_m"] == first["properties"]["distance_m"]
    finally:
        again.close()


def test_a_named_circuit_opens_from_the_list(page):
    page.open("?lang=fr")
    button = page.page.locator("#circuit-list button").first
    button.wait_for(timeout=WAIT_MS)
    circuit_id = button.get_attribute("data-circuit")
    button.click()
    result = page.wait_result()
    assert result["properties"]["id"] == circuit_id
    assert f"circuit={circuit_id}" in page.page.url
    assert page.page.locator("#chart svg").count() == 1


@pytest.mark.parametrize("case", ["no ways", "impossible round trip", "not a GPX"])
def test_bad_input_shows_the_apis_message(page, tmp_path, case):
    page.refusals = {400, 422}
    page.open("?lang=en")
    if case == "no ways":  # a field between Lens and Douai, 629 m from the nearest way of the graph
        page.page.evaluate("window.galibot.map.jumpTo({center: [2.955, 50.34], zoom: 14})")
        page.click_lonlat(2.955, 50.34)
        page.click_lonlat(2.96, 50.35)
        assert "points[0]" in page.error_text() and "nearest way" in page.error_text()
    elif case == "impossible round trip":
        page.page.check("input[name=mode][value=roundtrip]")
        page.page.fill("#distance", "900")
        page.page.dispatch_event("#distance", "change")
        page.click_lonlat(*LOUVRE)
        assert "900" in page.error_text() and "distance_km" in page.error_text()
    else:
        bad = tmp_path / "notes.gpx"
        bad.write_text("these are my notes, not a track")
        page.page.set_input_files("#gpx-file", str(bad))
        assert "file" in page.error_text()
    assert page.page.locator("#result").is_hidden()
    page.page.screenshot(path=SHOTS / f"planner-error-{case.replace(' ', '-')}.png")
    (SHOTS / f"planner-error-{case.replace(' ', '-')}.txt").write_text(page.error_text(), encoding="utf-8")


def test_a_phone_sees_the_map_and_the_panel(browser, server):
    phone = Page(browser, server, viewport=PHONE)
    try:
        phone.open("?lang=fr")
        phone.page.wait_for_selector("body[data-map=idle]", timeout=WAIT_MS)
        map_box = phone.page.locator("#map").bounding_box()
        assert map_box["width"] == PHONE["width"] and map_box["height"] > 300
        assert phone.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone.page.screenshot(path=SHOTS / "planner-start-phone.png")
    finally:
        phone.close()


def test_the_page_passes_axe(page):
    _plan_route(page)
    page.page.add_script_tag(path=str(AXE))
    found = page.page.evaluate("axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map("
                               "v => ({id: v.id, impact: v.impact, nodes: v.nodes.length})))")
    assert found == [], found
