"""A volunteer on the phone in headless Chromium: the dispatched hazard on /me/tasks, accept, rectify with a photo."""
import pytest
from playwright.sync_api import expect

from tests.support.volunteer_fixtures import clear_volunteers, make_profiles
from tests.support.volunteer_tasks import dispatch_new
from tests.support.workflow_api import move
from tests.support.workflow_browser import after_photo, signed_in

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


def test_certificate_prints_without_the_page_chrome_and_both_pages_pass_axe(app, open_page, as_user, accounts, roster,
                                                                      monkeypatch):
    from tests.support.a11y_browser import BLOCKING, violations
    from tests.support.volunteer_records import approved

    monkeypatch.setitem(app.config, "VOLUNTEER_STAR_HOURS", (10, 20))
    approved(as_user, roster["vol"], 12)
    headers = {"Authorization": f"Bearer {accounts['vol']['token']}"}
    page, log = open_page("/me/certificate", extra_http_headers=headers)
    expect(page.locator("#cert-hours")).to_have_text("12.00")
    expect(page.locator("#cert-stars")).to_have_text("★")
    expect(page.locator(".qr img")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator("header.bar")).to_be_hidden()
    expect(page.locator("#print")).to_be_hidden()
    expect(page.locator("#certificate")).to_be_visible()
    link = page.locator("#verify-link").get_attribute("href")
    path = link[link.index("/certificates/"):]
    for who, where in (("vol", "/me/certificate"), (None, path)):
        extra = {"extra_http_headers": {"Authorization": f"Bearer {accounts[who]['token']}"}} if who else {}
        checked, _ = open_page(where, **extra)
        bad = [v for v in violations(checked, where) if v["impact"] in BLOCKING]
        assert not bad, bad
    check, _ = open_page(path)
    expect(check.locator("#v-name")).to_have_text("志*****")  # 志愿者vol, masked
    expect(check.locator("#v-stars")).to_have_text("★")
    assert log.errors == []
