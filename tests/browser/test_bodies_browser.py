"""The bodies page (issue 24) in headless Chromium: the district admin reaches it from the navigation, adds a body
with the form and disables one with its button; at 1366x768 the register reads as a table, on a 390 px phone
each body is a card and nothing scrolls sideways; axe-core finds nothing serious and no page shows the key.

Set HAZARD_SHOTS=<folder> to keep the screenshots (bodies-1366.png, bodies-390.png).
"""
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from service.bodies import registry
from tests.support.a11y_browser import BLOCKING, violations
from tests.support.browser import assert_clean
from tests.support.reports_api import post
from tests.support.workflow_api import move
from tests.support.workflow_browser import signed_in

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("HAZARD_SHOTS")
KEY = "browser-open311-key-1618"


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


@pytest.fixture
def bodies(app, spot, anon_http, as_user):
    """Three bodies of different kinds and channels, one holding a transferred report."""
    with app.app_context():
        gas = registry.add(name="闵行燃气有限公司", kind="utility", channel="email", endpoint="gas@example.com",
                           categories=["gas_open_flame"], area_codes=[spot["town"]], sign_hours=4,
                           finish_hours=48).id
        registry.add(name="12345 市民服务热线", kind="hotline", channel="open311",
                     endpoint="https://8.8.8.8/open311/v2", jurisdiction_id="sh12345", credential=KEY,
                     categories=["fire_lane_blocked", "exit_blocked", "combustibles", "ebike_charging"],
                     area_codes=[spot["town"]])
        registry.add(name="区城运中心", kind="department", channel="webhook",
                     endpoint="https://8.8.8.8:8443/robot/send?key=hook-secret", categories=["illegal_wiring"],
                     area_codes=[spot["code"]])
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"], category="gas_open_flame").json()["id"]
    assert move(as_user("sup_a"), rid, "transferred", note="燃气归燃气公司", body_id=gas).status_code == 200


def test_the_admin_adds_and_disables_a_body_and_the_page_fits_a_desktop_and_a_phone(open_page, accounts, spot,
                                                                                   bodies):
    page, log = signed_in(open_page, accounts, "admin", "督办工作台")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.get_by_role("link", name="外部单位").click()
    expect(page.locator("h1")).to_have_text("外部单位")
    expect(page.locator("tr.body-row")).to_have_count(3)
    gas = page.locator("tr.body-row", has_text="闵行燃气有限公司")
    expect(gas.locator("td.open-transfers")).to_have_text("1")
    expect(gas).to_contain_text("公用事业单位")

    form = page.locator("#body-form")
    form.locator("input[name=name]").fill("锦江物业（综合体）")
    form.locator("input[name=endpoint]").fill("wy@example.com")
    form.locator("input[name=areas]").fill(spot["code"])
    form.get_by_label("公共区域堆放可燃物").check()
    form.get_by_label("疏散通道/安全出口堵塞或锁闭").check()
    form.locator("#add-body").click()
    expect(page.locator(".flash.ok")).to_have_text("已登记外部单位“锦江物业（综合体）”。")
    expect(page.locator("tr.body-row")).to_have_count(4)

    page.locator("tr.body-row", has_text="区城运中心").get_by_role("button", name="停用").click()
    expect(page.locator(".flash.ok")).to_have_text("已停用外部单位“区城运中心”。")
    expect(page.locator("tr.body-row.disabled")).to_contain_text("已停用")
    html = page.content()
    assert KEY not in html and "hook-secret" not in html
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert page.locator("table.bodies thead").bounding_box()["height"] > 20
    _shot(page, "bodies-1366.png")
    bad = [v for v in violations(page, "/bodies/") if v["impact"] in BLOCKING]
    assert not bad, bad

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload(wait_until="load")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert page.locator("table.bodies thead").bounding_box()["height"] <= 1  # each body a card naming its cells
    card = page.locator("tr.body-row", has_text="闵行燃气有限公司")
    box = card.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    _shot(page, "bodies-390.png")
    bad = [v for v in violations(page, "/bodies/") if v["impact"] in BLOCKING]
    assert not bad, bad
    assert_clean(log)
