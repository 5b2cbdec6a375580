"""Tests for service.mapview: local-only assets, escaping, and an offline browser run."""

from __future__ import annotations

import functools
import json
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import folium
import pytest

from service.mapview import STATUS_COLOURS, STATUS_LABELS, render_map

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_TEMPLATE = "${alert(2)} \\`+alert(3)+`"  # breaks out of JS template literals if unescaped
MALICIOUS = f"{XSS_SCRIPT}\n{XSS_IMG}\n{XSS_TEMPLATE}"
THUMB = "vendor/leaflet/images/marker-icon.png"  # any local image will do


def static_url(path: str) -> str:
    return "/static/" + path


def square(lon: float, lat: float, code: str, name: str) -> dict:
    ring = [[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat + 0.01], [lon, lat]]
    props = {
        "code": code,
        "name": name,
        "level": "committee",
        "kind": "residential",
        "parent_code": "310112001",
    }
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": props}


AREAS = {
    "type": "FeatureCollection",
    "features": [
        square(121.40, 31.10, "310112001001", "莘庄一村居委会"),
        square(121.41, 31.10, "310112001002", "莘庄二村居委会"),
        square(121.40, 31.11, "310112001003", f"西许{XSS_IMG}居委会"),
    ],
}


def report(rid: int, lon, lat, status: str, description: str, thumb_url=None) -> dict:
    return {
        "id": rid,
        "lon": lon,
        "lat": lat,
        "status": status,
        "status_label": STATUS_LABELS[status],
        "category_label": "消防通道堵塞",
        "description": description,
        "committee_name": "莘庄一村居委会",
        "created_at": "2024-05-01T02:03:04+00:00",
        "thumb_url": thumb_url,
        "detail_url": f"/reports/{rid}",
    }


REPORTS = [
    report(1, 121.405, 31.105, "submitted", "楼道堆放杂物"),
    report(2, 121.415, 31.105, "rectifying", MALICIOUS, thumb_url=static_url(THUMB)),
    report(3, 121.405, 31.115, "verified", "电动车违规充电"),
    report(4, 121.408, 31.102, "duplicate", "重复"),
    report(5, None, None, "submitted", "no location: skipped"),
]
MARKERS = 4  # reports with coordinates
MALICIOUS_MARKER = 1  # index among drawn markers


@pytest.fixture(scope="module")
def page_html() -> str:
    return render_map(AREAS, REPORTS, static_url=static_url)


def asset_urls(page: str) -> list[str]:
    scripts = re.findall(r"<script[^>]*\ssrc=[\"']([^\"']+)", page, re.IGNORECASE)
    links = re.findall(r"<link[^>]*\shref=[\"']([^\"']+)", page, re.IGNORECASE)
    return scripts + links


def popup_contents(page: str) -> list[str]:
    return [json.loads(s) for s in re.findall(r'\.bindPopup\(("(?:[^"\\]|\\.)*")', page)]


def test_page_references_only_local_assets(page_html):
    urls = asset_urls(page_html)
    assert static_url("vendor/leaflet/leaflet.js") in urls
    assert static_url("vendor/leaflet/leaflet.css") in urls
    assert [u for u in urls if re.match(r"^(?:[a-z]+:)?//", u, re.IGNORECASE)] == []
    for dropped in ("jquery", "bootstrap", "awesome", "fontawesome", "cdn."):
        assert dropped not in page_html.lower()


def test_referenced_local_assets_exist(page_html):
    for url in asset_urls(page_html):
        assert url.startswith("/static/")
        assert (STATIC_DIR / url.removeprefix("/static/")).is_file(), url
    css = (STATIC_DIR / "vendor/leaflet/leaflet.css").read_text()
    for image in re.findall(r"url\((images/[^)]+)\)", css):
        assert (STATIC_DIR / "vendor/leaflet" / image).is_file(), image


def test_folium_class_defaults_untouched(page_html):
    assert folium.Map.default_js[0][1].startswith("https://")


def test_page_shell(page_html):
    assert '<html lang="zh-CN">' in page_html
    assert "<title>火患地图</title>" in page_html
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in page_html
    assert "OpenStreetMap contributors" in page_html
    assert "fitBounds" in page_html
    for colour in STATUS_COLOURS.values():
        assert f"background:{colour}" in page_html
    assert "待受理" in page_html and "整改中" in page_html


def test_custom_tiles_and_center():
    page = render_map(
        AREAS,
        REPORTS[:1],
        static_url=static_url,
        tiles_url="/tiles/{z}/{x}/{y}.png",
        center=(31.2, 121.5),
        zoom=13,
    )
    assert '"/tiles/{z}/{x}/{y}.png"' in page
    assert "tile.openstreetmap.org" not in page
    assert "fitBounds" not in page
    assert "[31.2, 121.5]" in page and '"zoom": 13' in page


def test_empty_inputs_render():
    page = render_map({"type": "FeatureCollection", "features": []}, [], static_url=static_url)
    assert "L.map(" in page and "fitBounds" not in page


def test_user_text_is_escaped(page_html):
    for raw in (XSS_SCRIPT, XSS_IMG, "${alert", "`+alert"):
        assert raw not in page_html
    popups = popup_contents(page_html)
    assert len(popups) == MARKERS
    bad = popups[MALICIOUS_MARKER]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in bad
    assert "&lt;img src=x onerror=alert(1)&gt;" in bad
    assert "&#36;{alert(2)}" in bad and "&#92;&#96;" in bad
    assert "<script" not in bad and "`" not in bad and "$" not in bad
    assert '<a href="/reports/2">' in bad and f'<img src="/static/{THUMB}"' in bad
    assert "2024-05-01 10:03" in bad  # UTC shown in China time


def test_unsafe_urls_are_neutralised():
    evil = report(9, 121.405, 31.105, "accepted", "x", thumb_url='" onerror="alert(1)')
    evil["detail_url"] = " JavaScript:alert(1)"
    (content,) = popup_contents(render_map(AREAS, [evil], static_url=static_url))
    assert '<a href="#">' in content and '<img src="#"' in content
    assert "javascript" not in content.lower() and "onerror" not in content


class _Handler(SimpleHTTPRequestHandler):
    """Serves the page at / and files under /static/ from STATIC_DIR."""

    page = b""

    def do_GET(self):  # noqa: N802 (http.server API)
        if urlsplit(self.path).path != "/":
            return super().do_GET()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    def translate_path(self, path):
        path = urlsplit(path).path
        if not path.startswith("/static/"):
            return str(STATIC_DIR / "__not_found__")
        return super().translate_path(path.removeprefix("/static"))

    def log_message(self, *args):
        pass


@pytest.fixture
def served_page(page_html):
    handler = type("Handler", (_Handler,), {"page": page_html.encode()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(STATIC_DIR)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def offline_page(served_page, browser):
    """A Chromium page with every non-127.0.0.1 request aborted, plus event logs."""
    log = {"errors": [], "dialogs": [], "blocked": [], "failed": []}
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    page.on("pageerror", lambda exc: log["errors"].append(str(exc)))
    page.on("dialog", lambda dialog: (log["dialogs"].append(dialog.message), dialog.dismiss()))
    page.on("response", lambda r: r.status >= 400 and log["failed"].append(r.url))

    def gate(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            return route.continue_()
        log["blocked"].append(route.request.url)
        return route.abort("internetdisconnected")

    page.route("**/*", gate)
    page.goto(served_page, wait_until="load")
    yield page, log
    context.close()


@pytest.mark.browser
def test_map_renders_offline_in_chromium(offline_page):
    page, log = offline_page
    page.wait_for_selector("path.hazard-report")
    assert page.evaluate("() => L.version") == "1.9.4"
    assert page.evaluate("() => window[document.querySelector('.folium-map').id] instanceof L.Map")
    assert page.locator("path.hazard-report").count() == MARKERS
    assert page.locator(".leaflet-overlay-pane path").count() == MARKERS + len(AREAS["features"])
    assert page.locator(".hazard-legend").inner_text().count("\n") >= len(STATUS_COLOURS)
    assert log["blocked"], "tile requests were expected (and blocked)"
    assert {urlsplit(u).hostname for u in log["blocked"]} == {"tile.openstreetmap.org"}
    zoom = page.evaluate("() => window[document.querySelector('.folium-map').id].getZoom()")
    assert {urlsplit(u).path.split("/")[1] for u in log["blocked"]} == {str(zoom)}  # no tiles pre-fit
    assert log["failed"] == [] and log["errors"] == []


@pytest.mark.browser
def test_popup_and_tooltip_show_user_text_literally(offline_page):
    page, log = offline_page
    page.locator("path.hazard-report").nth(MALICIOUS_MARKER).click()
    content = page.locator(".leaflet-popup-content")
    content.wait_for()
    text = content.inner_text()
    for raw in (XSS_SCRIPT, XSS_IMG, XSS_TEMPLATE, "整改中", "2024-05-01 10:03"):
        assert raw in text
    assert content.locator("script").count() == 0
    assert content.locator("img").count() == 1
    page.wait_for_function("() => document.querySelector('.leaflet-popup-content img').complete")
    assert content.locator("img").evaluate("img => img.naturalWidth") > 0
    assert content.locator("a").get_attribute("href") == "/reports/2"

    page.keyboard.press("Escape")
    page.locator(".leaflet-overlay-pane path:not(.hazard-report)").nth(2).hover(position={"x": 6, "y": 6})
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    assert f"西许{XSS_IMG}居委会" in tooltip.inner_text() and "310112001003" in tooltip.inner_text()
    page.wait_for_timeout(300)  # give any injected onerror handler a chance to fire
    assert log["dialogs"] == [] and log["errors"] == []
