"""Manual redaction in real Chromium (issue 25): a supervisor opens 手动遮挡, draws a box with the mouse on the
canvas, sees it previewed, saves; the public file's bytes change in that region and nowhere much else, the
original does not change, and the `redact` event is written and shown. The resident's 请求遮挡 on the tracking page
at phone width. Set HAZARD_SHOTS=<folder> to keep the screenshots (redact-*.png)."""
import os

import pytest
from playwright.sync_api import expect

from service.receipts import receipts
from tests.support.faces import sharpness
from tests.support.redaction import busy_photo, events, image, mean_difference, photo_row, reported, stored
from tests.support.workflow_browser import signed_in

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("HAZARD_SHOTS")
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"  # nothing wider than the phone


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_draw_a_box_save_and_the_public_copy_changes_there_only(app, open_page, accounts, anon_http, spot,
                                                                  photo_dir):
    photo = busy_photo(41)
    body = reported(anon_http, spot, photo)
    before = photo_row(app, body["id"])
    old_public = stored(photo_dir, before.public_key)

    page, log = signed_in(open_page, accounts, "sup_a", "督办工作台")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(page.url.rsplit("/", 1)[0] + f"/reports/{body['id']}")
    _shot(page, "redact-detail-1366")
    page.locator(f".redact-open[data-photo-id='{before.id}']").click()
    dialog = page.locator("#redact-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("data-ready", "1")
    expect(page.locator("#redact-save")).to_be_disabled()
    canvas = page.locator("#redact-canvas").bounding_box()
    # A box over the photo's left half, top to 45 %: drawn with the mouse, in several moves.
    x0, y0 = canvas["x"] + canvas["width"] * 0.10, canvas["y"] + canvas["height"] * 0.10
    x1, y1 = canvas["x"] + canvas["width"] * 0.40, canvas["y"] + canvas["height"] * 0.45
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=5)
    page.mouse.move(x1, y1, steps=5)
    page.mouse.up()
    expect(page.locator("#redact-count")).to_have_text("已框选 1 处")
    # A second box, then 撤销 takes it back: one box is saved.
    page.mouse.move(canvas["x"] + canvas["width"] * 0.7, canvas["y"] + canvas["height"] * 0.7)
    page.mouse.down()
    page.mouse.move(canvas["x"] + canvas["width"] * 0.9, canvas["y"] + canvas["height"] * 0.9, steps=4)
    page.mouse.up()
    expect(page.locator("#redact-count")).to_have_text("已框选 2 处")
    _shot(page, "redact-drawing-1366")
    page.locator("#redact-undo").click()
    expect(page.locator("#redact-count")).to_have_text("已框选 1 处")
    page.locator("#redact-save").click()
    expect(page.locator(".flash.ok")).to_contain_text("已保存遮挡")

    after = photo_row(app, body["id"])
    assert after.public_key != before.public_key
    expect(page.locator(f"#photo-{before.id} img.before")).to_have_attribute("src", f"/photos/{after.public_key}")
    assert page.locator(f"#photo-{before.id} img.before").evaluate("img => img.complete && img.naturalWidth") > 0
    new_public = stored(photo_dir, after.public_key)
    assert new_public is not None and stored(photo_dir, before.public_key) is None
    old_img, new_img = image(old_public), image(new_public)
    region, outside = (200, 160, 600, 520), (1000, 100, 1550, 600)  # inside the box; away from both boxes drawn
    assert sharpness(new_img, region) < 0.1 * sharpness(old_img, region)
    assert mean_difference(new_img, old_img, outside) < 1.0
    assert mean_difference(new_img, old_img, (1150, 850, 1400, 1050)) < 1.0  # the undone box changed nothing
    assert stored(photo_dir, before.original_key) == photo  # the original, byte for byte
    [event] = events(app, body["id"], "redact")
    assert event.actor_label == "测试sup_a" and len(event.data["boxes"]) == 1
    x, y, right, bottom = event.data["boxes"][0]
    assert abs(x - 0.10) < 0.01 and abs(y - 0.10) < 0.01 and abs(right - 0.40) < 0.01 and abs(bottom - 0.45) < 0.01
    expect(page.locator(".timeline")).to_contain_text("遮挡了照片（1 处）")
    expect(page.locator(f"#photo-{before.id} .tag.redacted")).to_contain_text("已手动遮挡 1 处")
    _shot(page, "redact-saved-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate(FITS)
    _shot(page, "redact-saved-390")
    page.locator(f".redact-open[data-photo-id='{before.id}']").click()
    expect(page.locator("#redact-dialog")).to_have_attribute("data-ready", "1")
    width = page.locator("#redact-canvas").evaluate("c => c.getBoundingClientRect().right")
    assert width <= 390  # the drawing layer fits a phone
    _shot(page, "redact-dialog-390")
    assert not log.errors, log.errors

    with app.app_context():
        path = f"/track/{receipts.token_for(body['id'])}"
    resident, rlog = open_page(path)
    resident.set_viewport_size({"width": 390, "height": 844})
    resident.fill(f"#photo-{before.id} input[name=reason]", "门牌号还能看清")
    resident.locator(f"#ask-{before.id}").click()
    expect(resident.locator(".flash.ok")).to_contain_text("已提交遮挡请求")
    expect(resident.locator(f"#asked-{before.id}")).to_be_visible()
    assert resident.evaluate(FITS)
    _shot(resident, "redact-track-390")
    assert not rlog.errors

    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(page.url.split("/reports/")[0] + "/queues")
    expect(page.locator("#redaction h2")).to_have_text("照片遮挡请求（1）")
    expect(page.locator("#redaction .reason")).to_contain_text("门牌号还能看清")
    _shot(page, "redact-queue-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate(FITS)
    _shot(page, "redact-queue-390")
