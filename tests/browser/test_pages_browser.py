"""The report form and the map driven in Debian's Chromium over real HTTP, with the internet cut off."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import expect

from tests.support.browser import XSS_IMG, assert_clean, is_report_api, listed_reports, located, photo_file, town_name
from tests.support.pages_browser import MAP, create_report


@pytest.mark.browser
def test_report_form_sends_a_located_report(open_page, http, spot, tmp_path):
    town = town_name(http, spot)
    page, log = open_page("/report", **located(spot))
    expect(page.locator("#geo-status")).to_contain_text("已定位，精度约 15 米")
    page.set_input_files("#photo", photo_file(tmp_path))
    expect(page.locator("#preview")).to_be_visible()
    page.select_option("#category", "ebike_charging")
    page.fill("#description", "3号楼一楼楼道内有电动车充电")
    page.click("#submit")
    result = page.locator("#result")
    expect(result).to_contain_text(spot["name"])
    expect(result).to_contain_text(town)
    expect(result).to_have_class("ok")
    expect(page.locator("#submit")).to_be_enabled()

    (report,) = listed_reports(http)
    assert report["location_source"] == "device"
    assert report["committee"]["code"] == spot["code"]
    assert report["category"] == "ebike_charging"
    assert report["description"] == "3号楼一楼楼道内有电动车充电"
    assert report["accuracy_m"] == 15
    assert report["location"]["lon"] == pytest.approx(spot["lon"], abs=1e-6)
    assert report["location"]["lat"] == pytest.approx(spot["lat"], abs=1e-6)
    assert page.locator("#report-form").get_attribute("data-report-id") == report["id"]
    assert log.blocked == []
    assert_clean(log)


@pytest.mark.browser
def test_report_form_without_category_shows_api_error(open_page, http, spot, tmp_path):
    page, log = open_page("/report", **located(spot))
    expect(page.locator("#geo-status")).to_contain_text("已定位")
    page.set_input_files("#photo", photo_file(tmp_path))
    page.fill("#description", "没选类别")
    page.click("#submit")
    result = page.locator("#result")
    expect(result).to_have_class("error")
    expect(result).to_contain_text("类别")
    assert "上报成功" not in result.inner_text()
    assert listed_reports(http) == []
    assert log.blocked == []
    assert_clean(log, expected_url=is_report_api)  # Chromium logs the 422 response itself


@pytest.mark.browser
def test_report_form_falls_back_to_exif_gps(open_page, http, spot, tmp_path):
    page, log = open_page("/report")  # geolocation not granted
    expect(page.locator("#geo-status")).to_contain_text("无法获取位置")
    assert page.input_value("#lon") == "" and page.input_value("#lat") == ""
    page.set_input_files("#photo", photo_file(tmp_path, gps=(spot["lon"], spot["lat"])))
    page.select_option("#category", "combustibles")
    page.click("#submit")
    expect(page.locator("#result")).to_contain_text(spot["name"])

    (report,) = listed_reports(http)
    assert report["location_source"] == "exif"
    assert report["committee"]["code"] == spot["code"]
    assert report["accuracy_m"] is None
    assert log.blocked == []
    assert_clean(log)


@pytest.mark.browser
def test_map_draws_tiles_and_loads_popups_on_demand(open_page, http, spot, accounts):
    create_report(http, spot["lon"], spot["lat"], XSS_IMG, "combustibles")
    # The second report sits 0.02° east, in another committee.
    other = create_report(http, spot["lon"] + 0.02, spot["lat"], "楼道堆放杂物", "exit_blocked")
    assert other["committee"]["code"] != spot["code"]
    page, log = open_page("/map", extra_http_headers={"Authorization": f"Bearer {accounts['admin']['token']}"})

    assert page.evaluate("() => window.L.version") == "1.9.4"
    scripts = page.eval_on_selector_all("script[src]", "els => els.map(e => e.src)")
    assert any(urlsplit(s).path == "/static/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"
               for s in scripts)
    assert all(urlsplit(s).hostname == "127.0.0.1" for s in scripts)
    # The district view: committees from tiles, the two reports counted in grid cells (no single points).
    page.wait_for_selector("path.hazard-committee")
    page.wait_for_selector("path.hazard-cluster")
    assert page.locator("path.hazard-report").count() == 0
    assert page.locator("path.hazard-committee").count() >= 10

    page.evaluate(f"() => {MAP}.setView([{spot['lat']}, {spot['lon']}], 17, {{animate: false}})")
    marker = page.locator("path.hazard-report")
    marker.first.wait_for()
    assert marker.count() == 1  # 0.02° east is off screen at z17
    marker.first.click()
    content = page.locator(".leaflet-popup-content .hazard-popup a")
    content.wait_for()
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text(XSS_IMG)
    expect(popup).to_contain_text(spot["name"])
    assert popup.locator("img").count() == 1  # the photo thumbnail, not the injected tag
    assert urlsplit(popup.locator("img").get_attribute("src")).path.startswith("/photos/")
    assert page.evaluate("() => document.querySelectorAll('[onerror]').length") == 0

    assert log.blocked, "tile requests were expected (and blocked)"
    assert {urlsplit(u).hostname for u in log.blocked} == {"tile.openstreetmap.org"}
    assert_clean(log)


def test_language_switch_link_and_html_lang(live_server):
    chinese = requests.get(live_server + "/report", timeout=10)
    assert chinese.status_code == 200
    assert '<html lang="zh-CN">' in chinese.text
    assert '<a href="/report?lang=en">English</a>' in chinese.text

    english = requests.get(live_server + "/report?lang=en", timeout=10)
    assert english.status_code == 200
    assert '<html lang="en">' in english.text
    assert '<a href="/report?lang=zh_CN">中文</a>' in english.text
    assert ">English</a>" not in english.text
    assert english.cookies.get("lang") == "en"
