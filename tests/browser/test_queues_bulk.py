"""The supervisors' queues: pages sorted and counted in SQL, narrowed by a filter, with bulk moves that are each one
checked transition with its own event."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from service.core.db import db
from service.core.models import ReportEvent
from tests.support.reports_api import post
from tests.support.workflow_browser import signed_in


def token_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def statuses(http, ids) -> list[str]:
    return [http.get(f"/api/v1/reports/{i}").json()["status"] for i in ids]


def section_ids(page: str, section: str) -> list[str]:
    body = page.split(f'<section id="{section}">', 1)[1].split("</section>", 1)[0]
    return re.findall(r'/reports/([0-9a-f-]{36})"', body)


def test_bulk_accept_moves_each_report_with_its_own_event(app, http, as_user, spot, accounts):
    ids = [post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"] for _ in range(3)]
    sup = as_user("sup_a")
    page = sup.get("/queues").text
    assert set(section_ids(page, "to-accept")) == set(ids)
    r = sup.post("/queues/bulk", data={"csrf_token": token_of(page), "to": "accepted", "note": "批量受理",
                                       "ids": ids[:2]}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].endswith("/queues")
    assert statuses(http, ids) == ["accepted", "accepted", "submitted"]
    with app.app_context():
        events = db.session.scalars(select(ReportEvent).where(ReportEvent.to_status == "accepted")).all()
    assert sorted(str(e.report_id) for e in events) == sorted(ids[:2])
    assert {e.actor_id for e in events} == {accounts["sup_a"]["id"]} and {e.note for e in events} == {"批量受理"}
    page = sup.get("/queues").text
    assert "已处理 2 条" in page
    assert "待派单（2）" in page and "待受理（1）" in page


def test_a_refused_report_does_not_stop_the_others(http, as_user, spot, accounts, app):
    mine = post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    with app.app_context():
        other_code = accounts["elsewhere_code"]
    sup = as_user("sup_a")
    token = token_of(sup.get("/queues").text)
    theirs = post(http, **_point_in(app, other_code)).json()["id"]  # another town: out of sup_a's scope
    r = sup.post("/queues/bulk", data={"csrf_token": token, "to": "accepted", "ids": [theirs, mine]})
    assert r.status_code == 200  # after the redirect
    assert "已处理 1 条" in r.text and "未处理" in r.text
    assert statuses(http, [mine, theirs]) == ["accepted", "submitted"]


def _point_in(app, code) -> dict:
    from service.core.models import Area

    with app.app_context():
        point = db.session.scalar(select(func.ST_AsText(func.ST_PointOnSurface(Area.geom))).where(Area.code == code))
    lon, lat = (float(v) for v in point[6:-1].split())
    return {"lon": lon, "lat": lat}


@pytest.mark.parametrize("to,reason", [("duplicate", "逐条"), ("rectified", "逐条")])
def test_moves_that_need_more_than_a_note_are_refused_in_bulk(http, as_user, spot, to, reason):
    report = post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    sup = as_user("sup_a")
    r = sup.post("/queues/bulk", data={"csrf_token": token_of(sup.get("/queues").text), "to": to, "ids": [report]},
                 headers={"Accept": "application/json"})
    assert r.status_code == 422 and reason in r.json()["error"]["message"]
    assert statuses(http, [report]) == ["submitted"]


def test_bulk_needs_the_form_token_and_a_tick(http, as_user, spot):
    report = post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    sup = as_user("sup_a")
    r = sup.post("/queues/bulk", data={"to": "accepted", "ids": [report]})
    assert "页面已过期" in r.text and statuses(http, [report]) == ["submitted"]
    r = sup.post("/queues/bulk", data={"csrf_token": token_of(sup.get("/queues").text), "to": "accepted"})
    assert "请先勾选" in r.text


def test_queues_page_through_the_whole_table_and_keep_the_filter(http, as_user, spot, app, monkeypatch):
    from service.reports import views as pages

    monkeypatch.setattr(pages, "PAGE", 2)
    monkeypatch.setattr(pages, "OVERVIEW_PAGE", 1)
    ids = [post(http, lon=spot["lon"], lat=spot["lat"], category="ebike_charging").json()["id"] for _ in range(5)]
    other = post(http, lon=spot["lon"], lat=spot["lat"], category="exit_blocked").json()["id"]
    sup = as_user("sup_a")
    page = sup.get("/queues", params={"category": "ebike_charging"}).text
    assert "待受理（5）" in page  # the count is over the whole table, not the page
    seen = section_ids(page, "to-accept")
    while True:
        found = re.search(r'href="(/queues\?[^"]*show=to_accept[^"]*after=[^"]+)"', page)
        if not found:
            break
        page = sup.get(found.group(1).replace("&amp;", "&")).text
        assert "category=ebike_charging" in found.group(1)
        assert "<section id=\"overdue\">" not in page  # one queue shown, paged
        seen += section_ids(page, "to-accept")
    assert sorted(seen) == sorted(ids) and other not in seen


@pytest.mark.browser
def test_a_supervisor_accepts_two_reports_at_once_in_chromium(open_page, accounts, http, spot):
    ids = [post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"] for _ in range(2)]
    page, log = signed_in(open_page, accounts, "sup_a", "督办工作台")
    for report_id in ids:
        page.check(f"#pick-{report_id}")
    page.locator("#to-accept button[value=accepted]").click()
    expect(page.locator(".flash.ok")).to_contain_text("已处理 2 条")
    expect(page.locator("#to-dispatch h2")).to_contain_text("（2）")
    assert statuses(http, ids) == ["accepted", "accepted"]
