"""The web planner page (issue 18): its weight, the time to a first route, the accessibility check, screenshots.

``python -m bench.run planner``. The page is served as ``make run`` serves it (``python -m api.serve``:
nginx in front of gunicorn, on loopback, the whole basin), and driven by Debian's Chromium through Playwright.
The baseline in the same run is the API call the page makes, ``POST /v1/routes`` for the same points.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import requests

from bench.hardening import Served
from routing.settings import Settings
from tests.conftest import BASE_11_19, LOUVRE
from tests.test_web_planner import AXE, CHROMIUM_ARGS, DESKTOP, PHONE, _browser_path

ROOT = Path(__file__).resolve().parents[1]
PNG_DIR = ROOT / "docs" / "img"
RUNS = 10
PLAN = (f"?lang=fr&mode=route&profile=bike&pts={LOUVRE[0]},{LOUVRE[1]};{BASE_11_19[0]},{BASE_11_19[1]}")
#: The page's own resources and what the browser reports of each (encodedBodySize: the bytes on the wire).
WEIGHT_JS = """() => performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))
  .map(e => ({name: e.name, wire: e.encodedBodySize, body: e.decodedBodySize, type: e.initiatorType}))"""


def _kind(name: str) -> str | None:
    path = name.split("?")[0]
    if path.endswith((".js", ".mjs")):
        return "JavaScript"
    if path.endswith(".css"):
        return "CSS"
    return None


def page_weight(browser, base: str) -> dict[str, tuple[float, float]]:
    """KB on the wire (gzip from nginx) and decoded, by kind, for a first visit with an empty cache."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{base}/?lang=fr")
    page.wait_for_selector("body[data-map=idle]", timeout=120_000)
    totals: dict[str, list[float]] = {"JavaScript": [0, 0], "CSS": [0, 0]}
    for entry in page.evaluate(WEIGHT_JS):
        kind = _kind(entry["name"])
        if kind:
            totals[kind][0] += entry["wire"] / 1000
            totals[kind][1] += entry["body"] / 1000
    context.close()
    return {k: (round(v[0], 1), round(v[1], 1)) for k, v in totals.items()}


def first_route_ms(browser, base: str) -> list[float]:
    """Milliseconds from navigation to the route drawn, opening a plan's link in a fresh browser context."""
    out = []
    for _ in range(RUNS):
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        page.goto(f"{base}/{PLAN}")
        page.wait_for_selector("body[data-result=ready]", timeout=120_000)
        out.append(float(page.evaluate("Number(document.body.dataset.resultAt)")))
        context.close()
    return out


def api_ms(base: str) -> list[float]:
    """The baseline: the page's own API call, timed from Python."""
    out = []
    for _ in range(RUNS):
        started = time.perf_counter()
        requests.post(f"{base}/v1/routes", json={"points": [LOUVRE, BASE_11_19], "profile": "bike", "lang": "fr"},
                      timeout=60).raise_for_status()
        out.append((time.perf_counter() - started) * 1000)
    return out


def accessibility(browser, base: str) -> list[dict]:
    """axe-core's violations on the page with a route planned."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{base}/{PLAN}")
    page.wait_for_selector("body[data-result=ready]", timeout=120_000)
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map("
                          "v => ({id: v.id, impact: v.impact, nodes: v.nodes.length})))")
    context.close()
    return found


def screenshots(browser, base: str) -> list[str]:
    """The README's pictures: a planned route on a desktop and on a phone."""
    names = []
    for name, viewport in (("planner-desktop.png", DESKTOP), ("planner-phone.png", PHONE)):
        context = browser.new_context(viewport=viewport, device_scale_factor=1)
        page = context.new_page()
        page.goto(f"{base}/{PLAN}")
        page.wait_for_selector("body[data-result=ready]", timeout=120_000)
        page.wait_for_selector("body[data-map=idle]", timeout=120_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(PNG_DIR / name))
        names.append(f"docs/img/{name}")
        context.close()
    return names


def _axe_version() -> str:
    return json.loads((AXE.parent / "package.json").read_text())["version"]


def run(cfg: Settings) -> str:
    from playwright.sync_api import sync_playwright

    path = _browser_path()
    if path is None:
        raise RuntimeError("the planner benchmark needs Chromium: make install as root installs it")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        served = Served(cfg, Path(tmp))
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            weight = page_weight(browser, served.base)
            api = api_ms(served.base)
            page = first_route_ms(browser, served.base)
            violations = accessibility(browser, served.base)
            pictures = screenshots(browser, served.base)
        finally:
            browser.close()
            served.stop()
    p50_page, p50_api = statistics.median(page), statistics.median(api)
    found = ", ".join(f"{v['id']} ({v['impact']}, {v['nodes']})" for v in violations) or "none"
    return "\n".join([
        "## The web planner page (issue 18)",
        "",
        "`python -m bench.run planner`: the page at `/` as `make run` serves it (nginx, gunicorn, the whole basin, on "
        "loopback), in Debian's Chromium driven by Playwright, software WebGL (no GPU).",
        "",
        "| figure | value |",
        "|---|---|",
        *(f"| {kind}: on the wire (gzip) / decoded | {w:,.1f} KB / {d:,.1f} KB |" for kind, (w, d) in weight.items()),
        f"| time to a first route: opening a plan's link (Louvre-Lens → Base 11/19, bike) in a fresh browser, to "
        f"the route drawn, p50 / max of {RUNS} | **{p50_page:,.0f} ms** / {max(page):,.0f} ms |",
        f"| baseline: the page's API call alone, `POST /v1/routes` (cached after the first), p50 / max | "
        f"{p50_api:,.1f} ms / {max(api):,.1f} ms (the page ×{p50_page / p50_api:,.0f}: loading MapLibre, "
        "the style, tiles and overlays) |",
        f"| axe-core {_axe_version()} violations with a route planned | {found} |",
        "",
        "Screenshots: " + ", ".join(f"`{p}`" for p in pictures) + ".",
    ])
