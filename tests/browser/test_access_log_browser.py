"""The access log page (issue 25, /access-log) in headless Chromium: the district admin reaches it from the
navigation and sees who saw residents' contacts (a page view, an export with its filter), narrows it to one person
by a click; at 1366x768 it reads as a table, on a 390 px phone each record is a card and nothing scrolls sideways;
axe-core finds nothing serious, and the page never shows the contacts themselves.

Set HAZARD_SHOTS=<folder> to keep the screenshots (access-log-1366.png, access-log-390.png).
"""
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.a11y_browser import BLOCKING, violations
from tests.support.browser import assert_clean
from tests.support.reports_api import post
from tests.support.workflow_browser import signed_in

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("HAZARD_SHOTS")
PHONE = "13812345678"


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


@pytest.fixture
def looked(spot, anon_http, as_user) -> str:
    """A report with a resident's contact, seen on its page by the committee's staff and the town's supervisor,
    and exported by the supervisor with a filter: three records."""
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"], contact=PHONE).json()["id"]
    assert as_user("staff_a").get(f"/reports/{rid}").status_code == 200
    assert as_user("sup_a").get(f"/reports/{rid}").status_code == 200
    assert as_user("sup_a").get("/api/v1/reports.csv", params={"status": "open", "category": "ebike_charging"}
                                ).status_code == 200
    return rid


def _fits(page, width: int) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    for box in (row.bounding_box() for row in page.locator("tr.access-row").all()):
        assert box["x"] >= 0 and box["x"] + box["width"] <= width


def test_the_admin_reads_the_log_narrows_it_to_one_person_on_a_desktop_and_a_phone(open_page, accounts, looked):
    page, log = signed_in(open_page, accounts, "admin", "督办工作台")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.get_by_role("link", name="联系方式查看记录").click()
    expect(page.locator("h1")).to_have_text("联系方式查看记录")
    rows = page.locator("tr.access-row")
    expect(rows).to_have_count(3)
    newest = rows.first  # newest first: the export
    expect(newest).to_have_attribute("data-kind", "export")
    expect(newest.locator("td.who")).to_contain_text("测试sup_a")
    expect(newest.locator("td.who")).to_contain_text("街镇督导")
    expect(newest.locator("td.what")).to_contain_text("category=ebike_charging")
    expect(rows.nth(2).locator("td.what")).to_contain_text(looked)
    expect(rows.nth(2).locator("td.who")).to_contain_text("居村委工作人员")
    assert PHONE not in page.content()
    assert page.locator("table.access thead").bounding_box()["height"] > 20
    _fits(page, 1366)
    _shot(page, "access-log-1366.png")
    bad = [v for v in violations(page, "/access-log") if v["impact"] in BLOCKING]
    assert not bad, bad

    rows.nth(2).locator("td.who a").click()  # only staff_a's records
    expect(rows).to_have_count(1)
    expect(page.locator("#filter-user")).to_have_value(str(accounts["staff_a"]["id"]))
    page.locator("#filter-clear").click()
    expect(rows).to_have_count(3)

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload(wait_until="load")
    assert page.locator("table.access thead").bounding_box()["height"] <= 1  # each record a card naming its cells
    _fits(page, 390)
    _shot(page, "access-log-390.png")
    bad = [v for v in violations(page, "/access-log") if v["impact"] in BLOCKING]
    assert not bad, bad

    page.goto(page.url.split("/access-log")[0] + "/access-log?user=abc")
    expect(page.locator("#access-error")).to_contain_text("user 应为用户编号")
    assert_clean(log, lambda url: "user=abc" in url)  # the refused filter's 422 is the only failed load
