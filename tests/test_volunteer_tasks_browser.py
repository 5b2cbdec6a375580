"""A volunteer on the phone in headless Chromium: the dispatched hazard on /me/tasks, accept, rectify with a photo."""
import pytest
from playwright.sync_api import expect

from .test_volunteer_tasks import dispatch_new
from .test_workflow_api import move
from .test_workflow_browser import after_photo, signed_in
from .volunteer_fixtures import clear_volunteers, make_profiles

pytestmark = pytest.mark.browser


@pytest.fixture
def roster(app, accounts, owner_engine):
    yield make_profiles(accounts, owner_engine)
    clear_volunteers(owner_engine)


def test_accept_then_rectify_with_a_photo_on_the_phone(open_page, as_user, anon_http, accounts, spot, roster,
                                                       tmp_path):
    rid = dispatch_new(as_user, anon_http, spot, roster["vol"])
    page, log = signed_in(open_page, accounts, "vol", "我的上报", is_mobile=True, has_touch=True)
    page.locator("header nav a", has_text="我的任务").click()
    card = page.locator(f"#task-{rid}")
    expect(card).to_have_attribute("data-status", "dispatched")
    expect(card.locator(f"#act-{rid}-accepted")).to_have_text("拒绝接单，退回派单人")
    card.locator(f"#act-{rid}-rectifying").click()
    card = page.locator(f"#task-{rid}")
    expect(card).to_have_attribute("data-status", "rectifying")
    expect(page.locator(".flash.ok")).to_have_text("操作成功。")
    card.locator(f"#act-{rid}-rectified").click()  # no photo chosen: the browser's required check keeps the form
    expect(card).to_have_attribute("data-status", "rectifying")
    card.locator("textarea[name=note]").fill("已清理楼道杂物")
    card.locator("input[type=file]").set_input_files(str(after_photo(tmp_path)))
    card.locator(f"#act-{rid}-rectified").click()
    card = page.locator(f"#task-{rid}")
    expect(card).to_have_attribute("data-status", "rectified")
    expect(card).to_contain_text("等待居村委或街镇核查")
    assert move(as_user("sup_a"), rid, "verified").json()["status"] == "verified"
    page.reload()
    expect(page.locator(f"#task-{rid}")).to_have_attribute("data-status", "verified")
    page.locator(f"#task-{rid} h2 a").click()
    expect(page.locator("img.after")).to_have_count(1)
    expect(page.locator(".timeline")).to_contain_text("已清理楼道杂物")
    assert log.errors == [] and log.dialogs == []
