"""The report page in the field, in Debian's Chromium over real HTTP: it opens with no network after one visit,
a report composed offline waits on the phone and goes when the network returns, a 12 MP camera photo goes up
shrunk with its EXIF facts (or full size when PHONE_RESIZE is off), HEIC goes up unchanged, a waiting report
can be deleted, and large-text mode is remembered with touch targets of at least 48 px."""
from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from service.core.db import db
from service.core.models import Photo
from tests.support.browser import assert_clean, is_report_api, listed_reports, located, photo_file
from tests.support.images import camera_photo
from tests.support.intake_phones import exif_clock
from tests.support.report_page import (
    FIRST_BACKOFF_MS,
    RETRY_WAIT_MS,
    SAVED_OFFLINE,
    api_posts,
    volunteer_on_report_page,
)

pytestmark = pytest.mark.browser


def photo_rows(app, report_id: str) -> list[Photo]:
    with app.app_context():
        return db.session.scalars(select(Photo).where(Photo.report_id == report_id).order_by(Photo.id)).all()


def controlled(page) -> None:
    """Wait until the service worker has installed (precached) and controls the page."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)


def cut_off(context, offline: bool) -> None:
    """No network for the page nor its service worker: offline, and every request to the server refused."""
    context.set_offline(offline)
    if offline:
        context.route("**/*", lambda route: route.abort("internetdisconnected"))
    else:
        context.unroute("**/*")
        context.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).hostname == "127.0.0.1"
                      else route.abort("internetdisconnected"))


def send_photo(page, path: str, category: str = "combustibles") -> None:
    page.set_input_files("#photo", path)
    expect(page.locator("#preview img")).to_have_count(1)
    page.select_option("#category", category)
    page.click("#submit")


def test_the_page_opens_offline_after_one_visit_and_the_report_goes_when_back_online(open_page, http, spot, app,
                                                                                      tmp_path):
    page, log = open_page("/report", **located(spot))
    controlled(page)
    cut_off(page.context, True)
    response = page.reload(wait_until="load")
    assert response.status == 200 and response.from_service_worker
    assert page.evaluate("() => [typeof L, typeof exifr, typeof HazardPhotoPrep, typeof HazardOutbox]") == [
        "object", "object", "object", "function"]
    expect(page.locator("#geo-status")).to_contain_text("已定位")
    page.click("#map-toggle")
    expect(page.locator("#map-offline")).to_contain_text("没有网络时")  # tiles are optional offline

    page.click("#map-toggle")  # back to the device position
    original = tmp_path / "camera.jpg"
    original.write_bytes(camera_photo(5, size=(3000, 2000)))
    send_photo(page, str(original))
    expect(page.locator("#result")).to_have_text(SAVED_OFFLINE)
    expect(page.locator("#waiting-list li")).to_have_count(1)
    expect(page.locator("#waiting-list li")).to_contain_text("公共区域堆放可燃物")
    expect(page.locator("#outbox-status")).to_have_attribute("data-count", "1")
    assert listed_reports(http) == []

    cut_off(page.context, False)
    expect(page.locator("#result")).to_contain_text(spot["name"], timeout=RETRY_WAIT_MS)
    expect(page.locator("#waiting")).to_be_hidden()
    (report,) = listed_reports(http)
    expect(page.locator("#receipt")).to_be_visible()
    # The receipt number when the server gives one (resident reports), else the report's id.
    expect(page.locator("#receipt-number")).to_have_text(re.compile(r"回执编号：MH-\S+|上报编号：" + report["id"]))
    (photo,) = photo_rows(app, report["id"])
    assert photo.phone_original_sha256 == hashlib.sha256(original.read_bytes()).hexdigest()
    assert (photo.width, photo.height) == (2048, 1365)
    # Chromium logs the refused offline requests: the report's first try and the map's tiles.
    assert_clean(log, expected_url=lambda url: is_report_api(url) or urlsplit(url).hostname == "tile.openstreetmap.org")


def test_a_camera_photo_goes_up_full_size_then_shrunk_and_is_a_duplicate(open_page, http, spot, app, tmp_path,
                                                                         monkeypatch):
    taken = exif_clock(app, datetime.now(UTC))
    original = camera_photo(9, gps=(spot["lon"], spot["lat"]), taken_at=taken, orientation=6)
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(original)
    sha = hashlib.sha256(original).hexdigest()
    sent = {}
    for resize in (False, True):
        monkeypatch.setitem(app.config, "PHONE_RESIZE", resize)
        page, log = open_page("/report")  # no device position: the photo's GPS locates the report
        send_photo(page, str(path))
        expect(page.locator("#result")).to_contain_text(spot["name"], timeout=30_000)
        expect(page.locator("#photo-progress progress")).to_have_count(1)
        assert page.evaluate("() => document.querySelector('#photo-progress progress').value") == 100
        sent[resize] = listed_reports(http)[0]
        assert_clean(log)
    for report in sent.values():
        assert report["location_source"] == "exif" and report["committee"]["code"] == spot["code"]
        assert report["warnings"] == []  # the time and place the phone read agree with the report
        local = ZoneInfo(app.config["LOCAL_TIMEZONE"])
        assert datetime.fromisoformat(report["taken_at"]) == taken.replace(tzinfo=local)
        public = Image.open(io.BytesIO(http.get(report["photos"][0]).content))
        assert 2048 >= public.height > public.width and not public.getexif()  # upright, no metadata
    (full,), (shrunk,) = photo_rows(app, sent[False]["id"]), photo_rows(app, sent[True]["id"])
    assert full.sha256 == sha and full.bytes == len(original) and full.phone_original_sha256 is None
    assert shrunk.phone_original_sha256 == sha and shrunk.phone_original_bytes == len(original)
    assert shrunk.phone_orientation == 6 and (shrunk.width, shrunk.height) == (1536, 2048)
    assert shrunk.bytes * 5 < len(original)
    assert sent[True]["duplicate_photo_of"] == sent[False]["id"]


def test_heic_the_browser_cannot_decode_goes_up_unchanged(open_page, http, spot, app, tmp_path):
    import pillow_heif

    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    Image.open(io.BytesIO(camera_photo(3, size=(1600, 1200)))).save(buf, "HEIF")
    path = tmp_path / "IMG_0002.heic"
    path.write_bytes(buf.getvalue())
    page, log = open_page("/report", **located(spot))
    expect(page.locator("#geo-status")).to_contain_text("已定位")
    send_photo(page, str(path))
    expect(page.locator("#result")).to_contain_text(spot["name"])
    (report,) = listed_reports(http)
    (photo,) = photo_rows(app, report["id"])
    assert photo.content_type == "image/heic" and photo.sha256 == hashlib.sha256(buf.getvalue()).hexdigest()
    assert photo.phone_original_sha256 is None
    assert_clean(log)


def test_a_waiting_report_can_be_deleted(open_page, http, spot, tmp_path):
    page, log = open_page("/report", **located(spot))
    expect(page.locator("#geo-status")).to_contain_text("已定位")
    posts = api_posts(page)
    page.context.set_offline(True)
    send_photo(page, photo_file(tmp_path))
    expect(page.locator("#result")).to_have_text(SAVED_OFFLINE)
    item = page.locator("#waiting-list li")
    expect(item).to_have_count(1)
    delete = item.get_by_role("button")
    assert delete.get_attribute("aria-label").startswith("删除这条等待发送的上报")
    delete.click()
    expect(page.locator("#waiting")).to_be_hidden()
    expect(page.locator("#outbox-status")).to_have_attribute("data-count", "0")
    page.context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    page.reload(wait_until="load")
    expect(page.locator("#outbox-status")).to_have_attribute("data-count", "0")
    assert len(posts) == 1 and listed_reports(http) == []  # only the failed offline try
    assert_clean(log, expected_url=is_report_api)


# What a finger presses: controls, the header's links, and the labels around radio buttons and checkboxes.
TARGETS = """() => Array.from(document.querySelectorAll('button, select, textarea, .bar a, ' +
    'input:not([type=hidden]):not([type=radio]):not([type=checkbox]), label:has(input[type=radio]), ' +
    'label:has(input[type=checkbox])'))
  .filter(e => e.offsetParent !== null && !e.closest('.leaflet-container'))
  .map(e => { const r = e.getBoundingClientRect();
              return [e.id || e.textContent.trim().slice(0, 12) || e.tagName, r.width, r.height]; })"""


@pytest.mark.parametrize("path", ["/report", "/login"])
def test_large_text_mode_is_remembered_and_targets_are_48px_at_200_percent(open_page, path):
    page, log = open_page(path)
    plain = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
    page.click("#easy-toggle")
    expect(page.locator("html")).to_have_class("easy")
    expect(page.locator("#easy-toggle")).to_have_attribute("aria-pressed", "true")
    page.set_viewport_size({"width": 500, "height": 700})  # the 1000 px window at 200% zoom
    page.reload(wait_until="load")
    expect(page.locator("html")).to_have_class("easy")  # remembered on this phone
    assert page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)") >= 1.25 * plain
    small = [t for t in page.evaluate(TARGETS) if t[1] < 48 or t[2] < 48]
    assert small == []
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
    page.click("#easy-toggle")
    page.reload(wait_until="load")
    assert page.evaluate("() => document.documentElement.classList.contains('easy')") is False
    assert_clean(log)


def test_the_service_worker_sends_the_outbox_on_background_sync(open_page, live_server, http, spot, tmp_path):
    """With no report page open, the worker's sync handler sends what waits in IndexedDB (same id, same form)."""
    where = located(spot)
    page, log = open_page("/report", **where | {"permissions": [*where["permissions"], "background-sync"]})
    controlled(page)
    cdp = page.context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    cut_off(page.context, True)
    send_photo(page, photo_file(tmp_path))
    expect(page.locator("#result")).to_have_text(SAVED_OFFLINE)
    tags = page.evaluate("async () => (await navigator.serviceWorker.ready).sync.getTags()")
    assert tags == ["outbox"]  # registered for when the network returns
    page.goto("about:blank")  # leave the report page: only the worker can send it now
    cut_off(page.context, False)
    page.goto(live_server + "/login")  # a page of the worker's scope, without outbox.js
    for _ in range(50):  # the protocol's registration events arrive while Playwright waits on something
        ids = {r["registrationId"] for r in registrations if r["scopeURL"] == live_server + "/" and not r["isDeleted"]}
        if ids:
            break
        page.wait_for_timeout(100)
    (registration_id,) = ids
    cdp.send("ServiceWorker.dispatchSyncEvent", {"origin": live_server, "registrationId": registration_id,
                                                 "tag": "outbox", "lastChance": False})
    for _ in range(100):  # the browser may fire the sync itself as the network returns: the server dedupes
        if reports := listed_reports(http):
            break
        page.wait_for_timeout(200)
    (report,) = reports  # sent while no page with outbox.js was open: by the worker
    assert report["committee"]["code"] == spot["code"] and report["location_source"] == "device"
    page.goto(live_server + "/report")
    expect(page.locator("#outbox-status")).to_have_attribute("data-count", "0")  # nothing left waiting
    assert_clean(log, expected_url=is_report_api)


def test_a_page_with_a_stale_token_fetches_a_fresh_one_and_sends(open_page, live_server, as_user, accounts, spot,
                                                                 tmp_path):
    """A signed-in volunteer's page opened from the worker's cache may carry a token the session no longer takes."""
    page, log = volunteer_on_report_page(open_page, live_server, accounts, spot)
    controlled(page)  # the fresh token must come from the network, not from the worker's copy of the page
    page.evaluate("() => { document.querySelector('meta[name=csrf-token]').content = 'stale'; }")
    statuses = []
    page.on("response", lambda r: is_report_api(r.url) and statuses.append(r.status))
    send_photo(page, photo_file(tmp_path))
    expect(page.locator("#result")).to_contain_text(spot["name"])
    assert statuses == [400, 201]  # refused once for the token, then sent with the fresh one
    assert page.evaluate("() => document.querySelector('meta[name=csrf-token]').content") != "stale"
    (report,) = as_user("vol").get("/api/v1/reports").json()["reports"]
    assert report["id"] == page.locator("#report-form").get_attribute("data-report-id")
    assert_clean(log, expected_url=is_report_api)  # Chromium logs the 400


@pytest.mark.parametrize("resize", [False, True])
def test_a_lost_answer_is_retried_with_the_same_bytes_and_stored_once(open_page, http, spot, app, tmp_path,
                                                                      monkeypatch, resize):
    monkeypatch.setitem(app.config, "PHONE_RESIZE", resize)
    path = tmp_path / "IMG_0003.jpg"
    path.write_bytes(camera_photo(11, size=(3000, 2000), gps=(spot["lon"], spot["lat"])))
    page, log = open_page("/report", fake_clock=True, service_workers="block")  # so page.route sees every request
    bodies, statuses = [], []

    def lose_first_answer(route):
        bodies.append(route.request.post_data_buffer)
        if len(bodies) == 1:
            statuses.append(route.fetch().status)  # the server stores the report, the phone never hears back
            route.abort("connectionreset")
        else:
            route.fallback()

    page.route("**/api/v1/reports", lose_first_answer)
    send_photo(page, str(path))
    expect(page.locator("#result")).to_have_text(SAVED_OFFLINE, timeout=30_000)
    page.clock.run_for(FIRST_BACKOFF_MS)
    expect(page.locator("#result")).to_contain_text(spot["name"])
    assert statuses == [201] and len(bodies) == 2
    boundaries = [b.split(b"\r\n", 1)[0] for b in bodies]
    assert bodies[0].replace(boundaries[0], b"") == bodies[1].replace(boundaries[1], b"")  # the same bytes and facts
    assert (b'name="photo_original_sha256"' in bodies[0]) is resize
    (report,) = listed_reports(http)
    assert len(photo_rows(app, report["id"])) == 1
    assert_clean(log, expected_url=is_report_api)
