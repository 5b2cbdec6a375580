"""Certificates follow the ledger and the account, and hours keep to a date window, over real HTTP (issue 27.9).

A certificate link names the volunteer; its check page shows the approved hours and stars the ledger holds now
(a correction after printing shows, with the printed figures beside it), and "已失效" once the account is
disabled or gone. Hours may only be recorded for days within HOURS_MAX_AGE_DAYS of today, not before the
volunteer joined and not in the future; a refused entry stores nothing.
"""
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from service.volunteers import certificate
from tests.support.accounts import enable_again
from tests.support.volunteer_fixtures import clear_volunteers, make_profiles

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the service's day (LOCAL_TIMEZONE), not the machine's
YESTERDAY = TODAY - timedelta(days=1)


@pytest.fixture
def roster(app, accounts, owner_engine):
    yield make_profiles(accounts, owner_engine)
    clear_volunteers(owner_engine)


@pytest.fixture
def one_star_at_5h(app):
    saved = app.config["VOLUNTEER_STAR_HOURS"]
    app.config["VOLUNTEER_STAR_HOURS"] = (5, 50)
    yield
    app.config["VOLUNTEER_STAR_HOURS"] = saved


def add(session, vid, **body):
    return session.post(f"/api/v1/volunteers/{vid}/hours", json=body)


def approve(as_user, entry_id: int) -> None:
    assert as_user("sup_a").post(f"/api/v1/volunteers/hours/{entry_id}/approve").status_code == 200


def certificate_path(session, app) -> str:
    page = session.get("/me/certificate")
    assert page.status_code == 200, page.text
    url = re.search(r'id="verify-link" class="small">([^<]+)<', page.text).group(1)
    return url[len(app.config["PUBLIC_BASE_URL"]):]


def shown(page, field: str) -> str | None:
    found = re.search(rf'id="{field}">([^<]*)<', page.text)
    return found.group(1).strip() if found else None


def entries(as_user, vid) -> list[dict]:
    r = as_user("staff_a").get(f"/api/v1/volunteers/{vid}/hours")
    assert r.status_code == 200, r.text
    return r.json()["entries"]


def test_a_correction_after_printing_changes_what_the_certificate_link_shows(app, as_user, anon_http, roster,
                                                                             one_star_at_5h):
    staff, vid = as_user("staff_a"), roster["vol"]
    first = add(staff, vid, hours=8, date=YESTERDAY.isoformat())
    assert first.status_code == 201, first.text
    approve(as_user, first.json()["id"])
    path = certificate_path(as_user("vol"), app)
    printed = anon_http.get(path)
    assert printed.status_code == 200 and "内容未被改动" in printed.text
    assert (shown(printed, "v-hours"), shown(printed, "v-stars")) == ("8.00 小时", "★")
    assert 'id="v-changed"' not in printed.text

    fix = add(staff, vid, hours=3, date=YESTERDAY.isoformat(), corrects=first.json()["id"], note="少算了")
    assert fix.status_code == 201, fix.text
    pending = anon_http.get(path)
    assert shown(pending, "v-hours") == "8.00 小时"  # a correction counts once approved, like any entry
    approve(as_user, fix.json()["id"])
    now = anon_http.get(path)
    assert now.status_code == 200 and "内容未被改动" in now.text
    assert (shown(now, "v-hours"), shown(now, "v-stars")) == ("3.00 小时", "未评星")
    assert "证书打印后服务时长有更正" in now.text and "8.00 小时、★" in now.text  # the printed figures, named as such
    assert now.headers["Cache-Control"] == "no-cache"


def test_a_disabled_account_or_a_missing_profile_makes_the_link_revoked(app, as_user, accounts, anon_http, roster):
    entry = add(as_user("staff_a"), roster["vol2"], hours=6, date=YESTERDAY.isoformat())
    approve(as_user, entry.json()["id"])
    path = certificate_path(as_user("vol2"), app)
    assert shown(anon_http.get(path), "v-hours") == "6.00 小时"
    result = app.test_cli_runner().invoke(args=["users", "disable", accounts["vol2"]["phone"]])
    assert result.exit_code == 0, result.output
    try:
        page = anon_http.get(path)
        assert page.status_code == 200 and "已失效" in page.text and 'id="revoked"' in page.text
        assert "内容未被改动" not in page.text and shown(page, "v-hours") is None and "6.00" not in page.text
    finally:
        enable_again(app, accounts, "vol2")
    assert shown(anon_http.get(path), "v-hours") == "6.00 小时"  # enabled again, valid again

    with app.test_request_context():  # a genuine link whose account or profile is gone (erased)
        gone = certificate.sign(certificate.Certificate(2_000_000_000, "张**", 1, "120.00", YESTERDAY))
        staff_only = certificate.sign(certificate.Certificate(accounts["staff_a"]["id"], "张**", 1, "120.00",
                                                              YESTERDAY))
    for token in (gone, staff_only):
        page = anon_http.get(f"/certificates/{token}")
        assert page.status_code == 200 and "已失效" in page.text and "120.00" not in page.text
    forged = anon_http.get(f"/certificates/{gone}x")
    assert forged.status_code == 404 and "证书核验失败" in forged.text  # still signed: an edit is refused


def test_hours_from_1990_before_joining_or_ahead_are_refused_and_nothing_is_stored(as_user, roster, owner_engine):
    staff, vid, newcomer = as_user("staff_a"), roster["vol"], roster["vol2"]
    earliest = (TODAY - timedelta(days=365)).isoformat()
    for body in ({"hours": 2, "date": "1990-06-01"},
                 {"started_at": "1990-06-01T09:00:00+08:00", "ended_at": "1990-06-01T11:00:00+08:00"},
                 {"hours": 2, "date": (TODAY - timedelta(days=366)).isoformat()}):
        r = add(staff, vid, **body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "hours_too_old", r.text
        message = r.json()["error"]["message"]
        assert earliest in message and TODAY.isoformat() in message and "365 天" in message, message

    with owner_engine.begin() as conn:  # vol2 joined ten days ago
        conn.execute(text("UPDATE volunteer SET created_at = now() - interval '10 days' WHERE user_id = :v"),
                     {"v": newcomer})
    joined = (TODAY - timedelta(days=10)).isoformat()
    r = add(staff, newcomer, hours=2, date=(TODAY - timedelta(days=20)).isoformat())
    assert r.status_code == 422 and r.json()["error"]["code"] == "hours_before_joining", r.text
    assert "加入" in r.json()["error"]["message"] and joined in r.json()["error"]["message"]
    r = add(staff, newcomer, hours=2, date="1990-06-01")
    assert r.status_code == 422 and joined in r.json()["error"]["message"]  # the range that binds is named
    r = add(staff, newcomer, hours=2, date=(TODAY + timedelta(days=1)).isoformat())
    assert r.status_code == 422 and r.json()["error"]["code"] == "future_hours"
    assert entries(as_user, vid) == [] and entries(as_user, newcomer) == []

    assert add(staff, newcomer, hours=2, date=joined).status_code == 201  # the day they joined counts
    assert add(staff, vid, hours=2, date=earliest).status_code == 201  # the window's first day too
    assert [e["date"] for e in entries(as_user, vid)] == [earliest]


def test_the_window_is_configurable_and_an_old_entry_can_still_be_corrected(app, as_user, roster):
    staff, vid = as_user("staff_a"), roster["vol"]
    old_day = (TODAY - timedelta(days=40)).isoformat()
    old = add(staff, vid, hours=4, date=old_day)
    assert old.status_code == 201, old.text
    approve(as_user, old.json()["id"])
    saved = app.config["HOURS_MAX_AGE_DAYS"]
    app.config["HOURS_MAX_AGE_DAYS"] = 30
    try:
        r = add(staff, vid, hours=1, date=(TODAY - timedelta(days=31)).isoformat())
        assert r.status_code == 422 and "30 天" in r.json()["error"]["message"]
        assert (TODAY - timedelta(days=30)).isoformat() in r.json()["error"]["message"]
        assert add(staff, vid, hours=1, date=(TODAY - timedelta(days=30)).isoformat()).status_code == 201
        moved = add(staff, vid, hours=3, date="1990-06-01", corrects=old.json()["id"])
        assert moved.status_code == 422 and moved.json()["error"]["code"] == "hours_too_old"
        fix = add(staff, vid, hours=3, date=old_day, corrects=old.json()["id"])  # same day: put right
        assert fix.status_code == 201, fix.text
    finally:
        app.config["HOURS_MAX_AGE_DAYS"] = saved
    assert len(entries(as_user, vid)) == 3
