"""Tests for service.maps.page: a folium shell with local assets only, settings checked, data shipped as JSON."""

from __future__ import annotations

import json
import re

import folium
import pytest

from service.core.tiles import PROVIDERS, TileSource, provider_of
from service.maps.page import STATUS_COLOURS, STATUS_LABELS, inert, render_map, script_json
from tests.support.paths import ROOT

STATIC_DIR = ROOT / "static"
SSTI_PAYLOADS = ["{{7*7}}", "{{ cycler.__init__.__globals__ }}", "{% raw %}", "{#", "${7*7}", "<script>",
                 "{{7*7}}{% raw %}", "x }} {% endraw %} {{ 7*7 }} {# %}"]
FIT = [[31.0, 121.3], [31.2, 121.5]]


def static_url(path: str) -> str:
    return "/static/" + path


def config(**filter_values) -> dict:
    return {"tiles": {"reports": "/tiles/reports/{z}/{x}/{y}.pbf"}, "filter": filter_values}


@pytest.fixture(scope="module")
def page_html() -> str:
    return render_map(config(status="open"), static_url=static_url, fit=FIT)


def asset_urls(page: str) -> list[str]:
    scripts = re.findall(r"<script[^>]*\ssrc=[\"']([^\"']+)", page, re.IGNORECASE)
    links = re.findall(r"<link[^>]*\shref=[\"']([^\"']+)", page, re.IGNORECASE)
    return scripts + links


def map_data(page: str) -> dict:
    (block,) = re.findall(r'<script type="application/json" id="hazard-map-data">(.*?)</script>', page, re.S)
    return json.loads(block)


def test_page_references_only_local_assets(page_html):
    urls = asset_urls(page_html)
    for asset in ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "map.js", "map.css",
                  "vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"):
        assert static_url(asset) in urls
    assert [u for u in urls if re.match(r"^(?:[a-z]+:)?//", u, re.IGNORECASE)] == []
    for dropped in ("jquery", "bootstrap", "awesome", "fontawesome", "cdn."):
        assert dropped not in page_html.lower()
    for url in urls:
        assert (STATIC_DIR / url.removeprefix("/static/")).is_file(), url


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
    assert data["tiles"]["reports"] == "/tiles/reports/{z}/{x}/{y}.pbf" and data["filter"] == {"status": "open"}


def test_custom_tiles_and_center():
    local = TileSource("/tiles/{z}/{x}/{y}.png", "本地瓦片", "wgs84")
    page = render_map(config(), static_url=static_url, bases={"wgs84": local},
                      center=(31.2, 121.5), zoom=13)
    assert '"/tiles/{z}/{x}/{y}.png"' in page
    assert "tile.openstreetmap.org" not in page
    assert "fitBounds" not in page
    assert "[31.2, 121.5]" in page and '"zoom": 13' in page


def test_no_boundary_no_fit():
    page = render_map(config(), static_url=static_url)
    assert "L.map(" in page and "fitBounds" not in page


@pytest.mark.parametrize("payload", SSTI_PAYLOADS)
def test_template_syntax_in_data_is_never_evaluated(payload):
    """Jinja in a filter value reaches the page as text: no 49, no error."""
    page = render_map(config(committee=payload), static_url=static_url)
    assert map_data(page)["filter"]["committee"] == payload
    assert script_json(payload)[1:-1] in page  # shipped as sent
    assert not re.search(r"(?<![0-9a-f])49(?![0-9a-f])", page)  # element ids are hex; a lone 49 is 7*7


@pytest.mark.parametrize("setting", ["/t/{{7*7}}/{z}/{x}/{y}.png", "/t/{%raw%}/{z}.png", "/t/{#/{z}.png"])
def test_template_syntax_in_settings_is_refused(setting):
    with pytest.raises(ValueError, match="template delimiters"):
        render_map(config(), static_url=static_url, bases={"wgs84": TileSource(setting, "x", "wgs84")})


def test_inert_passes_plain_text_and_tile_placeholders():
    assert inert("https://t/{z}/{x}/{y}.png") == "https://t/{z}/{x}/{y}.png"
    assert inert("100% {x}") == "100% {x}"


def test_script_json_cannot_close_the_script():
    text = script_json({"a": "</script><script>alert(1)</script>&\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><script>alert(1)</script>&\u2028"}


def test_the_credit_follows_the_tile_provider():
    assert provider_of("https://tile.openstreetmap.org/{z}/{x}/{y}.png") is PROVIDERS["osm"]
    assert provider_of("https://webrd01.is.autonavi.com/appmaptile?x={x}") is PROVIDERS["amap"]
    assert provider_of("https://evil-autonavi.com/{z}") is None  # a suffix match is by whole labels
    page = render_map(config(), static_url=static_url, bases={"gcj02": PROVIDERS["amap"]})
    assert json.dumps("© 高德地图")[1:-1] in page and "OpenStreetMap" not in page
