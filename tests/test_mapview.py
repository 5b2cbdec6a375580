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

from service.maps.page import STATUS_COLOURS, STATUS_LABELS, inert, render_map, safe_url, script_json
from service.maps.tiles import PROVIDERS, TileSource, provider_of

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_TEMPLATE = "${alert(2)} \\`+alert(3)+`"  # breaks out of JS template literals if unescaped
SSTI_PAYLOADS = ["{{7*7}}", "{{ cycler.__init__.__globals__ }}", "{% raw %}", "{#", "${7*7}", "<script>",
                 "{{7*7}}{% raw %}", "x }} {% endraw %} {{ 7*7 }} {# %}"]
MALICIOUS = f"{XSS_SCRIPT}\n{XSS_IMG}\n{XSS_TEMPLATE}\n{{{{7*7}}}}{{% raw %}}"
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
        "created_local": "2024-05-01 10:03",
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


def map_data(page: str) -> dict:
    (block,) = re.findall(r'<script type="application/json" id="hazard-map-data">(.*?)</script>', page, re.S)
    return json.loads(block)


def test_page_references_only_local_assets(page_html):
    urls = asset_urls(page_html)
    for asset in ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "map.js", "map.css"):
        assert static_url(asset) in urls
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
    assert json.dumps("© OpenStreetMap 贡献者")[1:-1] in page_html  # folium writes \\u escapes
    assert "fitBounds" in page_html
    data = map_data(page_html)
    assert data["legend"] == [[STATUS_LABELS[s], c] for s, c in STATUS_COLOURS.items()]
    assert data["labels"]["legend"] == "隐患状态" and data["map"] in page_html


def test_custom_tiles_and_center():
    page = render_map(
        AREAS,
        REPORTS[:1],
        static_url=static_url,
        tiles=TileSource("/tiles/{z}/{x}/{y}.png", "本地瓦片", "wgs84"),
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
    assert map_data(page)["reports"] == []


def test_user_text_stays_data(page_html):
    """User text is only in the JSON block, with <, > and & escaped, and decodes back to itself."""
    for raw in (XSS_SCRIPT, XSS_IMG, "<img"):
        assert raw not in page_html
    data = map_data(page_html)
    assert len(data["reports"]) == MARKERS
    bad = data["reports"][MALICIOUS_MARKER]
    assert bad["description"] == MALICIOUS
    assert bad["detail"] == "/reports/2" and bad["thumb"] == static_url(THUMB)
    assert bad["created"] == "2024-05-01 10:03"
    assert [f["properties"]["name"] for f in data["areas"]["features"]][2] == f"西许{XSS_IMG}居委会"
    assert "bindPopup" not in page_html.split('id="hazard-map-data"')[0]  # no report reaches folium


@pytest.mark.parametrize("payload", SSTI_PAYLOADS)
def test_template_syntax_in_data_is_never_evaluated(payload):
    """Jinja in a description or a committee name is shipped as text: no 49, no error."""
    areas = {"type": "FeatureCollection", "features": [square(121.40, 31.10, "310112001001", payload)]}
    page = render_map(areas, [report(1, 121.405, 31.105, "submitted", payload)], static_url=static_url)
    data = map_data(page)
    assert data["reports"][0]["description"] == payload
    assert data["reports"][0]["committee"] == "莘庄一村居委会"
    assert data["areas"]["features"][0]["properties"]["name"] == payload
    assert script_json(payload)[1:-1] in page  # shipped as sent
    assert not re.search(r"(?<![0-9a-f])49(?![0-9a-f])", page)  # element ids are hex; a lone 49 is 7*7


@pytest.mark.parametrize("setting", ["/t/{{7*7}}/{z}/{x}/{y}.png", "/t/{%raw%}/{z}.png", "/t/{#/{z}.png"])
def test_template_syntax_in_settings_is_refused(setting):
    with pytest.raises(ValueError, match="template delimiters"):
        render_map(AREAS, [], static_url=static_url, tiles=TileSource(setting, "x", "wgs84"))


def test_inert_passes_plain_text_and_tile_placeholders():
    assert inert("https://t/{z}/{x}/{y}.png") == "https://t/{z}/{x}/{y}.png"
    assert inert("100% {x}") == "100% {x}"


def test_unsafe_urls_are_neutralised():
    evil = report(9, 121.405, 31.105, "accepted", "x", thumb_url='" onerror="alert(1)')
    evil["detail_url"] = " JavaScript:alert(1)"
    (item,) = map_data(render_map(AREAS, [evil], static_url=static_url))["reports"]
    assert item["detail"] == "#" and item["thumb"] is None
    for url in ("//evil.example/x", "data:text/html,x", "/o\nk", "/\\evil.example"):
        assert safe_url(url) is None, url
    assert safe_url("/photos/a.jpg") == "/photos/a.jpg"


def test_script_json_cannot_close_the_script():
    text = script_json({"a": "</script><script>alert(1)</script>&\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><script>alert(1)</script>&\u2028"}


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
    for raw in (XSS_SCRIPT, XSS_IMG, XSS_TEMPLATE, "{{7*7}}{% raw %}", "整改中", "2024-05-01 10:03"):
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


def test_the_credit_follows_the_tile_provider():
    assert provider_of("https://tile.openstreetmap.org/{z}/{x}/{y}.png") is PROVIDERS["osm"]
    assert provider_of("https://webrd01.is.autonavi.com/appmaptile?x={x}") is PROVIDERS["amap"]
    assert provider_of("https://evil-autonavi.com/{z}") is None  # a suffix match is by whole labels
    page = render_map(AREAS, [], static_url=static_url, tiles=PROVIDERS["amap"])
    assert json.dumps("© 高德地图")[1:-1] in page and "OpenStreetMap" not in page
