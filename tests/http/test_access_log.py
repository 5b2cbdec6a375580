"""The access log of residents' contacts (issue 25, service/privacy/access.py): each page, JSON answer or export
that shows a contact writes one record; one that shows none writes nothing; district admins read the log (JSON and
a page), no one else; and no one, not even the owner, rewrites it."""
import csv
import io
import re
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.core.db import db
from tests.support.accounts import csrf, signed_in
from tests.support.orders_fixtures import newest_order_id, place, volunteers_with_orders
from tests.support.query_counts import statements
from tests.support.reports_api import post

PHONE = "13812345678"
CONTACT_COLUMN = -1  # the export's last column: 上报人联系方式


def records(owner_engine) -> list[dict]:
    """Every access record, oldest first, as the owner reads them."""
    with owner_engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(
            "SELECT user_id, role, kind, endpoint, report_id, order_id, filter, shown FROM access_log ORDER BY id"))]


def reported(session, spot, **fields) -> str:
    r = post(session, lon=spot["lon"], lat=spot["lat"], **fields)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))[1:]


def test_a_supervisors_export_writes_one_record(anon_http, as_user, spot, accounts, owner_engine):
    with_contact = reported(anon_http, spot, contact=PHONE, risk_level="general")
    reported(anon_http, spot, risk_level="general")  # no contact left: nothing of it to count
    rows = csv_rows(as_user("sup_a").get("/api/v1/reports.csv", params={"status": "open", "risk": "general"}))
    assert {r[0]: r[CONTACT_COLUMN] for r in rows} == {with_contact: PHONE, **{r[0]: "" for r in rows
                                                                               if r[0] != with_contact}}
    assert records(owner_engine) == [{
        "user_id": accounts["sup_a"]["id"], "role": "town_supervisor", "kind": "export",
        "endpoint": "reports_api.export_reports", "report_id": None, "order_id": None,
        "filter": {"format": "csv", "status": "open", "risk": "general"}, "shown": 1}]


@pytest.mark.parametrize("fmt", ["geojson", "xlsx"])
def test_every_format_carries_the_contact_and_writes_its_record(anon_http, as_user, spot, owner_engine, fmt):
    reported(anon_http, spot, contact=PHONE)
    r = as_user("staff_a").get(f"/api/v1/reports.{fmt}")
    assert r.status_code == 200 and (PHONE.encode() in r.content if fmt == "geojson" else r.content)
    assert [(x["kind"], x["filter"], x["shown"]) for x in records(owner_engine)] == [("export", {"format": fmt}, 1)]


def test_exports_that_show_no_contact_write_nothing(anon_http, as_user, spot, accounts, owner_engine):
    """A volunteer never reads a contact, even of the report they made; staff elsewhere do not see the report."""
    own = reported(as_user("vol"), spot, contact=PHONE)
    rows = csv_rows(as_user("vol").get("/api/v1/reports.csv"))
    assert [(r[0], r[CONTACT_COLUMN]) for r in rows] == [(own, "")]
    assert csv_rows(as_user("staff_b").get("/api/v1/reports.csv")) == []
    assert PHONE.encode() not in as_user("vol").get("/api/v1/reports.geojson").content
    assert records(owner_engine) == []
    # Not vacuous: the same report's contact, exported by its town's supervisor, is shown and recorded.
    assert [r[CONTACT_COLUMN] for r in csv_rows(as_user("sup_a").get("/api/v1/reports.csv"))] == [PHONE]
    assert [x["user_id"] for x in records(owner_engine)] == [accounts["sup_a"]["id"]]


def test_the_command_line_export_holds_no_contact(app, anon_http, spot, owner_engine, tmp_path):
    reported(anon_http, spot, contact=PHONE)
    out = tmp_path / "all.csv"
    result = app.test_cli_runner().invoke(args=["export", str(out)])
    assert result.exit_code == 0, result.output
    assert PHONE not in out.read_text(encoding="utf-8-sig") and records(owner_engine) == []


def test_each_view_of_a_detail_page_with_a_contact_is_one_record(anon_http, as_user, spot, accounts, owner_engine):
    rid = reported(anon_http, spot, contact=PHONE)
    staff = as_user("staff_a")
    for _ in range(2):
        page = staff.get(f"/reports/{rid}")
        assert page.status_code == 200 and f'<dd id="contact">{PHONE}</dd>' in page.text
    assert records(owner_engine) == [{"user_id": accounts["staff_a"]["id"], "role": "committee_staff",
                                      "kind": "detail", "endpoint": "reports.detail", "report_id": uuid.UUID(rid),
                                      "order_id": None, "filter": None, "shown": 1}] * 2


def test_a_page_that_shows_no_contact_writes_nothing(anon_http, as_user, spot, owner_engine):
    bare = reported(anon_http, spot)  # no contact left
    assert as_user("sup_a").get(f"/reports/{bare}").status_code == 200
    own = reported(as_user("vol"), spot, contact=PHONE)
    page = as_user("vol").get(f"/reports/{own}")  # the reporter, a volunteer: the contact is not shown
    assert page.status_code == 200 and PHONE not in page.text
    assert as_user("staff_b").get(f"/reports/{own}").status_code == 404
    assert records(owner_engine) == []


def test_a_refused_move_keeps_nothing_of_it_and_the_page_drawn_again_is_recorded(app, anon_http, spot, accounts,
                                                                                 owner_engine):
    """The detail page drawn again after a refused move writes its record, and only its record."""
    rid = reported(anon_http, spot, contact=PHONE)
    staff = signed_in(app, "staff_a", accounts)
    r = staff.post(f"/reports/{rid}/move", data={"csrf_token": csrf(staff), "to": "verified", "note": ""})
    assert r.status_code in (403, 409) and PHONE in r.text
    with owner_engine.connect() as conn:
        assert conn.scalar(text("SELECT status FROM report WHERE id = :i"), {"i": rid}) == "submitted"
    assert [(x["kind"], x["endpoint"]) for x in records(owner_engine)] == [("detail", "reports.move")]


@pytest.fixture
def profiles(app, accounts, owner_engine):
    with volunteers_with_orders(accounts, owner_engine) as found:
        yield found


def test_service_orders_record_who_read_the_residents_phone(anon_http, as_user, spot, accounts, owner_engine,
                                                           profiles):
    place(anon_http, spot)
    oid = newest_order_id(owner_engine)
    sup = as_user("sup_a")
    assert sup.post(f"/api/v1/orders/{oid}/dispatch", json={"volunteer_ids": [profiles["vol"]]}).status_code == 200
    assert as_user("vol").get(f"/api/v1/orders/{oid}").json()["contact_visible"] is False  # only offered: nothing
    assert as_user("vol").get(f"/orders/{oid}").status_code == 200
    assert as_user("staff_b").get(f"/api/v1/orders/{oid}").status_code == 404
    accepted = as_user("vol").post(f"/api/v1/orders/{oid}/accept", json={})
    assert accepted.json()["contact_phone"] == "13912345678"
    assert as_user("vol").get(f"/orders/{oid}").status_code == 200
    listed = sup.get("/api/v1/orders", params={"status": "accepted"}).json()["orders"]
    assert [o["contact_visible"] for o in listed] == [True]
    vol, sup_id = accounts["vol"]["id"], accounts["sup_a"]["id"]
    assert [(x["user_id"], x["kind"], x["endpoint"], x["order_id"], x["filter"], x["shown"])
            for x in records(owner_engine)] == [
        (sup_id, "api", "orders_api.dispatch", oid, None, 1),
        (vol, "api", "orders_api.respond", oid, None, 1),
        (vol, "detail", "orders.detail", oid, None, 1),
        (sup_id, "api", "orders_api.list_orders", None, {"status": ["accepted"], "cursor": None}, 1)]


def test_district_admins_read_the_log_and_no_one_else(app, anon_http, as_user, spot, accounts, owner_engine,
                                                      live_server):
    from tests.support.live import LiveSession

    rid = reported(anon_http, spot, contact=PHONE)
    assert as_user("sup_a").get(f"/reports/{rid}").status_code == 200
    admin = as_user("admin").get("/api/v1/access-log")
    assert admin.status_code == 200, admin.text
    [found] = admin.json()["records"]
    assert found["user_id"] == accounts["sup_a"]["id"] and found["report_id"] == rid and found["kind"] == "detail"
    assert found["role_label"] == "街镇督导" and found["user_name"] == "测试sup_a" and found["shown"] == 1
    page = as_user("admin").get("/access-log")
    assert page.status_code == 200 and rid in page.text and "测试sup_a" in page.text and "街镇督导" in page.text
    assert PHONE not in page.text and PHONE not in admin.text  # the log says who looked, never what they saw
    for who in ("vol", "sup_a", "staff_a"):
        for path in ("/api/v1/access-log", "/access-log"):
            r = as_user(who).get(path)
            said = r.json()["error"]["message"] if path.startswith("/api") else r.text
            assert r.status_code == 403 and "只有区级管理员" in said and rid not in r.text, (who, path)
    with LiveSession(live_server) as anon:
        assert anon.get("/api/v1/access-log").status_code == 401
        assert anon.get("/access-log", allow_redirects=False).status_code in (302, 401)
    assert "联系方式查看记录" in as_user("admin").get("/dashboard").text  # the admin's nav links to it
    assert "联系方式查看记录" not in as_user("sup_a").get("/dashboard").text


def _seed(app, accounts, report_ids, n_each: int) -> None:
    """Records written by record() itself, as the views write them: n_each per report, by sup_a and staff_a."""
    from service.core.models import User
    from service.privacy import access

    with app.test_request_context("/"):
        for rid in report_ids:
            for _ in range(n_each):
                for who in ("sup_a", "staff_a"):
                    access.record(db.session.get(User, accounts[who]["id"]), "detail", 1, report_id=uuid.UUID(rid))


def test_the_log_pages_newest_first_by_keyset_and_filters_by_user_report_and_order(app, anon_http, as_user, spot,
                                                                                   accounts):
    first, second = reported(anon_http, spot, contact=PHONE), reported(anon_http, spot, contact=PHONE)
    _seed(app, accounts, [first, second], 3)  # 12 records
    admin, seen, cursor = as_user("admin"), [], None
    while True:
        r = admin.get("/api/v1/access-log", params={"limit": 5} | ({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        seen += r.json()["records"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 12 and len({x["id"] for x in seen}) == 12
    assert [x["id"] for x in seen] == sorted((x["id"] for x in seen), reverse=True)  # newest first
    mine = admin.get("/api/v1/access-log", params={"user": accounts["staff_a"]["id"], "report": first}).json()
    assert len(mine["records"]) == 3 and {(x["user_id"], x["report_id"]) for x in mine["records"]} == {
        (accounts["staff_a"]["id"], first)}
    assert admin.get("/api/v1/access-log", params={"order": 999999}).json() == {"records": [], "next_cursor": None}
    page = admin.get("/access-log", params={"report": second, "limit": 2})
    assert page.status_code == 200 and page.text.count('class="access-row"') == 2 and first not in page.text
    following = re.search(r'href="([^"]+)" id="next-page"', page.text)[1].replace("&amp;", "&")
    assert "report=" + second in following
    assert admin.get(following).text.count('class="access-row"') == 2


@pytest.mark.parametrize(("args", "code"), [
    ({"user": "abc"}, "bad_user"), ({"user": "-1"}, "bad_user"), ({"order": "1.5"}, "bad_order"),
    ({"report": "not-a-uuid"}, "bad_report"), ({"limit": "0"}, "bad_limit"), ({"limit": "101"}, "bad_limit"),
    ({"cursor": "garbage"}, "bad_cursor"), ({"user": "99999999999999999"}, None)])
def test_bad_filters_are_a_chinese_422_never_a_500(as_user, args, code):
    r = as_user("admin").get("/api/v1/access-log", params=args)
    if code is None:  # a number past the column's range matches no one
        assert r.status_code == 200 and r.json()["records"] == []
        return
    assert r.status_code == 422 and r.json()["error"]["code"] == code
    assert re.search(r"[\u4e00-\u9fff]", r.json()["error"]["message"])
    page = as_user("admin").get("/access-log", params=args)
    assert page.status_code == 422 and r.json()["error"]["message"] in page.text


def test_the_page_costs_the_same_few_statements_for_any_number_of_rows(app, anon_http, as_user, spot, accounts):
    rid = reported(anon_http, spot, contact=PHONE)
    _seed(app, accounts, [rid], 1)
    with statements(app) as few:
        assert as_user("admin").get("/access-log").status_code == 200
    _seed(app, accounts, [rid], 20)
    with statements(app) as many:
        assert as_user("admin").get("/access-log").status_code == 200
    assert len(many) == len(few)


def test_the_log_is_append_only_for_the_app_role_and_the_owner(app, anon_http, spot, accounts, owner_engine):
    rid = reported(anon_http, spot, contact=PHONE)
    _seed(app, accounts, [rid], 1)
    with app.app_context():
        for sql in ("UPDATE access_log SET shown = 99", "DELETE FROM access_log", "TRUNCATE access_log"):
            with pytest.raises(DBAPIError):
                db.session.execute(text(sql))
            db.session.rollback()
    for sql in ("UPDATE access_log SET shown = 99", "DELETE FROM access_log", "TRUNCATE access_log"):
        with owner_engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(sql))  # the trigger stops the owner too
    assert [x["shown"] for x in records(owner_engine)] == [1, 1]


@pytest.mark.parametrize(("where", "index"), [
    ("user_id = 1", "ix_access_log_user"), (f"report_id = '{uuid.UUID(int=7)}'", "ix_access_log_report"),
    ("order_id = 1", "ix_access_log_order"), ("true", "ix_access_log_created")])
def test_each_filter_walks_its_index_newest_first(owner_engine, where, index):
    with owner_engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        conn.execute(text("SET LOCAL enable_sort = off"))
        plan = "\n".join(conn.scalars(text(f"EXPLAIN SELECT * FROM access_log WHERE {where}"
                                           " ORDER BY created_at DESC, id DESC LIMIT 51")))
    assert index in plan and "Backward" in plan, plan
