"""The volunteers API over real HTTP: scope, keyset pages, the ledger's rules and approvals, stars."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.support.reports_api import post
from tests.support.volunteer_fixtures import clear_volunteers, make_profiles
from tests.support.workflow_api import walk

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the service's day (LOCAL_TIMEZONE), not the machine's
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()


@pytest.fixture
def profiles(app, accounts, owner_engine):
    yield make_profiles(accounts, owner_engine)
    clear_volunteers(owner_engine)


def add(session, vid, **body):
    return session.post(f"/api/v1/volunteers/{vid}/hours", json=body)


def summary(session, vid):
    r = session.get(f"/api/v1/volunteers/{vid}")
    assert r.status_code == 200, r.text
    return r.json()


def ids(session, **params) -> list[int]:
    r = session.get("/api/v1/volunteers", params=params)
    assert r.status_code == 200, r.text
    return [v["id"] for v in r.json()["volunteers"]]


def test_each_role_sees_its_own_scope(as_user, profiles):
    p = profiles
    assert ids(as_user("admin")) == sorted(p.values())
    assert ids(as_user("sup_a")) == sorted([p["vol"], p["vol2"], p["vol_sib"]])
    assert ids(as_user("staff_a")) == sorted([p["vol"], p["vol2"]])
    assert ids(as_user("staff_sibling")) == [p["vol_sib"]]
    assert ids(as_user("sup_b")) == [p["vol_far"]]
    assert ids(as_user("vol")) == [p["vol"]]
    assert ids(as_user("staff_a"), skill="电工", active="1") == sorted([p["vol"], p["vol2"]])
    assert ids(as_user("staff_a"), skill="厨师") == []


def test_keyset_pages_cover_everyone_once(as_user, profiles):
    admin, seen, cursor = as_user("admin"), [], "0"
    while cursor:
        body = admin.get("/api/v1/volunteers", params={"limit": 1, "cursor": cursor}).json()
        assert len(body["volunteers"]) <= 1
        seen += [v["id"] for v in body["volunteers"]]
        cursor = body["next_cursor"]
    assert seen == sorted(profiles.values())
    bad = admin.get("/api/v1/volunteers", params={"limit": 0})
    assert bad.status_code == 422 and "limit" in bad.json()["error"]["message"]


def test_out_of_scope_answers_like_nonexistent(as_user, profiles):
    vid = profiles["vol"]
    assert as_user("staff_a").get(f"/api/v1/volunteers/{vid}").status_code == 200
    hidden = as_user("staff_b").get(f"/api/v1/volunteers/{vid}")
    missing = as_user("staff_b").get("/api/v1/volunteers/99999999")
    assert hidden.status_code == missing.status_code == 404 and hidden.json() == missing.json()
    assert add(as_user("staff_a"), vid, hours=1, date=YESTERDAY).status_code == 201
    assert add(as_user("staff_b"), vid, hours=1, date=YESTERDAY).json() == missing.json()
    assert as_user("vol2").get(f"/api/v1/volunteers/{vid}/hours").status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/volunteers/²", "/api/v1/volunteers/99999999999999999999",
                                  "/api/v1/volunteers/-1/hours"])
def test_odd_ids_are_404_and_odd_cursors_422(as_user, profiles, path):
    assert as_user("admin").get(path).status_code == 404
    assert as_user("admin").post("/api/v1/volunteers/hours/²/approve").status_code == 404
    for params in ({"cursor": "²"}, {"limit": "1e3"}, {"limit": "201"}, {"active": "maybe"}):
        assert as_user("admin").get("/api/v1/volunteers", params=params).status_code == 422


def test_entry_counts_only_once_approved_by_someone_else(as_user, profiles):
    vid, staff = profiles["vol"], as_user("staff_a")
    entry = add(staff, vid, hours=3, date=YESTERDAY, note="消防宣传").json()
    assert entry["status"] == "pending"
    mine = as_user("vol").get("/api/v1/volunteers/me").json()
    assert (mine["approved_hours"], mine["pending_hours"]) == (0, 3)
    assert as_user("vol").post(f"/api/v1/volunteers/hours/{entry['id']}/approve").status_code == 403
    own = staff.post(f"/api/v1/volunteers/hours/{entry['id']}/approve")
    assert own.status_code == 403 and "其他工作人员" in own.json()["error"]["message"]
    assert as_user("sup_b").post(f"/api/v1/volunteers/hours/{entry['id']}/approve").status_code == 404
    ok = as_user("sup_a").post(f"/api/v1/volunteers/hours/{entry['id']}/approve", json={"note": "属实"})
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    again = as_user("admin").post(f"/api/v1/volunteers/hours/{entry['id']}/reject")
    assert again.status_code == 409
    assert summary(staff, vid)["approved_hours"] == 3


@pytest.mark.parametrize(("body", "status", "code", "words"), [
    ({"hours": -1, "date": YESTERDAY}, 422, "negative_hours", "负数"),
    ({"hours": 25, "date": YESTERDAY}, 422, "hours_over_day", "24 小时"),
    ({"hours": "abc", "date": YESTERDAY}, 422, "bad_hours", "数字"),
    ({"hours": 1e300, "date": YESTERDAY}, 422, "bad_hours", "数字"),
    ({"hours": 2}, 422, "bad_date", "日期"),
    ({"hours": 2, "date": (TODAY + timedelta(days=2)).isoformat()}, 422, "future_hours", "尚未发生"),
    ({"started_at": f"{YESTERDAY}T12:00:00+08:00", "ended_at": f"{YESTERDAY}T09:00:00+08:00"}, 422,
     "span_backwards", "晚于"),
])
def test_bad_entries_are_refused_in_chinese(as_user, profiles, body, status, code, words):
    r = add(as_user("staff_a"), profiles["vol"], **body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and words in r.json()["error"]["message"]


def test_a_day_holds_at_most_24_hours(as_user, profiles):
    staff, vid = as_user("staff_a"), profiles["vol"]
    assert add(staff, vid, hours=20, date=YESTERDAY).status_code == 201
    over = add(staff, vid, hours=4.5, date=YESTERDAY)
    assert over.status_code == 422 and over.json()["error"]["code"] == "day_over_24h"
    assert add(staff, vid, hours=4, date=YESTERDAY).status_code == 201  # exactly 24
    assert add(staff, profiles["vol2"], hours=4, date=YESTERDAY).status_code == 201  # another volunteer


def test_overlapping_spans_are_refused_until_the_first_is_refused(as_user, profiles):
    staff, vid = as_user("staff_a"), profiles["vol"]
    first = add(staff, vid, started_at=f"{YESTERDAY}T09:00:00+08:00", ended_at=f"{YESTERDAY}T12:00:00+08:00")
    assert first.status_code == 201 and first.json()["hours"] == 3
    clash = add(staff, vid, started_at=f"{YESTERDAY}T11:00:00+08:00", ended_at=f"{YESTERDAY}T13:00:00+08:00")
    assert clash.status_code == 409 and "重叠" in clash.json()["error"]["message"]
    after = add(staff, vid, started_at=f"{YESTERDAY}T12:00:00+08:00", ended_at=f"{YESTERDAY}T13:00:00+08:00")
    assert after.status_code == 201  # touching, not overlapping
    assert as_user("sup_a").post(f"/api/v1/volunteers/hours/{first.json()['id']}/reject").status_code == 200
    retry = add(staff, vid, started_at=f"{YESTERDAY}T10:00:00+08:00", ended_at=f"{YESTERDAY}T11:30:00+08:00")
    assert retry.status_code == 201


def test_a_correction_replaces_the_original_once_approved(as_user, profiles):
    staff, sup, vid = as_user("staff_a"), as_user("sup_a"), profiles["vol"]
    original = add(staff, vid, hours=3, date=YESTERDAY).json()["id"]
    assert sup.post(f"/api/v1/volunteers/hours/{original}/approve").status_code == 200
    fix = add(staff, vid, hours=2, date=YESTERDAY, corrects=original)
    assert fix.status_code == 201 and fix.json()["corrects"] == original
    assert summary(staff, vid)["approved_hours"] == 3  # until the correction is approved
    twice = add(staff, vid, hours=1, date=YESTERDAY, corrects=original)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_corrected"
    assert sup.post(f"/api/v1/volunteers/hours/{fix.json()['id']}/approve").status_code == 200
    assert summary(staff, vid)["approved_hours"] == 2
    entries = staff.get(f"/api/v1/volunteers/{vid}/hours").json()["entries"]
    assert [(e["hours"], e["status"]) for e in entries] == [(2, "approved"), (3, "approved")]


def test_only_staff_record_hours(as_user, profiles):
    r = add(as_user("vol"), profiles["vol"], hours=1, date=YESTERDAY)
    assert r.status_code == 403 and "工作人员" in r.json()["error"]["message"]


def test_stars_and_progress_follow_the_configured_thresholds(app, as_user, profiles):
    staff, sup, vid = as_user("staff_a"), as_user("sup_a"), profiles["vol"]
    saved = app.config["VOLUNTEER_STAR_HOURS"]
    app.config["VOLUNTEER_STAR_HOURS"] = (10, 30, 60)
    try:
        for days_ago, hours in ((1, 20), (2, 20), (3, 5)):
            entry = add(staff, vid, hours=hours, date=(TODAY - timedelta(days=days_ago)).isoformat()).json()
            assert sup.post(f"/api/v1/volunteers/hours/{entry['id']}/approve").status_code == 200
        add(staff, vid, hours=9, date=(TODAY - timedelta(days=4)).isoformat())  # pending: not counted
        mine = as_user("vol").get("/api/v1/volunteers/me").json()
        assert (mine["approved_hours"], mine["stars"], mine["next_star_hours"]) == (45, 2, 60)
        assert mine["hours_to_next_star"] == 15 and mine["progress_to_next_star"] == 0.5
    finally:
        app.config["VOLUNTEER_STAR_HOURS"] = saved
    default = summary(staff, vid)
    assert (default["stars"], default["next_star_hours"], default["hours_to_next_star"]) == (0, 100, 55)


def test_no_profile_is_a_clear_404(as_user, profiles):
    r = as_user("staff_a").get("/api/v1/volunteers/me")
    assert r.status_code == 404 and "志愿者" in r.json()["error"]["message"]


def test_a_verified_report_credits_its_volunteer_reporter(app, as_user, spot, profiles):
    report = post(as_user("vol"), lon=spot["lon"], lat=spot["lat"]).json()["id"]
    walk(as_user, report, ["accepted", "dispatched", "rectifying", "rectified"])
    assert as_user("vol").get(f"/api/v1/volunteers/{profiles['vol']}/hours").json()["entries"] == []
    walk(as_user, report, ["verified"])
    entries = as_user("vol").get(f"/api/v1/volunteers/{profiles['vol']}/hours").json()["entries"]
    assert [(e["source"], e["hours"], e["status"], e["report_id"]) for e in entries] == [
        ("report", app.config["REPORT_CREDIT_HOURS"], "pending", report)]


def test_the_ledger_is_append_only(as_user, owner_engine, profiles):
    entry = add(as_user("staff_a"), profiles["vol"], hours=1, date=YESTERDAY).json()["id"]
    assert as_user("sup_a").post(f"/api/v1/volunteers/hours/{entry}/approve").status_code == 200
    for sql in ("UPDATE service_hour_entry SET hours = 9", "DELETE FROM service_hour_decision",
                "TRUNCATE service_hour_decision"):
        with pytest.raises(DBAPIError, match="append-only"), owner_engine.begin() as conn:
            conn.execute(text(sql))


def _at_once(calls) -> list:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(c) for c in calls]]


def test_racing_entries_still_hold_24_hours_a_day(as_user, profiles):
    sessions = [as_user("staff_a"), as_user("sup_a"), as_user("admin")]
    results = _at_once([lambda s=s: add(s, profiles["vol"], hours=13, date=YESTERDAY) for s in sessions])
    assert sorted(r.status_code for r in results) == [201, 422, 422]


def test_racing_approvals_decide_once(as_user, profiles):
    entry = add(as_user("staff_a"), profiles["vol"], hours=2, date=YESTERDAY).json()["id"]
    sessions = [as_user("sup_a"), as_user("admin"), as_user("staff_sibling")]
    results = _at_once([lambda s=s: s.post(f"/api/v1/volunteers/hours/{entry}/approve") for s in sessions[:2]])
    assert sorted(r.status_code for r in results) == [200, 409]
    assert sessions[2].post(f"/api/v1/volunteers/hours/{entry}/approve").status_code == 404  # other committee
