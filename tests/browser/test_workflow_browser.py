"""The rectification workflow walked by people in headless Chromium: report, accept, dispatch, rectify, verify."""
import pytest
from playwright.sync_api import expect

from tests.support.images import jpeg
from tests.support.workflow_browser import after_photo, signed_in

pytestmark = pytest.mark.browser


def volunteer_reports(open_page, accounts, spot, tmp_path):
    page, log = signed_in(open_page, accounts, "vol", "我的上报", permissions=["geolocation"],
                          geolocation={"latitude": spot["lat"], "longitude": spot["lon"], "accuracy": 10})
    page.goto(page.url.replace("/me/reports", "/report"))
    expect(page.locator("#geo-status")).to_contain_text("10")
    photo = tmp_path / "hazard.jpg"
    photo.write_bytes(jpeg(size=(800, 600)))
    page.set_input_files("#photo", str(photo))
    page.select_option("#category", "ebike_charging")
    page.fill("#description", "二号楼楼道飞线充电")
    page.click("#submit")
    expect(page.locator("#result")).to_contain_text(spot["name"])
    return page, log


def open_first(page, section: str):
    page.locator(f"{section} a").first.click()
    expect(page.locator("#report")).to_be_visible()


def act(page, to: str, note: str = "", photo=None):
    form = page.locator("#move")
    if note:
        form.locator("textarea[name=note]").fill(note)
    if photo is not None:
        form.locator("input[type=file]").set_input_files(str(photo))
    form.locator(f"#act-{to}").click()
    expect(page.locator("#report")).to_have_attribute("data-status", to)


def test_happy_path(open_page, accounts, spot, tmp_path):
    vol, vol_log = volunteer_reports(open_page, accounts, spot, tmp_path)
    sup, sup_log = signed_in(open_page, accounts, "sup_a", "督办工作台")
    open_first(sup, "#to-accept")
    act(sup, "accepted", "属实，受理")
    act(sup, "dispatched", "请三日内清理")
    staff, staff_log = signed_in(open_page, accounts, "staff_a", "待整改")
    open_first(staff, "#to-rectify")
    act(staff, "rectifying")
    staff.locator("#act-rectified").click()  # no photo chosen: the browser's required check keeps the form here
    expect(staff.locator("#report")).to_have_attribute("data-status", "rectifying")
    act(staff, "rectified", "已拆除飞线", photo=after_photo(tmp_path))
    expect(staff.locator("img.after")).to_have_count(1)
    sup.reload()
    act(sup, "verified", "复查合格")
    vol.goto(vol.url.replace("/report", "/me/reports"))
    card = vol.locator("article.report").first
    expect(card.locator(".status")).to_have_text("已核查/结案")
    expect(card.locator(".timeline li")).to_have_count(6)
    expect(card).to_contain_text("已拆除飞线")
    for log in (vol_log, sup_log, staff_log):
        assert log.errors == [] and log.dialogs == []


def test_reopen_path(open_page, accounts, spot, tmp_path):
    volunteer_reports(open_page, accounts, spot, tmp_path)
    sup, _ = signed_in(open_page, accounts, "sup_a", "督办工作台")
    open_first(sup, "#to-accept")
    act(sup, "accepted")
    act(sup, "dispatched")
    staff, _ = signed_in(open_page, accounts, "staff_a", "待整改")
    open_first(staff, "#to-rectify")
    act(staff, "rectifying")
    act(staff, "rectified", "已清理", photo=after_photo(tmp_path))
    sup.reload()
    act(sup, "rectifying", "复查不合格：楼道仍有电动车")
    expect(sup.locator(".timeline")).to_contain_text("复查不合格：楼道仍有电动车")
    staff.goto(staff.url.split("/reports/")[0] + "/inbox")
    open_first(staff, "#to-rectify")
    act(staff, "rectified", "已全部清理", photo=after_photo(tmp_path, "again.jpg"))
    expect(staff.locator("img.after")).to_have_count(2)
    sup.reload()
    act(sup, "verified")
    expect(sup.locator(".timeline li")).to_have_count(8)
