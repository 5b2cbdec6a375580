"""The dashboard's figures equal brute force over the same rows, for every source, filter and scope.

A seeded set spread over the demo district (every status, several categories and risks, months, durations from
minutes to weeks, deadlines past and to come) is counted again in Python and compared with GET /api/v1/stats;
the trigger-kept cubes are compared with a rebuild from the rows after updates and deletes; the overdue count of
the queues is compared with a plain COUNT(*) at instants either side of deadlines.
"""
import importlib.util
import math
from bisect import bisect_right
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from service.accounts.auth import user_for_token
from service.core.db import db
from service.dashboard import cube
from service.reports import queries
from service.reports.filters import ReportFilter
from service.rules.workflow import CLOCK_RUNNING, OPEN, TRANSITIONS
from tests.support.browser import assert_clean
from tests.support.csp_browser import RECORD_VIOLATIONS
from tests.support.dashboard import CATEGORIES, NOW
from tests.support.paths import MIGRATIONS
from tests.support.volunteer_fixtures import clear_volunteers, make_profiles

ZONE = ZoneInfo("Asia/Shanghai")
MIGRATION = MIGRATIONS / "versions" / "0015_stats.py"


# --- brute force -------------------------------------------------------------------------------------------------

def _visible(rows, who: dict):
    if who["role"] == "town_supervisor":
        return [r for r in rows if r["town"] == who["area"]]
    if who["role"] == "committee_staff":
        return [r for r in rows if r["code"] == who["area"]]
    return rows


def _matching(rows, filt: ReportFilter, now: datetime):
    def local_day(t):
        return t.astimezone(ZONE).date()
    return [r for r in rows if (not filt.statuses or r["status"] in filt.statuses)
            and (not filt.categories or r["category"] in filt.categories)
            and (not filt.risks or r["risk"] in filt.risks)
            and (not filt.since or local_day(r["created_at"]) >= filt.since)
            and (not filt.until or local_day(r["created_at"]) <= filt.until)
            and (not filt.town or r["town"] == filt.town) and (not filt.committee or r["code"] == filt.committee)
            and (not filt.overdue or _overdue(r, now))]


def _overdue(r, now) -> bool:
    return r["status"] in CLOCK_RUNNING and r["due_at"] < now


def _hours(r, column):
    return (r[column] - r["created_at"]).total_seconds() / 3600 if r[column] else None


def _expected(rows, now) -> dict:
    by_status = Counter(r["status"] for r in rows)
    on_time = sum(1 for r in rows if r["rectified_at"] and r["rectified_at"] <= r["due_at"])
    late = sum(1 for r in rows if r["rectified_at"] and r["rectified_at"] > r["due_at"])
    overdue = sum(1 for r in rows if _overdue(r, now))
    return {"total": len(rows), "by_status": {s: by_status[s] for s in TRANSITIONS},
            "open": sum(by_status[s] for s in OPEN), "overdue": overdue, "rectified_on_time": on_time,
            "rectified_late": late,
            "on_time_rate": round(on_time / (on_time + late + overdue), 4) if on_time + late + overdue else None,
            "durations": {k: sorted(h for r in rows if (h := _hours(r, c)) is not None)
                          for k, c in (("hours_to_rectified", "rectified_at"), ("hours_to_verified", "verified_at"))}}


def _assert_same(got: dict, rows: list[dict], now) -> None:
    want = _expected(rows, now)
    for key, value in want.items():
        if key != "durations":
            assert got[key] == value, key
    for key, hours in want["durations"].items():
        assert got[key]["n"] == len(hours)
        for q, name in ((0.5, "median"), (0.9, "p90")):
            if not hours:
                assert got[key][name] is None
                continue
            exact = hours[math.ceil(q * len(hours)) - 1]  # nearest rank
            b = bisect_right(cube.EDGES, exact)  # width_bucket's bucket
            low, high = cube.EDGES[b - 1], cube.EDGES[min(b, len(cube.EDGES) - 1)]
            assert low <= got[key][name] <= high + 0.01, (key, name, exact, got[key][name])
            assert high - low <= max(1.0, 0.19 * exact + 1e-9)  # the stated error bound


def _month(t: datetime) -> str:
    return t.astimezone(ZONE).strftime("%Y-%m")


def _first_of_months_ago(k: int) -> date:
    d = NOW.astimezone(ZONE).date().replace(day=1)
    for _ in range(k):
        d = (d - timedelta(days=1)).replace(day=1)
    return d


FILTERS = {
    "all": ("", "town"),
    "category_risk": (f"category={CATEGORIES[0]},{CATEGORIES[2]}&risk=general", "town"),
    "open": ("status=open", "town"),
    "whole_months": (f"since={_first_of_months_ago(3)}&until={_first_of_months_ago(1) - timedelta(days=1)}",
                     "month"),
    "part_month": (f"since={_first_of_months_ago(2) + timedelta(days=9)}", "rows"),
    "town": ("town={town}", "rollup"),
    "town_months": ("town={town}&since=" + str(_first_of_months_ago(2)), "rows"),
    "committee": ("committee={committee}&category=" + CATEGORIES[1], "rollup"),
    "overdue": ("overdue=1", "rows"),
}


@pytest.mark.parametrize("name", list(FILTERS))
def test_stats_equal_brute_force_for_every_filter_and_source(name, seeded, as_user, accounts, app, clock):
    query, source = FILTERS[name]
    query = query.format(town=accounts["sup_a"]["area"], committee=accounts["staff_a"]["area"])
    now = datetime.now(UTC)
    got = as_user("admin").get(f"/api/v1/stats?{query}&section=hazards")
    assert got.status_code == 200, got.text
    assert list(got.json()["sections"]) == ["hazards"]
    figures = got.json()["sections"]["hazards"]
    with app.test_request_context(f"/?{query}"):
        from flask import request

        filt = ReportFilter.from_args(request.args, default_status="all")
        user = user_for_token(accounts["admin"]["token"])
        level = "town" if not (filt.town or filt.committee) else "committee"
        names = {"town": "report_stats_town", "month": "report_stats_month", "rollup": "report_stats", "rows": "rows"}
        assert cube.choose(user, filt, {level, "status"}, now).name == names[source]
    rows = _matching(seeded, filt, now)
    assert rows, "the filter must match some seeded reports"
    _assert_same(figures["totals"], rows, now)
    key = "town" if level == "town" else "code"
    places = defaultdict(list)
    for r in rows:
        places[r[key]].append(r)
    assert {p["code"] for p in figures["places"]} == set(places)
    for place in figures["places"]:
        _assert_same(place, places[place["code"]], now)
        assert f"{level}={place['code']}" in place["links"]["list"] and place["links"]["map"].startswith("/map?")
    assert {c["category"]: c["n"] for c in figures["by_category"]} == Counter(r["category"] for r in rows)
    months = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        m = months[_month(r["created_at"])]
        m[0] += 1
        m[1] += bool(r["rectified_at"] and r["rectified_at"] <= r["due_at"])
        m[2] += bool(r["rectified_at"] and r["rectified_at"] > r["due_at"])
    assert {m["month"]: [m["n"], m["rectified_on_time"], m["rectified_late"]] for m in figures["by_month"]} == months


@pytest.mark.parametrize("who", ["sup_a", "staff_a"])
def test_scope_a_town_supervisor_and_committee_staff_see_only_their_own(who, seeded, as_user, accounts, clock):
    me = accounts[who]
    session = as_user(who)
    figures = session.get("/api/v1/stats").json()["sections"]["hazards"]
    mine = _visible(seeded, me)
    _assert_same(figures["totals"], mine, datetime.now(UTC))
    assert {p["code"] for p in figures["places"]} == {r["code"] for r in mine}
    assert figures["level"] == "committee"
    # Asking for another town narrows the user's scope; it never widens it.
    other = accounts["sup_b"]["area"]
    elsewhere = session.get(f"/api/v1/stats?town={other}").json()["sections"]["hazards"]
    assert elsewhere["totals"]["total"] == 0 and elsewhere["places"] == []
    page = session.get("/dashboard")
    assert page.status_code == 200
    outside = {r["code"] for r in seeded} - {r["code"] for r in mine}
    assert outside and not any(code in page.text for code in outside)
    assert f'data-code="{sorted(r["code"] for r in mine)[0]}"' in page.text


def test_people_without_a_dashboard_are_refused(as_user, anon_http):
    assert anon_http.get("/api/v1/stats").status_code == 401
    refused = as_user("vol").get("/api/v1/stats")
    assert refused.status_code == 403 and "统计" in refused.json()["error"]["message"]
    assert as_user("vol").get("/dashboard").status_code == 403


@pytest.mark.parametrize("query", ["since=2026-13-01", "status=nope", "category=nope",
                                   "since=2026-05-02&until=2026-05-01", "section=hazards,nope"])
def test_bad_filters_are_a_422_in_chinese(query, as_user):
    got = as_user("admin").get(f"/api/v1/stats?{query}")
    assert got.status_code == 422
    assert any("\u4e00" <= ch <= "\u9fff" for ch in got.json()["error"]["message"])


def _cube_rows(table: str, key: str) -> dict:
    found = {}
    for row in db.session.execute(text(f"SELECT {key}, n, on_time, late, rectify_hist, verify_hist FROM {table}")):
        *k, n, on_time, late, rh, vh = row
        if n:
            found[tuple(k)] = (n, on_time, late, rh if rh and any(rh) else None, vh if vh and any(vh) else None)
    return found


def test_triggers_keep_the_cubes_exact_through_moves_and_deletes(seeded, ctx):
    spec = importlib.util.spec_from_file_location("m0015", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert (migration.ZONE, migration.EDGES) == (cube.ZONE, cube.EDGES)
    db.session.execute(text("UPDATE report SET status = 'rectifying', rectified_at = NULL, verified_at = NULL"
                            " WHERE status = 'rectified' AND category = 'exit_blocked'"))  # sent back
    db.session.execute(text("UPDATE report SET status = 'verified', verified_at = rectified_at + interval '5 hours'"
                            " WHERE status = 'rectified'"))
    db.session.execute(text("UPDATE report SET status = 'rectified', rectified_at = created_at + interval '30 min'"
                            " WHERE status = 'rectifying' AND risk_level = 'major'"))
    db.session.execute(text("UPDATE report SET committee_id = (SELECT min(id) FROM area WHERE level = 'committee'"
                            " AND parent_id = report.town_id) WHERE category = 'combustibles'"))  # reassigned
    db.session.execute(text("DELETE FROM report WHERE risk_level = 'suspected_severe' AND status = 'rejected'"))
    db.session.commit()
    for table, (key, _pk) in migration.CUBES.items():
        rebuilt = f"({migration._grouped(key, 'report')}) x"
        assert _cube_rows(table, key) == _cube_rows(rebuilt, key), table


@pytest.mark.parametrize("who", ["admin", "sup_a", "staff_a"])
def test_fast_overdue_count_equals_count_star_across_deadlines(who, seeded, ctx, accounts):
    user = user_for_token(accounts[who]["token"])
    where = {"admin": "", "sup_a": "AND town_id IN (SELECT id FROM area WHERE code = :code)",
             "staff_a": "AND committee_id IN (SELECT id FROM area WHERE code = :code)"}[who]
    running = sorted(r["due_at"] for r in _visible(seeded, accounts[who]) if r["status"] in CLOCK_RUNNING)
    edges = [running[0], running[len(running) // 2], running[-1], NOW]
    tick = timedelta(microseconds=1)
    for due in edges:
        for now in (due - tick, due, due + tick):
            narrowed = ReportFilter(overdue=True, categories=(CATEGORIES[0],), statuses=("accepted", "rectified"))
            for filt, sql in ((ReportFilter(overdue=True), ""),
                              (narrowed, f"AND category = '{CATEGORIES[0]}' AND status = 'accepted'")):
                plain = db.session.scalar(text(
                    "SELECT count(*) FROM report WHERE status IN ('submitted', 'accepted', 'dispatched', 'rectifying')"
                    f" AND due_at < :now {where} {sql}"), {"now": now, "code": accounts[who]["area"]})
                assert queries.count_reports(user, filt, now=now) == plain, (who, now, filt)


def test_volunteer_section_counts_active_volunteers_and_approved_hours(app, accounts, owner_engine, as_user):
    people = make_profiles(accounts, owner_engine)
    try:
        with owner_engine.begin() as conn:
            conn.execute(text("UPDATE volunteer SET active = false WHERE user_id = :id"), {"id": people["vol2"]})
            entries = [("vol", "2026-09-03", 2.5, True), ("vol", "2026-09-20", 1.0, True),
                       ("vol", "2026-10-01", 3.0, False), ("vol_sib", "2026-10-02", 4.0, True),
                       ("vol_far", "2026-10-02", 8.0, True), ("vol2", "2026-10-05", 1.5, None)]
            for who, day, hours, approved in entries:
                entry = conn.scalar(text(
                    "INSERT INTO service_hour_entry (volunteer_id, source, hours, service_date)"
                    " VALUES (:v, 'manual', :h, :d) RETURNING id"), {"v": people[who], "h": hours, "d": day})
                if approved is not None:
                    conn.execute(text("INSERT INTO service_hour_decision (entry_id, approved, decided_by)"
                                      " VALUES (:e, :a, :by)"), {"e": entry, "a": approved,
                                                                "by": accounts["admin"]["id"]})
        admin = as_user("admin").get("/api/v1/stats").json()["sections"]["volunteers"]
        assert admin["active_volunteers"] == 3
        assert {m["month"]: m["hours"] for m in admin["hours_by_month"]} == {"2026-09": 3.5, "2026-10": 12.0}
        town = as_user("sup_a").get("/api/v1/stats?since=2026-10-01").json()["sections"]["volunteers"]
        assert town["active_volunteers"] == 2  # vol and vol_sib; vol_far is in another town
        assert {m["month"]: m["hours"] for m in town["hours_by_month"]} == {"2026-10": 4.0}
    finally:
        clear_volunteers(owner_engine)


@pytest.mark.browser
def test_dashboard_draws_its_charts_under_the_csp(seeded, open_page, accounts):
    headers = {"Authorization": f"Bearer {accounts['admin']['token']}"}
    page, log = open_page("/dashboard", extra_http_headers=headers)
    page.add_init_script(RECORD_VIOLATIONS)
    page.reload(wait_until="load")
    charts = page.locator(".chart")
    listed = page.evaluate("() => Object.values(JSON.parse(document.getElementById('dashboard-data').textContent)"
                           ".sections).flatMap(s => s.charts || []).length")
    assert charts.count() == listed >= 4  # hazards by place, category and month; volunteer hours; other sections
    for i in range(charts.count()):
        page.wait_for_function("(box) => box.dataset.drawn === '1'", arg=charts.nth(i).element_handle())
        assert charts.nth(i).locator("canvas").count() >= 1
    box = page.locator("#chart-hazards-places").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # a tooltip, drawn on the canvas
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__csp") == []
    assert_clean(log)
    assert page.locator("#hazard-places tbody tr").count() == len({r["town"] for r in seeded})


def test_the_queues_show_the_fast_overdue_total(seeded, as_user, accounts, clock):
    now = datetime.now(UTC)  # the stopped clock the live server reads too
    for who in ("admin", "sup_a"):
        page = as_user(who).get("/queues").text
        shown = page.split('id="overdue"', 1)[1].split("</h2>", 1)[0]
        want = sum(1 for r in _visible(seeded, accounts[who]) if _overdue(r, now))
        assert f"（{want}）" in shown, (who, want, shown)
