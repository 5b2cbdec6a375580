"""A whole 三单 in headless Chromium, three people in three contexts: a resident orders on /request, the town
dispatches, a volunteer accepts and checks in and out on site, the resident rates the visit on the tracking page."""
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.support.browser import assert_clean, located
from tests.support.images import jpeg
from tests.support.live import PASSWORD
from tests.support.orders_fixtures import backdate, newest_order_id, volunteers_with_orders

pytestmark = pytest.mark.browser


@pytest.fixture
def profiles(app, accounts, owner_engine):
    with volunteers_with_orders(accounts, owner_engine) as found:
        yield found


def sign_in(open_page, accounts, who, **options):
    page, log = open_page("/login", **options)
    page.fill("#phone", accounts[who]["phone"])
    page.fill("#password", PASSWORD)
    page.click("#login")
    expect(page.locator("#logout")).to_be_visible()
    return page, log


def resident_orders(open_page, spot):
    page, log = open_page("/request", **located(spot))
    page.select_option("#kind", "extinguisher")
    page.fill("#description", "楼道灭火器过期了，想请志愿者看看")
    page.click("[data-locate]")
    expect(page.locator("#lon")).not_to_have_value("")
    day = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).date().isoformat()
    page.fill("#window_start", f"{day}T09:00")
    page.fill("#window_end", f"{day}T11:00")
    page.fill("#contact_phone", "139 1234 5678")
    page.click("#submit")
    expect(page.locator("#receipt")).to_be_visible()
    expect(page.locator("#status")).to_have_text("待派单")
    link = page.locator("#tracking-link").input_value()
    assert re.search(r"/request/t/[A-Za-z0-9_-]{32}$", link)
    return page, log


def test_resident_dispatcher_volunteer_resident(open_page, accounts, spot, profiles, owner_engine, tmp_path):
    resident, resident_log = resident_orders(open_page, spot)
    oid = newest_order_id(owner_engine)

    sup, sup_log = sign_in(open_page, accounts, "sup_a")
    sup.click("text=三单派单")
    sup.click(f"#orders a:text-is('{oid}')")
    expect(sup.locator("#skill")).to_have_value("消防器材")  # the kind's skill: nobody here has it
    expect(sup.locator("#suggestions")).to_contain_text("没有符合条件的空闲志愿者")
    sup.fill("#skill", "")
    sup.click("text=重新推荐")
    expect(sup.locator("#suggestions")).to_contain_text("志愿者vol")
    sup.check(f"#pick-{profiles['vol']}")
    sup.click("#dispatch")
    expect(sup.locator("#status")).to_have_text("已派单，待接单")
    expect(sup.locator("#offers")).to_contain_text("志愿者vol · 待接单")

    vol, vol_log = sign_in(open_page, accounts, "vol", **located(spot))
    vol.goto("/".join(vol.url.split("/")[:3]) + f"/orders/{oid}")
    vol.click("#accept")
    expect(vol.locator("#status")).to_have_text("已接单")
    vol.click("#check_in")
    expect(vol.locator("#status")).to_have_text("服务中")
    backdate(owner_engine, "checked_in_at", 1.25, oid)  # an hour and a quarter on site
    vol.fill("#outcome-input", "更换了两具过期灭火器，讲解了使用方法")
    photo = tmp_path / "done.jpg"
    photo.write_bytes(jpeg(size=(800, 600), colour=(40, 160, 40)))
    vol.set_input_files("#photo", str(photo))
    vol.click("#check_out")
    expect(vol.locator("#status")).to_have_text("已完成")

    resident.reload()
    expect(resident.locator("#status")).to_have_text("已完成")
    expect(resident.locator("#outcome")).to_have_text("更换了两具过期灭火器，讲解了使用方法")
    expect(resident.locator("#volunteers")).to_contain_text("志*****")
    assert "志愿者vol" not in resident.content() and "13912345678" not in resident.content()
    expect(resident.locator(".photos img")).to_have_count(1)
    assert resident.locator(".photos img").evaluate("img => img.naturalWidth") > 0
    resident.check("input[name=rating][value='4']")
    resident.click("#rate-form button[type=submit]")
    expect(resident.locator("#rated")).to_have_text("您的评价：★★★★")

    sup.reload()
    expect(sup.locator("#rating")).to_contain_text("★★★★")
    expect(sup.locator("#timeline")).to_contain_text("签退")
    for log in (resident_log, sup_log, vol_log):
        assert_clean(log)
