"""Transfer (转派, issue 24) in headless Chromium: the town supervisor picks the suggested body on the detail page,
gives the reason, and sees 转派至 <body> and "not yet delivered" until the outbox delivers it."""
import os

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from service.bodies import registry
from service.core.db import db
from service.core.models import Area
from service.notify import outbox
from tests.support.reports_api import post
from tests.support.workflow_browser import signed_in

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("HAZARD_SHOTS")  # a folder to keep screenshots of the two states in


def test_a_supervisor_transfers_from_the_detail_page(app, open_page, accounts, anon_http, spot, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW_HOSTS", frozenset({"127.0.0.1"}))
    with app.app_context():
        registry.add(name="锦江物业（综合体）", kind="property", channel="email", endpoint="wy@example.com",
                     categories=["gas_open_flame"], area_codes=[spot["code"]])
        other = db.session.scalar(select(Area.code).where(Area.level == "town", Area.code != spot["town"]))
        registry.add(name="别处的燃气公司", kind="utility", channel="email", endpoint="gas@example.com",
                     categories=["gas_open_flame"], area_codes=[other])
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"], category="gas_open_flame",
               description="商场地下车库消防通道被货物堵塞").json()["id"]
    page, log = signed_in(open_page, accounts, "sup_a", "督办工作台")
    page.goto(page.url.rsplit("/", 1)[0] + f"/reports/{rid}")
    options = page.locator("#body-id option")
    expect(options).to_have_count(3)  # the prompt, the suggested body first, the other
    expect(options.nth(1)).to_have_text("锦江物业（综合体）（推荐：负责此处且受理此类）")
    page.locator("#act-transferred").click()  # no body chosen: refused, saying what to do
    expect(page.locator("[role=alert]")).to_contain_text("请从列表中选择一个在用的转派单位")
    page.select_option("#body-id", label="锦江物业（综合体）（推荐：负责此处且受理此类）")
    page.locator("#move textarea[name=note]").fill("综合体内由物业负责清理")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/transfer-form.png", full_page=True)
    page.locator("#act-transferred").click()
    expect(page.locator("#report")).to_have_attribute("data-status", "transferred")
    expect(page.locator("#transfer")).to_contain_text("转派至 锦江物业（综合体）")
    expect(page.locator(".timeline")).to_contain_text("转派至 锦江物业（综合体）")
    expect(page.locator("#act-accepted")).to_have_text("收回转派，重新派单")
    expect(page.locator("dt", has_text="整改期限")).to_have_count(0)  # the committee's clock is stopped
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/transferred.png", full_page=True)
    with app.app_context():
        outbox.deliver_due()  # an e-mail body: worded like any contact's message (no SMTP here: it stays pending)
    assert not log.errors
