"""The rectification workflow over the API: who may move what, proof, history, deadlines, re-assignment."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from service.core.db import db
from service.core.models import Report, ReportEvent
from tests.support.reports_api import post
from tests.support.volunteer_fixtures import clear_volunteers, make_profiles
from tests.support.workflow_api import (
    move,
    rectify,
    walk,
)


@pytest.fixture
def report_id(anon_http, spot):
    return post(anon_http, lon=spot["lon"], lat=spot["lat"]).json()["id"]


def test_happy_path_and_reopen_write_one_event_each(as_user, app, report_id):
    path = ["accepted", "dispatched", "rectifying", "rectified", "rectifying", "rectified", "verified"]
    body = walk(as_user, report_id, path).json()
    assert body["status"] == "verified" and len(body["after_photos"]) == 2  # one per rectification
    assert [(e["from"], e["to"]) for e in body["events"]] == list(
        zip([None, "submitted", *path[:-1]], ["submitted", *path], strict=True))
    assert body["events"][-1]["note"] == "to verified" and body["events"][-1]["actor"] == "测试sup_a"
    assert body["events"][4]["photos"], "the rectified event carries its after-photo"


@pytest.mark.parametrize(("who", "start", "to", "status"), [
    ("sup_a", [], "verified", 409), ("sup_a", [], "dispatched", 409), ("sup_a", ["rejected"], "accepted", 409),
    ("staff_a", [], "accepted", 403), ("sup_a", ["accepted", "dispatched"], "rectifying", 403),
    ("vol", [], "accepted", 404), ("staff_b", [], "accepted", 404), ("sup_b", [], "accepted", 404),
])
def test_illegal_is_409_forbidden_is_403_out_of_scope_is_404(as_user, app, report_id, who, start, to, status):
    for s in start:
        assert move(as_user("sup_a"), report_id, s).status_code == 200
    r = move(as_user(who), report_id, to)
    assert r.status_code == status, r.text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["error"]["message"])
    with app.app_context():
        assert db.session.query(ReportEvent).count() == 1 + len(start)


def test_rectified_needs_an_after_photo(as_user, report_id):
    walk(as_user, report_id, ["accepted", "dispatched", "rectifying"])
    r = move(as_user("staff_a"), report_id, "rectified")
    assert r.status_code == 422 and "照片" in r.json()["error"]["message"]
    assert rectify(as_user("staff_a"), report_id).status_code == 200


def test_duplicate_needs_the_other_report(as_user, anon_http, spot, report_id):
    sup = as_user("sup_a")
    assert move(sup, report_id, "duplicate").status_code == 422
    other = post(anon_http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    r = move(sup, report_id, "duplicate", duplicate_of=other)
    assert r.status_code == 200 and r.json()["events"][-1]["data"] == {"duplicate_of": other}


def test_dispatch_to_a_volunteer_lets_them_see_it(as_user, accounts, report_id, owner_engine):
    assert as_user("vol").get(f"/api/v1/reports/{report_id}").status_code == 404
    move(as_user("sup_a"), report_id, "accepted")
    roster = make_profiles(accounts, owner_engine)  # only volunteers on the town's roster can be picked
    try:
        r = move(as_user("sup_a"), report_id, "dispatched", assignee_id=roster["vol"])
    finally:
        clear_volunteers(owner_engine)
    assert r.status_code == 200
    assert as_user("vol").get(f"/api/v1/reports/{report_id}").status_code == 200
    assert move(as_user("sup_a"), report_id, "dispatched").status_code == 409


def test_events_are_append_only_in_the_database(owner_engine, report_id):
    """Even the owner (here a superuser) meets the trigger; the app's role is refused before, by privilege."""
    for statement in ("UPDATE report_event SET note = 'rewritten'", "DELETE FROM report_event",
                      "TRUNCATE report_event CASCADE"):
        with owner_engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(statement))
    with owner_engine.connect() as conn:
        assert conn.scalar(select(ReportEvent.note)) == ""


def test_reassign_within_scope_is_an_event(as_user, accounts, report_id):
    sup = as_user("sup_a")
    body = {"committee": accounts["sibling_code"], "note": "图斑有误"}
    r = sup.post(f"/api/v1/reports/{report_id}/reassign", json=body)
    assert r.status_code == 200 and r.json()["committee"]["code"] == accounts["sibling_code"]
    assert r.json()["assignment"]["method"] == "manual"
    assert r.json()["events"][-1]["kind"] == "reassign"
    out = sup.post(f"/api/v1/reports/{report_id}/reassign", json={"committee": accounts["elsewhere_code"]})
    assert out.status_code == 422
    assert as_user("staff_a").post(f"/api/v1/reports/{report_id}/reassign",
                                   json={"committee": accounts["sibling_code"]}).status_code == 404
    assert as_user("staff_sibling").get(f"/api/v1/reports/{report_id}").status_code == 200


def test_transitions_need_an_account_and_a_valid_body(anon_http, http, report_id):
    assert move(anon_http, report_id, "accepted").status_code == 401
    assert http.post(f"/api/v1/reports/{report_id}/transitions", data="not json").status_code == 400
    assert move(http, report_id, "flying").status_code == 422
    assert move(http, "not-a-uuid", "accepted").status_code == 404


@pytest.mark.clock_edges  # run again at the day's edges, the process in other zones
def test_deadline_from_risk_stops_at_rectified_and_restarts_on_reopen(as_user, anon_http, app, spot, clock):
    body = post(anon_http, lon=spot["lon"], lat=spot["lat"], risk_level="suspected_severe").json()
    due = datetime.fromisoformat(body["due_at"])
    assert due == datetime.now(UTC) + timedelta(hours=24)  # the clock is stopped: exactly the period
    clock.shift(timedelta(hours=1))
    walk(as_user, body["id"], ["accepted", "dispatched", "rectifying", "rectified"])
    with app.app_context():
        report = db.session.get(Report, body["id"])
        report.due_at = datetime.now(UTC) - timedelta(hours=1)  # the deadline passed while awaiting verification
        db.session.commit()
    listed = as_user("sup_a").get("/api/v1/reports", params={"overdue": "1"}).json()
    assert listed["count"] == 0, "the clock is stopped while the fix awaits verification"
    reopened = move(as_user("sup_a"), body["id"], "rectifying", note="复查不合格").json()
    assert datetime.fromisoformat(reopened["due_at"]) == datetime.now(UTC) + timedelta(hours=24)
