"""The detail page's triage: nearby open reports, reports verified at the same spot, one-click duplicate."""
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.support.detail_triage import moved_elsewhere, report_at
from tests.support.seeding import seed_like
from tests.support.workflow_api import walk
from tests.support.workflow_browser import signed_in


def listed(page: str, section: str) -> set[str]:
    """The report ids one section of the detail page lists."""
    body = re.search(rf'<section class="suggestions" id="{section}">(.*?)</section>', page, re.S).group(1)
    return set(re.findall(r'class="suggestion" data-id="([^"]+)"', body))


def test_nearby_lists_only_reports_in_the_callers_scope(http, as_user, accounts, spot):
    here, near, theirs = (report_at(http, spot) for _ in range(3))
    moved_elsewhere(http, accounts, theirs)
    assert listed(http.get(f"/reports/{here}").text, "nearby") == {near, theirs}  # the district sees both
    page = as_user("sup_a").get(f"/reports/{here}").text
    assert listed(page, "nearby") == {near}
    assert "可能重复" in page and "相距 0 米" in page and "标记为与此重复" in page
    assert listed(as_user("sup_b").get(f"/reports/{theirs}").text, "nearby") == set()
    staff = as_user("staff_a").get(f"/reports/{here}").text
    assert listed(staff, "nearby") == {near} and "mark-duplicate" not in staff  # staff may not mark duplicates


def test_the_suggestion_limit_counts_only_reports_in_scope(http, as_user, accounts, spot):
    """Five nearer reports of another town must not push the supervisor's own out of the list."""
    from service.reports.duplicates import MAX_SUGGESTIONS

    mine = report_at(http, spot)
    for _ in range(MAX_SUGGESTIONS + 1):
        moved_elsewhere(http, accounts, report_at(http, spot))
    here = report_at(http, spot)
    assert len(listed(http.get(f"/reports/{here}").text, "nearby")) == MAX_SUGGESTIONS
    assert listed(as_user("sup_a").get(f"/reports/{here}").text, "nearby") == {mine}


def test_verified_at_the_same_spot_is_listed_in_scope(http, as_user, accounts, spot):
    done, theirs = report_at(http, spot), report_at(http, spot)
    path = ["accepted", "dispatched", "rectifying", "rectified", "verified"]
    walk(as_user, done, path)
    walk(as_user, theirs, path[:-1])
    moved_elsewhere(http, accounts, theirs)  # while still open: closed reports keep their committee
    assert http.post(f"/api/v1/reports/{theirs}/transitions", json={"to": "verified"}).status_code == 200
    new = report_at(http, spot)
    page = as_user("sup_a").get(f"/reports/{new}").text
    assert listed(page, "recent-verified") == {done} and done not in listed(page, "nearby")
    assert listed(http.get(f"/reports/{new}").text, "recent-verified") == {done, theirs}


@pytest.mark.parametrize("days", [0])
def test_verified_window_is_configurable(app, http, as_user, spot, days):
    done = report_at(http, spot)
    walk(as_user, done, ["accepted", "dispatched", "rectifying", "rectified", "verified"])
    new = report_at(http, spot)
    before, app.config["RECENT_VERIFIED_DAYS"] = app.config["RECENT_VERIFIED_DAYS"], days
    try:
        assert listed(as_user("sup_a").get(f"/reports/{new}").text, "recent-verified") == set()
    finally:
        app.config["RECENT_VERIFIED_DAYS"] = before


def test_one_click_duplicate_is_one_checked_move_with_its_event(http, as_user, spot):
    first, again = report_at(http, spot), report_at(http, spot)
    sup = as_user("sup_a")
    page = sup.get(f"/reports/{again}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = sup.post(f"/reports/{again}/move", data={"csrf_token": token, "to": "duplicate", "duplicate_of": first})
    assert r.status_code == 200 and "操作成功" in r.text, r.text
    body = sup.get(f"/api/v1/reports/{again}").json()
    assert body["status"] == "duplicate" and body["duplicate_of"] == first
    assert body["events"][-1]["data"] == {"duplicate_of": first} and body["events"][-1]["to"] == "duplicate"
    r = sup.post(f"/reports/{first}/move", data={"csrf_token": token, "to": "duplicate", "duplicate_of": first})
    assert r.status_code == 422  # still checked: a report is no duplicate of itself
    assert sup.get(f"/api/v1/reports/{first}").json()["status"] == "submitted"


def test_verified_list_query_uses_its_index(app, owner_engine, http, accounts, spot):
    """With many verified reports, each role's query finds its rows through ix_report_verified_geog."""
    from service.core.db import db
    from service.core.models import User
    from service.reports.duplicates import recent_verified_select

    rid = report_at(http, spot)
    seed_like(app, owner_engine, rid, "verified")
    with app.app_context():
        for who in ("admin", "sup_a", "staff_a"):
            user = db.session.get(User, accounts[who]["id"])
            compiled = recent_verified_select(uuid.UUID(rid), "ebike_charging", user).compile(
                dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})  # scope may be an IN list
            plan = "\n".join(r[0] for r in db.session.connection().exec_driver_sql("EXPLAIN " + str(compiled),
                                                                                    compiled.params))
            found = r"Index Scan using ix_report_verified_geog[^\n]*\n\s+Index Cond: \(\(location\)::geography &&"
            assert re.search(found, plan), (who, plan)
        db.session.rollback()


@pytest.mark.browser
def test_one_click_duplicate_in_chromium(open_page, accounts, http, spot, live_server):
    first, again = report_at(http, spot), report_at(http, spot)
    page, log = signed_in(open_page, accounts, "sup_a", "督办工作台")
    page.goto(f"{live_server}/reports/{again}")
    item = page.locator(f'#nearby li[data-id="{first}"]')
    expect(item).to_contain_text("相距 0 米")
    item.locator(".mark-duplicate button").click()
    expect(page.locator("#report")).to_have_attribute("data-status", "duplicate")
    expect(page.locator("#status")).to_have_text("重复")
    expect(page.locator(".mark-duplicate")).to_have_count(0)  # a duplicate moves no further
    assert log.errors == [] and log.dialogs == []
