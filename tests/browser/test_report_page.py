"""The report page in Debian's Chromium over real HTTP, with the internet cut off: map picking on OSM (WGS-84)
and AMap (GCJ-02) tiles, several photos, upload progress, and the outbox that resends after a network failure."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from geo.coords import distance_m, gcj02_to_wgs84, wgs84_to_gcj02
from tests.support.browser import assert_clean, is_report_api, listed_reports, located, photo_file, town_name
from tests.support.report_page import (
    FIRST_BACKOFF_MS,
    RETRY_WAIT_MS,
    SAVED_OFFLINE,
    api_posts,
    volunteer_on_report_page,
)

pytestmark = pytest.mark.browser

PICK_ZOOM = 21  # half a pixel is ~3e-7° here, so a click at the centre lands within 1e-6° of it
CLIENT_ID = re.compile(rb'name="client_report_id"\r\n\r\n([^\r]+)\r\n')


@pytest.fixture
def open_page(open_page):
    """These tests watch and route the page's own requests: no service worker in between (test_field_browser.py
    tests the worker), since page.route and page.on("request") do not see what passes through one."""
    return lambda path, **options: open_page(path, **{"service_workers": "block"} | options)


def enter_map_mode(page, basemap: str) -> None:
    page.click("#map-toggle")
    expect(page.locator("#map-toggle")).to_have_attribute("aria-pressed", "true")
    page.wait_for_function("() => window.hazardMap !== undefined")
    page.check(f"input[name=basemap][value={basemap}]")


def click_map_at(page, lon: float, lat: float) -> tuple[float, float]:
    """Centre the map on (lon, lat) in the shown tiles' system and click its centre pixel.

    Returns the point Leaflet maps that pixel to, computed in the page independently of the click."""
    page.evaluate("([lat, lon, z]) => window.hazardMap.setView([lat, lon], z, {animate: false})",
                  [lat, lon, PICK_ZOOM])
    page.locator("#pick-map").scroll_into_view_if_needed()
    box = page.locator("#pick-map").bounding_box()
    x, y = round(box["x"] + box["width"] / 2), round(box["y"] + box["height"] / 2)
    clicked = page.evaluate("""([x, y]) => {
        const el = document.getElementById('pick-map'), r = el.getBoundingClientRect();
        const ll = window.hazardMap.containerPointToLatLng([x - r.left - el.clientLeft, y - r.top - el.clientTop]);
        return [ll.lng, ll.lat];
    }""", [x, y])
    page.mouse.click(x, y)
    expect(page.locator("#location_source")).to_have_value("map")
    return clicked[0], clicked[1]


def fill_and_submit(page, photo: str, category: str = "combustibles") -> None:
    page.set_input_files("#photo", photo)
    expect(page.locator("#preview img")).to_have_count(1)
    page.select_option("#category", category)
    page.click("#submit")


@pytest.mark.parametrize(("basemap", "crs", "label"), [("amap", "gcj02", "GCJ-02"), ("osm", "wgs84", "WGS-84")])
def test_map_pick_sends_the_shown_tiles_coordinates(open_page, http, spot, tmp_path, basemap, crs, label):
    town = town_name(http, spot)
    target = wgs84_to_gcj02(spot["lon"], spot["lat"]) if crs == "gcj02" else (spot["lon"], spot["lat"])
    page, log = open_page("/report")
    enter_map_mode(page, basemap)
    clicked = click_map_at(page, *target)
    assert distance_m(*clicked, *target) < 0.05
    expect(page.locator("#crs")).to_have_value(crs)
    expect(page.locator("#map-coords")).to_contain_text(label)
    expect(page.locator("#map-coords")).to_contain_text(f"{clicked[1]:.6f}")
    fill_and_submit(page, photo_file(tmp_path))
    expect(page.locator("#result")).to_contain_text(spot["name"])
    expect(page.locator("#result")).to_contain_text(town)

    (report,) = listed_reports(http)
    assert report["location_source"] == "map"
    assert report["submitted"]["crs"] == crs
    assert report["submitted"]["lon"] == pytest.approx(target[0], abs=1e-6)
    assert report["submitted"]["lat"] == pytest.approx(target[1], abs=1e-6)
    assert report["submitted"]["lon"] == pytest.approx(clicked[0], abs=1e-7)
    assert report["submitted"]["lat"] == pytest.approx(clicked[1], abs=1e-7)
    assert distance_m(report["location"]["lon"], report["location"]["lat"], spot["lon"], spot["lat"]) <= 0.5
    expected_wgs = gcj02_to_wgs84(*clicked) if crs == "gcj02" else clicked
    assert distance_m(report["location"]["lon"], report["location"]["lat"], *expected_wgs) < 0.05
    assert report["accuracy_m"] is None
    assert report["committee"]["code"] == spot["code"]
    assert {urlsplit(u).hostname for u in log.blocked} <= {
        "tile.openstreetmap.org", "webrd01.is.autonavi.com", "webrd02.is.autonavi.com",
        "webrd03.is.autonavi.com", "webrd04.is.autonavi.com"}
    assert_clean(log)


def test_switching_tiles_keeps_the_marker_on_the_ground_and_leaving_restores_the_device(open_page, spot):
    page, log = open_page("/report", **located(spot))
    expect(page.locator("#geo-status")).to_contain_text("已定位")
    enter_map_mode(page, "osm")
    # The map opens on the device position (OSM tiles: WGS-84).
    centre = page.evaluate("() => { const c = window.hazardMap.getCenter(); return [c.lng, c.lat]; }")
    assert distance_m(*centre, spot["lon"], spot["lat"]) < 1.5  # Leaflet rounds the view to whole pixels
    click_map_at(page, spot["lon"], spot["lat"])
    wgs = float(page.input_value("#lon")), float(page.input_value("#lat"))

    page.check("input[name=basemap][value=amap]")
    expect(page.locator("#crs")).to_have_value("gcj02")
    expect(page.locator("#map-coords")).to_contain_text("GCJ-02")
    gcj = float(page.input_value("#lon")), float(page.input_value("#lat"))
    assert gcj == pytest.approx(wgs84_to_gcj02(*wgs), abs=2e-7)
    assert distance_m(*gcj02_to_wgs84(*gcj), *wgs) < 0.05

    page.check("input[name=basemap][value=osm]")
    expect(page.locator("#crs")).to_have_value("wgs84")
    assert (float(page.input_value("#lon")), float(page.input_value("#lat"))) == pytest.approx(wgs, abs=2e-7)

    page.click("#map-toggle")
    expect(page.locator("#map-box")).to_be_hidden()
    expect(page.locator("#location_source")).to_have_value("device")
    expect(page.locator("#accuracy_m")).to_have_value("15")
    assert float(page.input_value("#lon")) == pytest.approx(spot["lon"], abs=1e-9)
    assert_clean(log)


def test_js_coordinate_port_matches_geo_coords(open_page):
    page, log = open_page("/report")
    points = [(121.38, 31.11), (121.2567, 31.0234), (116.39, 39.9), (-0.1, 51.5)]
    for lon, lat in points:
        fwd, inv = page.evaluate("""([lon, lat]) => [window.HazardCoords.wgs84ToGcj02(lon, lat),
                                                    window.HazardCoords.gcj02ToWgs84(lon, lat)]""", [lon, lat])
        assert fwd == pytest.approx(wgs84_to_gcj02(lon, lat), abs=1e-12)
        assert inv == pytest.approx(gcj02_to_wgs84(lon, lat), abs=1e-12)
    assert_clean(log)


def test_offline_report_waits_in_the_outbox_and_goes_out_when_online(open_page, http, spot, tmp_path):
    page, log = open_page("/report", **located(spot))
    expect(page.locator("#geo-status")).to_contain_text("已定位")
    outbox = page.locator("#outbox-status")
    expect(outbox).to_have_attribute("data-count", "0")
    page.context.set_offline(True)
    fill_and_submit(page, photo_file(tmp_path))
    expect(page.locator("#result")).to_have_text(SAVED_OFFLINE)
    expect(outbox).to_have_attribute("data-count", "1")
    expect(outbox).to_contain_text("1")
    expect(page.locator("#submit")).to_be_enabled()
    assert listed_reports(http) == []

    page.context.set_offline(False)  # Chromium fires "online" for this
    expect(page.locator("#result")).to_contain_text(spot["name"], timeout=RETRY_WAIT_MS)
    expect(outbox).to_have_attribute("data-count", "0")
    expect(outbox).to_be_hidden()
    (report,) = listed_reports(http)
    assert report["location_source"] == "device" and report["committee"]["code"] == spot["code"]
    assert page.locator("#report-form").get_attribute("data-report-id") == report["id"]

    posts = api_posts(page)
    page.reload(wait_until="load")
    expect(outbox).to_have_attribute("data-count", "0")
    page.evaluate("() => window.dispatchEvent(new Event('online'))")  # a flush finds nothing to send
    expect(page.locator("#geo-status")).to_contain_text("已定位")
    assert posts == []
    assert len(listed_reports(http)) == 1
    assert_clean(log, expected_url=is_report_api)  # Chromium logs the failed offline request


def test_lost_response_is_retried_with_the_same_id_and_stored_once(open_page, http, spot, tmp_path):
    page, log = open_page("/report", fake_clock=True, **located(spot))
    expect(page.locator("#geo-status")).to_contain_text("已定位")
    bodies, statuses = [], []

    def lose_first_response(route):
        bodies.append(route.request.post_data_buffer)
        if len(bodies) == 1:
            statuses.append(route.fetch().status)  # the server stores the report ...
            route.abort("connectionreset")  # ... but the phone never hears back
        else:
            route.fallback()

    page.route("**/api/v1/reports", lose_first_response)
    response_statuses = []
    page.on("response", lambda r: is_report_api(r.url) and response_statuses.append(r.status))
    fill_and_submit(page, photo_file(tmp_path))
    expect(page.locator("#result")).to_have_text(SAVED_OFFLINE)
    expect(page.locator("#outbox-status")).to_have_attribute("data-count", "1")
    assert statuses == [201] and len(listed_reports(http)) == 1

    # The backoff timer resends it (the page's clock is moved on, not waited for); the server answers with
    # the report it already has.
    page.clock.run_for(FIRST_BACKOFF_MS)
    expect(page.locator("#result")).to_contain_text(spot["name"])
    expect(page.locator("#outbox-status")).to_have_attribute("data-count", "0")
    assert response_statuses == [200]
    assert len(bodies) == 2
    assert CLIENT_ID.search(bodies[0]).group(1) == CLIENT_ID.search(bodies[1]).group(1)
    (report,) = listed_reports(http)
    assert report["committee"]["code"] == spot["code"]
    assert page.locator("#report-form").get_attribute("data-report-id") == report["id"]
    # The next report gets a fresh id.
    assert page.input_value("#client_report_id").encode() != CLIENT_ID.search(bodies[0]).group(1)
    assert_clean(log, expected_url=is_report_api)


def test_progress_bar_reaches_100_percent(open_page, http, spot, tmp_path):
    page, log = open_page("/report", **located(spot))
    expect(page.locator("#geo-status")).to_contain_text("已定位")
    fill_and_submit(page, photo_file(tmp_path, size=(2000, 1500)))
    expect(page.locator("#result")).to_contain_text(spot["name"])
    expect(page.locator("#upload")).to_be_visible()
    expect(page.locator("#progress-text")).to_have_text("100%")
    assert page.evaluate("() => { const p = document.getElementById('progress'); return p.value === p.max; }")
    assert len(listed_reports(http)) == 1
    assert_clean(log)


def test_more_than_three_photos_are_refused_before_sending(open_page, http, spot, tmp_path):
    page, log = open_page("/report", **located(spot))
    expect(page.locator("#geo-status")).to_contain_text("已定位")
    posts = api_posts(page)
    four = [photo_file(tmp_path, f"p{i}.jpg", colour=(40 * i, 60, 40)) for i in range(4)]
    page.set_input_files("#photo", four)
    expect(page.locator("#photo-status")).to_contain_text("每条上报最多 3 张照片")
    expect(page.locator("#preview")).to_be_hidden()
    page.select_option("#category", "combustibles")
    page.click("#submit")
    expect(page.locator("#result")).to_have_text("请至少拍摄或选择一张隐患照片。")
    expect(page.locator("#result")).to_have_class("error")

    # Photos add up over several picks (a phone camera gives one per pick), to at most three.
    page.set_input_files("#photo", four[:2])
    expect(page.locator("#preview img")).to_have_count(2)
    expect(page.locator("#photo-status")).to_be_empty()
    page.set_input_files("#photo", four[2:])
    expect(page.locator("#photo-status")).to_contain_text("每条上报最多 3 张照片")
    expect(page.locator("#preview img")).to_have_count(2)
    assert posts == []
    assert listed_reports(http) == []

    page.set_input_files("#photo", four[2])
    expect(page.locator("#preview img")).to_have_count(3)
    page.click("#submit")
    expect(page.locator("#result")).to_contain_text(spot["name"])
    (report,) = listed_reports(http)
    assert len(report["photos"]) == 3
    expect(page.locator("#preview")).to_be_hidden()  # the form is ready for the next report
    assert_clean(log)


def test_rejected_report_is_dropped_with_the_servers_message(open_page, http, spot, tmp_path):
    page, log = open_page("/report", **located(spot))
    expect(page.locator("#geo-status")).to_contain_text("已定位")
    first_id = page.input_value("#client_report_id")
    page.set_input_files("#photo", photo_file(tmp_path))
    page.click("#submit")  # no category: a 422 that no retry can fix
    expect(page.locator("#result")).to_contain_text("隐患类别无效")
    expect(page.locator("#result")).to_have_class("error")
    expect(page.locator("#outbox-status")).to_have_attribute("data-count", "0")
    assert page.input_value("#client_report_id") != first_id
    expect(page.locator("#preview img")).to_have_count(1)  # kept, to fix and send again
    assert listed_reports(http) == []
    assert_clean(log, expected_url=is_report_api)


def test_server_error_keeps_the_report_with_the_servers_explanation(open_page, http, spot, tmp_path):
    page, log = open_page("/report", **located(spot))
    expect(page.locator("#geo-status")).to_contain_text("已定位")
    calls = []

    def storage_down_once(route):
        calls.append(route.request.url)
        if len(calls) == 1:
            route.fulfill(status=503, json={"error": {"code": "storage_unavailable",
                                                      "message": "照片暂时无法保存，本次上报未提交，请稍后重试。"}})
        else:
            route.fallback()

    page.route("**/api/v1/reports", storage_down_once)
    fill_and_submit(page, photo_file(tmp_path))
    expect(page.locator("#result")).to_contain_text("照片暂时无法保存")
    expect(page.locator("#result")).to_contain_text("已保存在本机")
    expect(page.locator("#result")).to_have_class("warn")
    expect(page.locator("#outbox-status")).to_have_attribute("data-count", "1")
    assert listed_reports(http) == []

    page.evaluate("() => window.dispatchEvent(new Event('online'))")  # any wake-up sends it now
    expect(page.locator("#result")).to_contain_text(spot["name"])
    expect(page.locator("#outbox-status")).to_have_attribute("data-count", "0")
    assert len(calls) == 2 and len(listed_reports(http)) == 1
    assert_clean(log, expected_url=is_report_api)  # Chromium logs the 503


def test_signed_in_volunteer_sends_with_the_csrf_token(open_page, live_server, as_user, accounts, spot, tmp_path):
    page, log = volunteer_on_report_page(open_page, live_server, accounts, spot)
    fill_and_submit(page, photo_file(tmp_path))  # a cookie session: the API wants the page's CSRF token
    expect(page.locator("#result")).to_contain_text(spot["name"])
    (report,) = as_user("vol").get("/api/v1/reports").json()["reports"]
    assert report["id"] == page.locator("#report-form").get_attribute("data-report-id")
    assert_clean(log)
