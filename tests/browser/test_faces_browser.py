"""Staff see 待脱敏 in real Chromium where a photo's faces could not be blurred yet (issue 25)."""
import os

from playwright.sync_api import expect

from tests.support.faces import face_photo
from tests.support.intake_phones import at, send
from tests.support.workflow_browser import signed_in


def test_the_detail_page_shows_a_waiting_photo_as_pending(app, http, spot, accounts, open_page, live_server,
                                                           tmp_path):
    saved = app.config["FACE_WALL_S"]
    app.config["FACE_WALL_S"] = 0.001  # the detector is ended at once: the public copy waits
    try:
        report = send(http, [face_photo()[0]], **at(spot)).json()
    finally:
        app.config["FACE_WALL_S"] = saved
    page, _log = signed_in(open_page, accounts, "sup_a", "督办工作台")
    page.goto(f"{live_server}/reports/{report['id']}")
    expect(page.locator("#photos-pending")).to_contain_text("待脱敏")
    assert page.locator(".photos img.before").count() == 0  # no broken image where the copy would be
    page.screenshot(path=os.environ.get("FACES_SCREENSHOT", str(tmp_path / "pending.png")), full_page=True)
