"""A hotline order in headless Chromium (issue 24): the supervisor sees the order number and its deadlines on the
detail page and the reject button as 退回热线; the caller answers the call-back on the tracking page, at phone width,
with 不满意 refused in words until a reason is given, and the report reopened for a re-check (复核)."""
import os

import pytest
from playwright.sync_api import expect

from service.bodies import registry
from service.receipts import receipts
from tests.support.workflow_api import move, rectify
from tests.support.workflow_browser import signed_in

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("HAZARD_SHOTS")


def test_the_order_on_the_detail_page_and_the_call_back_on_the_tracking_page(app, open_page, accounts, anon_http,
                                                                              as_user, spot):
    with app.app_context():
        hotline = registry.add(name="12345 市民热线", kind="hotline", channel="email", endpoint="12345@example.com",
                               categories=["ebike_charging"], area_codes=[spot["town"]], sign_hours=2,
                               finish_hours=120).name
    out = app.test_cli_runner().invoke(args=["hotline", "key", "--hotline", hotline])
    key = out.output.split("api_key: ")[1].strip()
    r = anon_http.post("/open311/v2/requests.json", data={
        "api_key": key, "service_code": "ebike_charging", "lat": spot["lat"], "long": spot["lon"],
        "description": "来电反映：楼道内电动车充电，插线板拖到门外", "phone": "13912345678",
        "attribute[order_no]": "SH2612070042"})
    rid = r.json()[0]["service_request_id"]

    page, log = signed_in(open_page, accounts, "sup_a", "督办工作台")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(page.url.rsplit("/", 1)[0] + f"/reports/{rid}")
    expect(page.locator("#hotline")).to_contain_text("12345 工单 SH2612070042")
    expect(page.locator("#hotline")).to_contain_text("前签收")
    expect(page.locator("#act-rejected")).to_have_text("退回热线")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/hotline-detail.png", full_page=True)
    page.locator("#act-rejected").click()  # no reason: refused, saying what to write
    expect(page.locator("[role=alert]")).to_contain_text("退回理由")
    page.goto(page.url.split("/reports/")[0] + "/queues?show=to_accept")
    expect(page.locator("table.reports .tag")).to_have_text("12345 工单")
    expect(page.locator("table.reports .suggest")).to_have_count(0)  # a hotline is never suggested to itself
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/hotline-queue-1366.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=f"{SHOTS}/hotline-queue-390.png", full_page=True)

    sup, staff = as_user("sup_a"), as_user("staff_a")
    for to in ("accepted", "dispatched"):
        assert move(sup, rid, to).status_code == 200
    assert move(staff, rid, "rectifying").status_code == 200
    assert rectify(staff, rid).status_code == 200
    assert move(sup, rid, "verified", note="已清理").status_code == 200

    with app.app_context():
        path = f"/track/{receipts.token_for(rid)}"
    caller, clog = open_page(path)
    caller.set_viewport_size({"width": 390, "height": 844})
    expect(caller.locator("#order-no")).to_have_text("SH2612070042")
    expect(caller.locator("#callback legend")).to_have_text("隐患已整改并核查，您对处理结果满意吗？")
    if SHOTS:
        caller.screenshot(path=f"{SHOTS}/hotline-callback-390.png", full_page=True)
    caller.check("input[name=answer][value=unsatisfied]")
    caller.locator("#callback-submit").click()
    expect(caller.locator("[role=alert]")).to_contain_text("请写下不满意的原因")
    caller.check("input[name=answer][value=unsatisfied]")
    caller.fill("#callback-reason", "电动车又推回楼道了")
    caller.locator("#callback-submit").click()
    expect(caller.locator(".flash")).to_contain_text("街镇将重新核查")
    expect(caller.locator("#track-status")).to_have_text("已整改")
    expect(caller.locator(".callback-answer")).to_contain_text("不满意")
    if SHOTS:
        caller.screenshot(path=f"{SHOTS}/hotline-callback-answered-390.png", full_page=True)
    assert not log.errors and not clog.errors
