"""A resident's receipt in Chromium: kept on the phone after sending, the tracking page under the CSP, the
after-photo once rectified, a rating, and revoking the link."""
import pytest
from playwright.sync_api import expect

from tests.support.browser import assert_clean, located, photo_file
from tests.support.contact_codes import the_code, wrong
from tests.support.csp_browser import RECORD_VIOLATIONS
from tests.support.receipts import sent, track_path
from tests.support.workflow_api import walk


@pytest.mark.browser
def test_receipt_is_kept_on_the_phone_and_opens_the_tracking_page(open_page, as_user, spot, tmp_path, live_server):
    page, log = open_page("/report", **located(spot))
    page.add_init_script(RECORD_VIOLATIONS)
    expect(page.locator("#geo-status")).to_contain_text("已定位")
    page.set_input_files("#photo", photo_file(tmp_path))
    page.select_option("#category", "ebike_charging")
    page.fill("#description", "3号楼楼道内有电动车充电")
    page.click("#submit")
    expect(page.locator("#receipt-number")).to_contain_text("回执编号：MH-")
    number = page.locator("#receipt-number").inner_text().split("：")[1]
    report_id = page.locator("#report-form").get_attribute("data-report-id")
    page.reload(wait_until="load")  # the phone keeps its receipts
    kept = page.locator("#receipt-list a")
    expect(kept).to_have_count(1)
    expect(kept).to_contain_text(number)
    assert kept.get_attribute("href").startswith(live_server + "/track/")

    kept.click()
    page.wait_for_url("**/track/**")
    expect(page.locator("#receipt-number")).to_have_text(number)
    expect(page.locator("#track-status")).to_have_text("待受理")
    expect(page.locator("#track-committee")).to_have_text(spot["name"])
    assert "3号楼楼道" not in page.content()  # the description is not repeated on a link that may travel
    assert page.locator("img.after").count() == 0

    walk(as_user, report_id, ["accepted", "dispatched", "rectifying", "rectified", "verified"])
    page.reload(wait_until="load")
    expect(page.locator("#track-status")).to_have_text("已核查/结案")
    after = page.locator("img.after")
    expect(after).to_have_count(1)
    assert page.evaluate("() => document.querySelector('img.after').naturalWidth") > 0
    page.check("input[name=stars][value='4']")
    page.fill("textarea[name=comment]", "处理得很及时")
    page.click(".rating-form button[type=submit]")
    expect(page.locator(".rating")).to_contain_text("★★★★☆")
    expect(page.locator(".flash.ok")).to_contain_text("感谢您的评价")

    page.click("#revoke")  # the box is not ticked: the browser asks for it, nothing is sent
    expect(page.locator("#track")).to_be_visible()
    page.check("#revoke-confirm")
    page.click("#revoke")
    expect(page.locator("h1")).to_have_text("链接已作废")
    gone = page.goto(kept_url := page.url.rsplit("/revoke", 1)[0])
    assert gone.status == 404 and kept_url.startswith(live_server + "/track/")
    assert page.evaluate("() => window.__csp") == []
    assert_clean(log, expected_url=lambda url: url == kept_url)  # the 404 is the one expected error
    assert log.blocked == []


@pytest.mark.browser
def test_a_phone_typed_on_the_tracking_page_is_confirmed_by_its_code(open_page, anon_http, spot, app, tmp_path):
    body = sent(anon_http, spot)
    page, log = open_page(track_path(body), is_mobile=True, has_touch=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.fill("#contact", "13912345678")
    page.click("section.card form button[type=submit]")
    expect(page.locator(".flash.ok")).to_contain_text("验证码已发送至 139****5678")
    expect(page.locator("#confirm-form")).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # nothing scrolls sideways
    page.screenshot(path=str(tmp_path / "track-code.png"), full_page=True)
    page.fill("#code", wrong(the_code(app, body["id"])))
    page.click("#confirm")
    expect(page.locator(".flash.error")).to_contain_text("验证码不正确")
    page.fill("#code", the_code(app, body["id"]))
    page.click("#confirm")
    expect(page.locator(".flash.ok")).to_contain_text("验证成功，处理进展将发送至 139****5678")
    expect(page.locator("#notify-state")).to_contain_text("处理进展将发送至 139****5678")
    expect(page.locator("#confirm-form")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "track-confirmed.png"), full_page=True)
    assert_clean(log, expected_url=lambda url: url.endswith("/confirm"))  # the wrong code's 422
