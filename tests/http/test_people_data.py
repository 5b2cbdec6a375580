"""A person's data (service/privacy/people.py): `hazard-snap users export-data` writes everything held about one
person as JSON; `hazard-snap users erase` anonymises someone who has left, keeping their reports, hours and stars
under the same id, ending their sessions and tokens, and refusing the last active district admin."""
import json
import re

from sqlalchemy import text

from service.core.db import db
from service.core.models import User
from service.volunteers import stars
from tests.support.accounts import cli
from tests.support.live import LiveSession
from tests.support.reports_api import post

NAME, PHONE = "离开的志愿者", "13700001234"


def _volunteer_with_a_report_and_hours(app, live_server, owner_engine, spot, accounts) -> tuple[int, str, str]:
    out = cli(app, "users", "create", "--name", NAME, "--phone", PHONE, "--role", "volunteer", "--token")
    assert out.exit_code == 0, out.output
    uid, token = int(re.search(r"created user (\d+)", out.output).group(1)), re.search(r"token: (\S+)",
                                                                                         out.output).group(1)
    with owner_engine.begin() as conn:
        conn.execute(text("INSERT INTO volunteer (user_id, real_name, committee_code, team, skills, created_at)"
                          " VALUES (:u, '王小明', :c, '一队', ARRAY['急救'], now() - interval '30 days')"),
                     {"u": uid, "c": accounts["staff_a"]["area"]})
        entries = conn.scalars(text("INSERT INTO service_hour_entry (volunteer_id, source, hours, service_date, note)"
                                    " SELECT :u, 'manual', 10, current_date - d, '消防宣传'"
                                    " FROM generate_series(1, 12) d RETURNING id"), {"u": uid}).all()  # 120 h
        conn.execute(text("INSERT INTO service_hour_decision (entry_id, approved, decided_by)"
                          " SELECT e, true, :a FROM unnest(CAST(:e AS bigint[])) e"),
                     {"e": list(entries), "a": accounts["admin"]["id"]})
    with LiveSession(live_server, token) as http:
        made = post(http, lon=spot["lon"], lat=spot["lat"], contact=f"电话 {PHONE}")
    assert made.status_code == 201, made.text
    return uid, token, made.json()["id"]


def test_export_data_then_erase_keeps_the_record_and_drops_the_person(app, live_server, owner_engine, spot,
                                                                        accounts, tmp_path):
    uid, token, report_id = _volunteer_with_a_report_and_hours(app, live_server, owner_engine, spot, accounts)
    with app.app_context():
        stars_before = stars.summaries([uid])[uid]
    assert stars_before["stars"] == 1  # 120 approved hours: one star

    target = tmp_path / "me.json"
    out = cli(app, "users", "export-data", PHONE, "--out", str(target))
    assert out.exit_code == 0, out.output
    held = json.loads(target.read_text(encoding="utf-8"))
    assert held["account"]["phone"] == PHONE and held["account"]["name"] == NAME
    assert held["volunteer_profile"]["real_name"] == "王小明" and held["volunteer_profile"]["skills"] == ["急救"]
    assert [r["id"] for r in held["reports"]] == [report_id] and PHONE in held["reports"][0]["contact"]
    assert [e["hours"] for e in held["hour_entries"]] == [10.0] * 12 and held["hours"]["stars"] == 1
    assert len(held["api_tokens"]) == 1 and "password" not in json.dumps(held)

    out = cli(app, "users", "erase", PHONE, "--yes")
    assert out.exit_code == 0 and f"erased user {uid}" in out.output, out.output
    with LiveSession(live_server, token) as http:
        assert http.get("/api/v1/reports").status_code == 401  # its token ended
    with app.app_context():
        user = db.session.get(User, uid)
        assert (user.name, user.phone, user.password_hash, user.active) == (f"已注销用户 #{uid}", f"erased-{uid}",
                                                                             None, False)
        assert stars.summaries([uid])[uid] == stars_before  # the hours and stars stay with the anonymous id
    with owner_engine.connect() as conn:
        assert conn.scalar(text("SELECT reporter_id FROM report WHERE id = :r"), {"r": report_id}) == uid
        profile = conn.execute(text("SELECT real_name, team, skills FROM volunteer WHERE user_id = :u"),
                               {"u": uid}).one()
        assert tuple(profile) == ("", None, [])
        assert conn.scalar(text("SELECT count(*) FROM \"user\" WHERE name = :n OR phone = :p"),
                           {"n": NAME, "p": PHONE}) == 0
    again = json.loads(cli(app, "users", "export-data", f"erased-{uid}").output)
    assert again["account"]["name"] == f"已注销用户 #{uid}" and again["volunteer_profile"]["real_name"] == ""
    assert cli(app, "users", "erase", PHONE, "--yes").exit_code != 0  # that phone names no one any more


def test_the_last_active_district_admin_cannot_be_erased(app, owner_engine):
    out = cli(app, "users", "create", "--name", "唯一的管理员", "--phone", "13700009999", "--role", "district_admin")
    uid = int(re.search(r"created user (\d+)", out.output).group(1))
    with owner_engine.begin() as conn:  # for this test only, every other district admin is disabled
        others = conn.scalars(text("UPDATE \"user\" SET active = false WHERE role = 'district_admin' AND active"
                                   " AND id <> :u RETURNING id"), {"u": uid}).all()
    try:
        out = cli(app, "users", "erase", "13700009999", "--yes")
        assert out.exit_code != 0 and "最后一位在用的区级管理员" in out.output
        with app.app_context():
            assert db.session.get(User, uid).phone == "13700009999"  # nothing erased
    finally:
        with owner_engine.begin() as conn:
            conn.execute(text("UPDATE \"user\" SET active = true WHERE id = ANY(:ids)"), {"ids": list(others)})
    assert cli(app, "users", "erase", "13700009999", "--yes").exit_code == 0  # with another admin, it may go
