"""Recurrence: a new report at a spot where the same hazard was verified lately is linked to it and counted."""
import re

from tests.support.detail_triage import moved_elsewhere, report_at
from tests.support.recurrence import links_plan
from tests.support.reports_api import post
from tests.support.seeding import seed_like
from tests.support.workflow_api import walk

FIXED = ["accepted", "dispatched", "rectifying", "rectified", "verified"]
METRE_LAT = 1 / 111_320  # degrees of latitude per metre


def verified_at(http, as_user, spot, category="ebike_charging", lat=None) -> str:
    r = post(http, lon=spot["lon"], lat=lat or spot["lat"], category=category)
    assert r.status_code == 201, r.text
    walk(as_user, r.json()["id"], FIXED)
    return r.json()["id"]


def test_same_category_within_radius_is_a_recurrence(http, as_user, spot):
    done = verified_at(http, as_user, spot)
    near = {"lon": spot["lon"], "lat": spot["lat"] + 20 * METRE_LAT}
    body = post(http, lon=near["lon"], lat=near["lat"]).json()
    assert body["recurrence_of"] == done and "recurrence" in body["warnings"]
    other = post(http, lon=spot["lon"], lat=spot["lat"], category="combustibles").json()
    assert other["recurrence_of"] is None and "recurrence" not in other["warnings"]
    far = post(http, lon=spot["lon"], lat=spot["lat"] + 40 * METRE_LAT).json()
    assert far["recurrence_of"] is None


def test_open_reports_are_no_recurrence_and_the_window_is_configurable(app, http, as_user, spot):
    still_open = report_at(http, spot)
    walk(as_user, still_open, FIXED[:-1])  # rectified, not verified yet
    assert post(http, lon=spot["lon"], lat=spot["lat"]).json()["recurrence_of"] is None
    verified_at(http, as_user, spot)
    before, app.config["RECURRENCE_WINDOW_DAYS"] = app.config["RECURRENCE_WINDOW_DAYS"], 0
    try:
        assert post(http, lon=spot["lon"], lat=spot["lat"]).json()["recurrence_of"] is None
    finally:
        app.config["RECURRENCE_WINDOW_DAYS"] = before


def test_detail_page_shows_the_earlier_report_its_after_photo_and_verifier(http, as_user, spot):
    done = verified_at(http, as_user, spot)
    again = post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    page = as_user("sup_a").get(f"/reports/{again}").text
    section = re.search(r'<section class="recurrence" id="recurrence">(.*?)</section>', page, re.S).group(1)
    assert f'data-id="{done}"' in section and "整改后复发" in page
    assert "测试sup_a" in section  # walk() verifies as sup_a
    thumb = re.search(r'<img src="([^"]+)"[^>]*class="earlier-after"', section).group(1)
    assert as_user("sup_a").get(thumb).headers["Content-Type"] == "image/jpeg"
    assert 'id="recurrence"' not in as_user("sup_a").get(f"/reports/{done}").text


def test_an_earlier_report_out_of_scope_is_not_shown(http, as_user, accounts, spot):
    theirs = report_at(http, spot)
    walk(as_user, theirs, FIXED[:-1])
    moved_elsewhere(http, accounts, theirs)
    assert http.post(f"/api/v1/reports/{theirs}/transitions", json={"to": "verified"}).status_code == 200
    again = post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    assert http.get(f"/api/v1/reports/{again}").json()["recurrence_of"] == theirs
    sup = as_user("sup_a")
    assert sup.get(f"/api/v1/reports/{again}").json()["recurrence_of"] is None
    assert 'id="recurrence"' not in sup.get(f"/reports/{again}").text


def test_figures_count_recurrences_against_the_on_time_rate(http, as_user, spot):
    verified_at(http, as_user, spot)
    verified_at(http, as_user, spot, category="combustibles", lat=spot["lat"] + 100 * METRE_LAT)
    post(http, lon=spot["lon"], lat=spot["lat"])  # ebike_charging again: done recurs
    figures = http.get("/api/v1/recurrence").json()["recurrence"]
    assert figures["total"] == {"verified": 2, "recurred": 1, "on_time": 1, "recurrence_rate": 0.5,
                                "on_time_rate": 0.5}
    assert figures["radius_m"] == 30 and figures["window_days"] == 90
    by_category = {c["code"]: c for c in figures["by_category"]}
    assert by_category["ebike_charging"]["recurrence_rate"] == 1.0 and by_category["ebike_charging"]["on_time"] == 0
    assert by_category["combustibles"]["on_time_rate"] == 1.0
    [committee] = figures["by_committee"]
    assert committee["code"] == spot["code"] and committee["recurred"] == 1
    assert as_user("sup_a").get("/api/v1/recurrence").json()["recurrence"]["total"]["verified"] == 2
    assert as_user("sup_b").get("/api/v1/recurrence").json()["recurrence"]["total"]["verified"] == 0
    one = http.get("/api/v1/recurrence?category=combustibles").json()["recurrence"]["total"]
    assert one["verified"] == 1 and one["recurred"] == 0


def test_figures_refuse_bad_input_in_chinese(http, anon_http):
    r = http.get("/api/v1/recurrence?since=yesterday")
    assert r.status_code == 422 and "YYYY-MM-DD" in r.json()["error"]["message"]
    r = http.get("/api/v1/recurrence?since=2026-02-01&until=2026-01-01")
    assert r.status_code == 422 and "开始日期" in r.json()["error"]["message"]
    assert anon_http.get("/api/v1/recurrence").status_code == 401


def test_recurrence_query_uses_the_verified_index(app, owner_engine, http, spot):
    seed_like(app, owner_engine, report_at(http, spot), "verified")
    plan = links_plan(app, spot["lon"], spot["lat"], "ebike_charging")
    found = r"Index Scan using ix_report_verified_geog on report r[^\n]*\n\s+Index Cond: \(\(location\)::geography &&"
    assert re.search(found, plan), plan


def test_stats_and_dashboard_carry_the_recurrence_section(http, as_user, accounts, spot):
    verified_at(http, as_user, spot)
    post(http, lon=spot["lon"], lat=spot["lat"])
    section = http.get("/api/v1/stats").json()["sections"]["recurrence"]
    assert section["total"]["recurred"] == 1 and section["charts"][0]["series"][0]["data"] == [1.0]
    # District-wide the board lists towns, as the hazards section does; within a town, its committees.
    [town] = section["by_town"]
    assert "by_committee" not in section and town["code"] == spot["town"] and town["recurrence_rate"] == 1.0
    within = http.get("/api/v1/stats", params={"town": town["code"]}).json()["sections"]["recurrence"]
    assert [c["code"] for c in within["by_committee"]] == [spot["code"]] and within["total"] == section["total"]
    mine = as_user("sup_a").get("/api/v1/stats").json()["sections"]["recurrence"]
    assert [c["code"] for c in mine["by_committee"]] == [spot["code"]] and "by_town" not in mine
    sibling = http.get("/api/v1/stats", params={"committee": accounts["sibling_code"]}).json()["sections"]
    assert sibling["recurrence"]["total"]["verified"] == 0 and sibling["recurrence"]["by_committee"] == []
    page = as_user("sup_a").get("/dashboard").text
    assert 'id="recurrence-totals"' in page and "复发的隐患不计入按时整改" in page and "100.0%" in page
