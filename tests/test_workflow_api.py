"""Status transitions through the API: the table, 409 on illegal moves, an event per move."""
import pytest
from sqlalchemy import select

from service.db import db
from service.models import ReportEvent
from service.workflow import TRANSITIONS

from .conftest import ADMIN_TOKEN
from .test_reports_api import post

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def report_id(http, spot):
    return post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"]


def move(http, report_id, to, note="", headers=AUTH):
    return http.post(f"/api/v1/reports/{report_id}/transitions", json={"to": to, "note": note}, headers=headers)


def test_happy_path_and_reopen_write_one_event_each(http, app, report_id):
    path = ["accepted", "dispatched", "rectifying", "rectified", "rectifying", "rectified", "verified"]
    for to in path:
        r = move(http, report_id, to, note=f"to {to}")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == to
    with app.app_context():
        events = db.session.scalars(select(ReportEvent).order_by(ReportEvent.id)).all()
        assert [(e.from_status, e.to_status) for e in events] == list(
            zip([None, "submitted", *path[:-1]], ["submitted", *path], strict=True))
        assert events[-1].note == "to verified"


@pytest.mark.parametrize(("start", "to"), [
    ([], "verified"), ([], "dispatched"), (["rejected"], "accepted"), (["accepted"], "rectified"),
])
def test_illegal_moves_are_409_in_chinese_and_record_nothing(http, app, report_id, start, to):
    for s in start:
        assert move(http, report_id, s).status_code == 200
    r = move(http, report_id, to)
    assert r.status_code == 409
    assert "不能从" in r.json()["error"]["message"]
    with app.app_context():
        assert db.session.query(ReportEvent).count() == 1 + len(start)


def test_every_status_pair_follows_the_table():
    statuses = set(TRANSITIONS)
    for targets in TRANSITIONS.values():
        assert targets <= statuses
    assert TRANSITIONS["rectified"] == {"verified", "rectifying"}


def test_transitions_need_the_admin_token_and_a_valid_body(http, report_id):
    assert move(http, report_id, "accepted", headers={}).status_code == 401
    assert move(http, report_id, "accepted", headers={"Authorization": "Bearer wrong"}).status_code == 401
    r = http.post(f"/api/v1/reports/{report_id}/transitions", data="not json", headers=AUTH)
    assert r.status_code == 400
    assert move(http, report_id, "flying").status_code == 422
    assert move(http, "not-a-uuid", "accepted").status_code == 404
    assert move(http, "00000000-0000-0000-0000-000000000000", "accepted").status_code == 404
