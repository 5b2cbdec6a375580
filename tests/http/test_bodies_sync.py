"""`hazard-snap bodies sync` (issue 24): a body's updates come back as events, once each by the body's update id;
its sign-for, its rectification with the after-photo fetched and stored, its return; and what must be refused."""
import json
import logging
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from service.bodies import registry
from service.bodies.models import Body as BodyModel
from service.bodies.models import BodyUpdate, Transfer
from service.core.db import db
from service.core.models import Photo, Report
from service.notify import outbox
from tests.support.images import jpeg
from tests.support.local_http import reply, running
from tests.support.reports_api import post
from tests.support.workflow_api import move

PHOTO = jpeg(colour=(20, 150, 40))


class Body(BaseHTTPRequestHandler):
    """A body's Open311 endpoint: takes requests (MH-1, MH-2 ...), lists `updates`, serves /media/after.jpg.
    `raw` replaces the updates' answer (malformed JSON), `status` the status of every GET."""

    updates: list = []
    requests: list = []  # what requests.json lists, for a body synced --sync-via requests
    posted: list = []
    queries: list = []
    raw: bytes | None = None
    status = 200
    made = 0

    def do_POST(self):  # noqa: N802
        Body.posted.append(parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()))
        Body.made += 1
        reply(self, 201, json.dumps([{"service_request_id": f"MH-{Body.made}"}]).encode())

    def do_GET(self):  # noqa: N802
        path = urlsplit(self.path)
        if path.path.endswith("/media/after.jpg"):
            return reply(self, 200, PHOTO, "image/jpeg")
        Body.queries.append(parse_qs(path.query))
        if path.path.endswith("/requests.json"):
            asked = parse_qs(path.query)["service_request_id"][0].split(",")
            return reply(self, 200, json.dumps([r for r in Body.requests if r["service_request_id"] in asked]).encode())
        page = int(parse_qs(path.query)["page"][0])
        found = Body.updates if page == 1 else []
        reply(self, Body.status, Body.raw if Body.raw is not None else json.dumps(found).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def body(app, spot, monkeypatch):
    Body.updates, Body.requests, Body.posted, Body.queries = [], [], [], []
    Body.raw, Body.status, Body.made = None, 200, 0
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW_HOSTS", frozenset({"127.0.0.1"}))
    with running(Body) as base, app.app_context():
        b = registry.add(name="闵行燃气", kind="utility", channel="open311", endpoint=f"{base}/open311/v2",
                         categories=["gas_open_flame"], area_codes=[spot["town"]], jurisdiction_id="gas.example",
                         credential="k", sign_hours=4, finish_hours=48)
        yield {"id": b.id, "base": base}


@pytest.fixture
def transferred(app, as_user, anon_http, spot, body):
    """A report transferred to the body and delivered (the body's MH-1)."""
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"], category="gas_open_flame").json()["id"]
    assert move(as_user("sup_a"), rid, "transferred", note="归燃气公司", body_id=body["id"]).status_code == 200
    with app.app_context():
        assert outbox.deliver_due() == (1, 0)
    return rid


def update(uid, status, rid="MH-1", **extra):
    return {"update_id": uid, "service_request_id": rid, "status": status,
            "updated_datetime": "2026-12-07T10:00:00+08:00", "description": f"{status} 说明"} | extra


def sync(app) -> str:
    result = app.test_cli_runner().invoke(args=["bodies", "sync"])
    assert result.exit_code == 0, result.output
    return result.output


def state(app, rid):
    with app.app_context():
        report = db.session.get(Report, rid)
        transfer = db.session.scalar(select(Transfer).where(Transfer.report_id == rid))
        outcomes = [(u.update_id, u.outcome) for u in db.session.scalars(select(BodyUpdate).order_by(BodyUpdate.id))]
        after = db.session.scalars(select(Photo).where(Photo.report_id == rid, Photo.role == "after")).all()
        return report.status, transfer.signed_at, transfer.outcome, outcomes, len(after)


def test_sign_for_then_fixed_with_its_photo_then_verified_by_the_town(app, as_user, transferred, body):
    Body.updates = [update("u1", "in_progress")]
    assert "'noted': 1" in sync(app)
    status, signed, outcome, outcomes, _n = state(app, transferred)
    assert status == "transferred" and signed is not None and outcome is None and outcomes == [("u1", "noted")]
    sup = as_user("sup_a")
    assert "闵行燃气 已签收" in sup.get(f"/reports/{transferred}").text

    Body.updates = [update("u1", "in_progress"), update("u2", "fixed", media_url=f"{body['base']}/media/after.jpg")]
    assert "'applied': 1" in sync(app) and "'seen': 2" in sync(app)  # the second run applies nothing
    status, _s, outcome, outcomes, after = state(app, transferred)
    assert status == "rectified" and outcome == "finished" and after == 1
    assert outcomes == [("u1", "noted"), ("u2", "applied")]
    # The body's answer is checked like a committee's: the town verifies it.
    r = move(sup, transferred, "verified", note="现场复核通过")
    assert r.status_code == 200 and r.json()["status"] == "verified"
    assert Body.queries[0]["api_key"] == ["k"] and Body.queries[0]["jurisdiction_id"] == ["gas.example"]


def test_the_body_gets_its_own_service_code(app, as_user, anon_http, spot, body):
    with app.app_context():
        db.session.get(BodyModel, body["id"]).service_codes = {"gas_open_flame": "RQ-GAS-7"}
        db.session.commit()
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"], category="gas_open_flame").json()["id"]
    assert move(as_user("sup_a"), rid, "transferred", note="归燃气公司", body_id=body["id"]).status_code == 200
    with app.app_context():
        assert outbox.deliver_due() == (1, 0)
    assert Body.posted[-1]["service_code"] == ["RQ-GAS-7"]


def request_state(status, updated="2026-12-07T10:00:00+08:00", **extra):
    return {"service_request_id": "MH-1", "status": status, "requested_datetime": "2026-12-07T09:00:00+08:00",
            "updated_datetime": updated} | extra


@pytest.fixture
def via_requests(app, body):
    with app.app_context():
        db.session.get(BodyModel, body["id"]).sync_via = "requests"
        db.session.commit()


def test_a_body_without_an_updates_endpoint_is_read_from_its_requests(app, transferred, body, via_requests):
    Body.requests = [request_state("open", updated="2026-12-07T09:00:00+08:00")]  # taken in, untouched
    assert "'noted': 1" in sync(app)
    assert state(app, transferred)[1] is None
    Body.requests = [request_state("open", status_notes="已派员")]  # touched since: its sign-for
    assert "'noted': 1" in sync(app)
    assert state(app, transferred)[1] is not None
    Body.requests = [request_state("closed", media_url=f"{body['base']}/media/after.jpg", status_notes="已修复")]
    assert "'applied': 1" in sync(app)
    status, _s, outcome, outcomes, after = state(app, transferred)
    assert status == "rectified" and outcome == "finished" and after == 1
    assert outcomes == [("request:MH-1:open", "noted"), ("request:MH-1:in_progress", "noted"),
                        ("request:MH-1:fixed", "applied")]
    asked = [q for q in Body.queries if "service_request_id" in q]
    assert len(asked) == 3 and asked[0]["service_request_id"] == ["MH-1"] and asked[0]["api_key"] == ["k"]
    sync(app)  # the transfer has ended: nothing is asked for any more
    assert len([q for q in Body.queries if "service_request_id" in q]) == 3


def test_a_request_closed_without_an_after_photo_goes_back_to_the_town(app, as_user, transferred, via_requests):
    Body.requests = [request_state("closed")]
    assert "'applied': 1" in sync(app) and "'seen': 1" not in sync(app)
    status, _s, outcome, _o, after = state(app, transferred)
    assert status == "accepted" and outcome == "returned" and after == 0
    assert "没有附整改后照片" in as_user("sup_a").get(f"/reports/{transferred}").text


def test_a_replayed_update_is_applied_once(app, transferred):
    Body.updates = [update("u9", "no_further_action")] * 3
    out = sync(app)
    assert "'applied': 1" in out and "'seen': 2" in out
    assert "'seen': 3" in sync(app)
    status, _s, outcome, outcomes, _n = state(app, transferred)
    assert status == "accepted" and outcome == "returned" and outcomes == [("u9", "applied")]


def test_what_the_table_or_the_body_does_not_allow_is_refused_and_logged(app, as_user, transferred, body, caplog):
    caplog.set_level(logging.WARNING)
    Body.updates = [update("r1", "no_further_action"),  # returned ...
                    update("r2", "fixed", media_url=f"{body['base']}/media/after.jpg"),  # ... then "fixed"
                    update("r3", "in_progress", rid="MH-77"),  # a request it does not hold for us
                    update("r4", "reopened"),  # a status we do not map
                    update("r5", "fixed"),  # no after-photo
                    update("r6", "fixed", media_url="http://169.254.169.254/after.jpg")]  # not the body's host
    sync(app)
    status, _s, outcome, outcomes, after = state(app, transferred)
    assert status == "accepted" and outcome == "returned" and after == 0
    assert outcomes == [("r1", "applied"), ("r2", "refused"), ("r3", "refused"), ("r4", "refused"),
                        ("r5", "refused"), ("r6", "refused")]
    with app.app_context():
        details = dict(db.session.execute(select(BodyUpdate.update_id, BodyUpdate.detail)).all())
    assert "不能从“已受理”变更为“已整改”" in details["r2"]
    assert "MH-77" in details["r3"] and "reopened" in details["r4"] and "media_url" in details["r5"]
    assert "own host" in details["r6"]
    assert caplog.text.count("refused") >= 5
    assert report_in_queue(as_user("sup_a"), "to_dispatch", transferred)


def report_in_queue(session, queue, rid) -> bool:
    return rid in session.get(f"/queues?show={queue}").text


@pytest.mark.parametrize(("status", "raw", "why"), [
    (500, None, "HTTP 500"),
    (200, b"<html>not json", "not JSON"),
    (200, b'{"updates": []}', "not a list"),
])
def test_a_broken_body_costs_one_try_and_changes_nothing(app, transferred, status, raw, why):
    Body.status, Body.raw = status, raw
    assert f"not synced: {why}" in sync(app)
    _st, _s, _o, outcomes, _n = state(app, transferred)
    assert outcomes == []
    with app.app_context():  # the cursor stays where it was: the next run asks for the same updates again
        assert db.session.scalar(select(BodyModel.sync_cursor)) is None


def test_a_body_past_its_deadlines_escalates_to_the_town_once(app, as_user, transferred):
    from datetime import timedelta

    from service.bodies import deadlines
    from service.core.models import ReportEvent

    with app.app_context():
        t = db.session.scalar(select(Transfer).where(Transfer.report_id == transferred))
        sign_due, finish_due = t.sign_due_at, t.finish_due_at
        assert deadlines.escalate(sign_due - timedelta(minutes=1)) == 0  # not yet
        assert deadlines.escalate(sign_due + timedelta(minutes=1)) == 1
        assert deadlines.escalate(finish_due + timedelta(minutes=1)) == 0  # once
        event = db.session.scalar(select(ReportEvent).where(ReportEvent.report_id == transferred,
                                                            ReportEvent.kind == "escalate"))
        assert event.data["missed"] == "sign" and event.data["body_name"] == "闵行燃气"
    assert "闵行燃气 逾期未签收，已升级至街镇" in as_user("sup_a").get(f"/reports/{transferred}").text


def test_a_signed_transfer_escalates_only_past_its_finish(app, transferred):
    from datetime import timedelta

    from service.bodies import deadlines

    Body.updates = [update("s1", "in_progress")]
    sync(app)
    with app.app_context():
        t = db.session.scalar(select(Transfer).where(Transfer.report_id == transferred))
        assert deadlines.escalate(t.sign_due_at + timedelta(hours=1)) == 0
        assert deadlines.escalate(t.finish_due_at + timedelta(minutes=1)) == 1
