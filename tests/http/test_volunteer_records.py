"""The volunteer's records over real HTTP: the signed certificate and its forgery, hour exports (CSV, XLSX, CLI)
in scope and by team, committee, town and period, and profile edits by the volunteer and by staff."""
import csv
import io
import re
from datetime import date, timedelta

import pytest
from itsdangerous import URLSafeSerializer
from openpyxl import load_workbook

from service.volunteers import certificate
from tests.support.volunteer_fixtures import clear_volunteers, make_profiles
from tests.support.volunteer_records import TODAY, YESTERDAY, approved


@pytest.fixture
def roster(app, accounts, owner_engine):
    yield make_profiles(accounts, owner_engine)
    clear_volunteers(owner_engine)


def test_certificate_links_to_a_signed_public_check(as_user, anon_http, roster, app):
    approved(as_user, roster["vol"], 8)
    page = as_user("vol").get("/me/certificate")
    assert page.status_code == 200 and "src=\"data:image/svg+xml" in page.text and "打印证书" in page.text
    assert "@media print" in anon_http.get("/static/certificate.css").text
    url = re.search(r'id="verify-link" class="small">([^<]+)<', page.text).group(1)
    path = url[len(app.config["PUBLIC_BASE_URL"]):]
    check = anon_http.get(path)  # no account needed
    assert check.status_code == 200 and "内容未被改动" in check.text
    assert "志*" in check.text and "志愿者vol" not in check.text  # the masked name only
    assert "8.00 小时" in check.text and YESTERDAY.isoformat() not in check.text
    assert TODAY.isoformat() in check.text


def test_an_edited_or_foreign_certificate_link_is_404(anon_http, app):
    with app.test_request_context():
        token = certificate.sign(certificate.Certificate(7, "张**", 1, "120.00", date(2026, 11, 30)))
        payload, signature = token.split(".")
        forged_hours = URLSafeSerializer("someone-elses-key", salt=certificate.SALT).dumps(
            [7, "张**", 5, "1500.00", "2026-11-30"])
    assert anon_http.get(f"/certificates/{token}").status_code == 200
    body = URLSafeSerializer(app.secret_key, salt="another-purpose").dumps([7, "张**", 5, "1500.00", "2026-11-30"])
    flipped = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    for bad in (f"{flipped}.{signature}", f"{payload}.{signature[:-2]}", forged_hours, body, "x", token + "x"):
        r = anon_http.get(f"/certificates/{bad}")
        assert r.status_code == 404 and "证书核验失败" in r.text, bad


def test_certificate_needs_a_profile(as_user):
    assert as_user("staff_a").get("/me/certificate").status_code == 404


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_hour_exports_are_scoped_filtered_and_neutralised(as_user, accounts, roster):
    approved(as_user, roster["vol"], 2, note="=HYPERLINK(\"http://x\")")
    approved(as_user, roster["vol"], 3, day=YESTERDAY - timedelta(days=40))
    approved(as_user, roster["vol_far"], 4, by="admin", approver="sup_b")
    pending = as_user("staff_a").post(f"/api/v1/volunteers/{roster['vol2']}/hours",
                                      json={"hours": 1, "date": YESTERDAY.isoformat()})
    assert pending.status_code == 201  # not approved: never exported
    every = rows_of(as_user("admin").get("/api/v1/volunteers/hours.csv"))
    assert every[0][:2] == ["姓名", "手机号"] and len(every) == 4
    assert sorted(float(r[7]) for r in every[1:]) == [2.0, 3.0, 4.0]
    noted = next(r for r in every[1:] if r[7] == "2.0")
    assert noted[9] == "'=HYPERLINK(\"http://x\")"
    assert len(rows_of(as_user("staff_a").get("/api/v1/volunteers/hours.csv"))) == 3  # their committee only
    assert len(rows_of(as_user("sup_b").get("/api/v1/volunteers/hours.csv"))) == 2
    town = as_user("sup_a").get("/api/v1/volunteers/hours.csv", params={
        "from": (YESTERDAY - timedelta(days=7)).isoformat(), "to": YESTERDAY.isoformat()})
    assert [r[7] for r in rows_of(town)[1:]] == ["2.0"]
    assert len(rows_of(as_user("admin").get("/api/v1/volunteers/hours.csv", params={"team": "别的队"}))) == 1
    far_town = as_user("admin").get("/api/v1/volunteers/hours.csv", params={"town": accounts["sup_b"]["area"]})
    assert [r[7] for r in rows_of(far_town)[1:]] == ["4.0"]
    one = as_user("admin").get("/api/v1/volunteers/hours.csv", params={"committee": accounts["elsewhere_code"]})
    assert [r[7] for r in rows_of(one)[1:]] == ["4.0"]


def test_hour_exports_xlsx_refusals_and_cli(as_user, app, accounts, roster, tmp_path):
    approved(as_user, roster["vol"], 2.5)
    book = load_workbook(io.BytesIO(as_user("sup_a").get("/api/v1/volunteers/hours.xlsx").content))
    sheet = book.active
    assert sheet.title == "服务时长" and sheet["A2"].value == "志愿者vol" and sheet["H2"].value == 2.5
    assert as_user("vol").get("/api/v1/volunteers/hours.csv").status_code == 403
    for params in ({"from": "2026-13-01"}, {"from": "2026-11-30", "to": "2026-11-01"}):
        r = as_user("admin").get("/api/v1/volunteers/hours.csv", params=params)
        assert r.status_code == 422 and "日期" in r.json()["error"]["message"]
    target = tmp_path / "hours.csv"
    town = accounts["sup_a"]["area"]
    out = app.test_cli_runner().invoke(args=["volunteers", "hours-export", str(target), "--town", town])
    assert out.exit_code == 0 and "已导出 1 条" in out.output
    assert target.read_bytes().startswith("\ufeff".encode())
    out = app.test_cli_runner().invoke(args=["volunteers", "hours-export", str(tmp_path / "h.csv"), "--as",
                                             accounts["sup_b"]["phone"]])
    assert out.exit_code == 0 and "已导出 0 条" in out.output
    out = app.test_cli_runner().invoke(args=["volunteers", "hours-export", str(tmp_path / "h.pdf")])
    assert out.exit_code != 0 and ".csv" in out.output


def test_a_volunteer_edits_only_their_skills_and_availability(as_user, roster):
    vol = as_user("vol")
    r = vol.patch("/api/v1/volunteers/me", json={"skills": ["电工", " 急救 ", "电工"], "availability": ["周末"]})
    assert r.status_code == 200 and r.json()["skills"] == ["电工", "急救"] and r.json()["availability"] == ["weekend"]
    r = vol.patch("/api/v1/volunteers/me", json={"team": "别的队"})
    assert r.status_code == 403 and "居村委" in r.json()["error"]["message"]
    r = vol.patch(f"/api/v1/volunteers/{roster['vol2']}", json={"skills": ["x"]})
    assert r.status_code == 404
    for body, code in (({"availability": ["半夜"]}, 422), ({"skills": "电工"}, 422), ({"skills": ["=1+1"]}, 422),
                       ({"skills": ["x" * 31]}, 422), ({"flying": True}, 422), ({}, 422)):
        r = vol.patch("/api/v1/volunteers/me", json=body)
        assert r.status_code == code and any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["error"]["message"])
    assert vol.patch("/api/v1/volunteers/me", data="x").status_code == 400
    assert as_user("vol").get("/api/v1/volunteers/me").json()["skills"] == ["电工", "急救"]


def test_staff_edit_profiles_within_their_scope(as_user, accounts, roster):
    staff = as_user("staff_a")
    r = staff.patch(f"/api/v1/volunteers/{roster['vol']}", json={"team": "七宝微型消防站", "tags": ["楼组长"],
                                                                  "active": False})
    assert r.status_code == 200 and r.json()["team"] == "七宝微型消防站" and r.json()["active"] is False
    assert staff.patch(f"/api/v1/volunteers/{roster['vol_far']}", json={"team": "x"}).status_code == 404
    r = staff.patch(f"/api/v1/volunteers/{roster['vol']}", json={"committee": accounts["sibling_code"]})
    assert r.status_code == 403
    assert staff.patch(f"/api/v1/volunteers/{roster['vol']}", json={"committee": "999999999999"}).status_code == 422
    assert staff.patch(f"/api/v1/volunteers/{roster['vol']}", json={"real_name": ""}).status_code == 422
    assert staff.patch(f"/api/v1/volunteers/{roster['vol']}", json={"active": "no"}).status_code == 422
    r = as_user("sup_a").patch(f"/api/v1/volunteers/{roster['vol']}", json={"committee": accounts["sibling_code"]})
    assert r.status_code == 200 and r.json()["committee"] == accounts["sibling_code"]
    r = as_user("sup_a").patch(f"/api/v1/volunteers/{roster['vol']}", json={"committee": accounts["elsewhere_code"]})
    assert r.status_code == 403
    assert staff.get(f"/api/v1/volunteers/{roster['vol']}").status_code == 404  # moved out of their committee


def test_hour_export_by_period_reads_the_date_index(app, owner_engine, accounts, roster):
    """With a large ledger (100,000 entries over 3 years), a district export of one month finds its entries
    through an index on the service date, not by reading the whole ledger."""
    from sqlalchemy import text, true

    from service.core.db import db
    from service.volunteers import exports

    with owner_engine.begin() as conn:
        conn.execute(text("""
            WITH e AS (INSERT INTO service_hour_entry (volunteer_id, source, hours, service_date, created_by)
                       SELECT (ARRAY[:a, :b, :c, :d])[1 + n % 4], 'manual', 1, DATE '2024-01-01' + n % 1095, :by
                       FROM generate_series(1, 100000) n RETURNING id)
            INSERT INTO service_hour_decision (entry_id, approved, decided_by) SELECT id, true, :by FROM e"""),
                     {"a": roster["vol"], "b": roster["vol2"], "c": roster["vol_sib"], "d": roster["vol_far"],
                      "by": accounts["sup_a"]["id"]})
        conn.execute(text("ANALYZE service_hour_entry; ANALYZE service_hour_decision"))
    with app.app_context():
        filt = exports.HourFilter(start=date(2025, 3, 1), end=date(2025, 3, 31))
        compiled = exports.select_rows(true(), filt).compile(dialect=db.engine.dialect)
        plan = "\n".join(r[0] for r in db.session.connection().exec_driver_sql("EXPLAIN " + str(compiled),
                                                                                compiled.params))
        db.session.rollback()
    # With four volunteers the planner may also walk (volunteer_id, service_date); either way, by index.
    found = (r"Index (Only )?Scan (on|using) ix_service_hour_entry_(service_date_id|volunteer_id_service_date)"
             r"[^\n]*\n\s+Index Cond: \(\(service_date >=")
    assert re.search(found, plan) and "Seq Scan on service_hour_entry" not in plan, plan
