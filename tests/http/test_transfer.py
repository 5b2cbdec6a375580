"""Transfer (转派, issue 24): a checked move with its own event and reason, out of the committee's queues into the
town's "transferred" one, delivered to an Open311 body through the outbox exactly once, shown as not yet delivered
while the body is down, and ended when the town takes it back."""
import json
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from service.bodies import registry
from service.bodies.models import Transfer
from service.core.db import db
from service.core.models import ReportEvent
from service.notify import outbox
from service.notify.models import Notification
from tests.support.local_http import reply, running
from tests.support.receipts import sent, track_path
from tests.support.reports_api import post
from tests.support.workflow_api import move

KEY = "body-key-0815"


class Open311Body(BaseHTTPRequestHandler):
    """A body's GeoReport v2 endpoint: answers POST requests.json with a service_request_id, or `status`."""

    posts: list = []
    status = 201
    ids: dict = {}

    def do_POST(self):  # noqa: N802 - http.server's naming
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        key = self.headers.get("Idempotency-Key")
        Open311Body.posts.append((self.path, {k: v[0] for k, v in form.items()}, key))
        if Open311Body.status >= 300:
            return reply(self, Open311Body.status)
        rid = Open311Body.ids.setdefault(key, f"MH-{len(Open311Body.ids) + 1}")  # honours Idempotency-Key
        reply(self, Open311Body.status, json.dumps([{"service_request_id": rid}]).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def body(app, spot, monkeypatch):
    """A gas company's Open311 endpoint on 127.0.0.1, registered for the spot's town."""
    Open311Body.posts, Open311Body.status, Open311Body.ids = [], 201, {}
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW_HOSTS", frozenset({"127.0.0.1"}))
    with running(Open311Body) as base, app.app_context():
        b = registry.add(name="闵行燃气", kind="utility", channel="open311", endpoint=f"{base}/open311/v2",
                         categories=["gas_open_flame"], area_codes=[spot["town"]], jurisdiction_id="gas.example",
                         credential=KEY, sign_hours=4, finish_hours=48)
        yield {"id": b.id, "name": b.name}


@pytest.fixture
def report_id(anon_http, spot):
    r = post(anon_http, lon=spot["lon"], lat=spot["lat"], category="gas_open_flame", description="楼道里有燃气味")
    assert r.status_code == 201, r.text
    return r.json()["id"]


def deliver(app) -> tuple[int, int]:
    with app.app_context():
        return outbox.deliver_due()


def transfer_row(app, report_id) -> Transfer | None:
    with app.app_context():
        t = db.session.scalar(select(Transfer).where(Transfer.report_id == report_id).order_by(Transfer.id.desc()))
        db.session.expunge_all()
        return t


def test_a_town_supervisor_transfers_with_a_reason_and_it_is_delivered_once(app, as_user, body, report_id):
    sup, staff = as_user("sup_a"), as_user("staff_a")
    page = sup.get(f"/reports/{report_id}").text
    assert f'<option value="{body["id"]}">闵行燃气（推荐：负责此处且受理此类）</option>' in page

    r = move(sup, report_id, "transferred", note="燃气泄漏归燃气公司处置", body_id=body["id"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "transferred"
    with app.app_context():
        event = db.session.scalar(select(ReportEvent).where(ReportEvent.report_id == report_id,
                                                            ReportEvent.to_status == "transferred"))
        assert event.note == "燃气泄漏归燃气公司处置"
        assert event.data == {"body_id": body["id"], "body_name": "闵行燃气"}
    # Out of the committee's hands, into the town's "transferred" queue, said on the page.
    assert report_id not in staff.get("/inbox").text
    assert report_id in sup.get("/queues?show=transferred").text
    detail = sup.get(f"/reports/{report_id}").text
    assert "转派至 闵行燃气" in detail and "尚未送达对方单位" in detail

    assert deliver(app) == (1, 0)
    (path, form, key), = Open311Body.posts
    assert path == "/open311/v2/requests.json"
    assert form["api_key"] == KEY and form["jurisdiction_id"] == "gas.example"
    assert form["service_code"] == "gas_open_flame" and form["description"] == "楼道里有燃气味"
    assert form["media_url"].startswith(app.config["PUBLIC_BASE_URL"]) and "/photos/p/" in form["media_url"]
    assert float(form["lat"]) and float(form["long"])
    t = transfer_row(app, report_id)
    assert key == f"hazard-snap-transfer-{t.id}"
    assert t.remote_id == "MH-1" and t.delivered_at is not None
    assert (t.sign_due_at - t.delivered_at).total_seconds() == 4 * 3600
    assert (t.finish_due_at - t.delivered_at).total_seconds() == 48 * 3600
    detail = sup.get(f"/reports/{report_id}").text
    assert "尚未送达" not in detail and "MH-1" in detail
    assert deliver(app) == (0, 0) and len(Open311Body.posts) == 1  # exactly once
    with app.app_context():
        assert KEY not in " ".join(n.last_error or "" for n in db.session.scalars(select(Notification)))


def test_a_body_that_is_down_is_retried_and_its_retry_makes_no_second_request(app, as_user, body, report_id):
    sup = as_user("sup_a")
    assert move(sup, report_id, "transferred", note="归燃气公司", body_id=body["id"]).status_code == 200
    Open311Body.status = 500
    assert deliver(app) == (0, 1)
    assert transfer_row(app, report_id).delivered_at is None
    assert "尚未送达对方单位" in sup.get(f"/reports/{report_id}").text
    with app.app_context():
        n = db.session.scalar(select(Notification).where(Notification.channel == "open311"))
        assert n.status == "pending" and "HTTP 500" in n.last_error and n.next_attempt_at > n.created_at
        n.next_attempt_at = n.created_at  # the backoff has passed
        db.session.commit()
    Open311Body.status = 201
    assert deliver(app) == (1, 0)
    assert transfer_row(app, report_id).remote_id == "MH-1"
    keys = {key for _path, _form, key in Open311Body.posts}
    assert len(Open311Body.posts) == 2 and len(keys) == 1  # the same request, tried twice


@pytest.mark.parametrize(("extra", "status", "message"), [
    ({"body_id": ""}, 422, "请从列表中选择一个在用的转派单位"),
    ({"body_id": 999}, 422, "请从列表中选择一个在用的转派单位"),
    ({"body_id": "x"}, 422, "请从列表中选择一个在用的转派单位"),
    ({"note": ""}, 422, "转派时请填写转派理由"),
])
def test_a_transfer_without_a_body_or_a_reason_is_refused_and_nothing_changes(app, as_user, body, report_id,
                                                                              extra, status, message):
    sent = {"note": "归燃气公司", "body_id": body["id"]} | extra
    r = move(as_user("sup_a"), report_id, "transferred", **sent)
    assert r.status_code in (400, 422) and message in r.json()["error"]["message"], r.text
    assert transfer_row(app, report_id) is None
    assert as_user("sup_a").get(f"/api/v1/reports/{report_id}").json()["status"] == "submitted"


def test_a_body_that_does_not_take_the_category_and_a_committee_are_refused(app, as_user, anon_http, spot, body):
    wiring = post(anon_http, lon=spot["lon"], lat=spot["lat"], category="illegal_wiring").json()["id"]
    r = move(as_user("sup_a"), wiring, "transferred", note="试试", body_id=body["id"])
    assert r.status_code == 422 and "不受理" in r.json()["error"]["message"]
    r = move(as_user("staff_a"), wiring, "transferred", note="不归我们", body_id=body["id"])
    assert r.status_code == 403
    assert transfer_row(app, wiring) is None


def test_the_town_takes_it_back_and_it_returns_to_the_dispatch_queue(app, as_user, body, report_id):
    sup = as_user("sup_a")
    assert move(sup, report_id, "transferred", note="归燃气公司", body_id=body["id"]).status_code == 200
    assert deliver(app) == (1, 0)
    r = move(sup, report_id, "accepted", note="燃气公司说不归他们，收回")
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    t = transfer_row(app, report_id)
    assert t.outcome == "recalled" and t.ended_at is not None
    assert report_id in sup.get("/queues?show=to_dispatch").text
    assert report_id not in sup.get("/queues?show=transferred").text
    # A second transfer opens a new row; the ended one stays as history.
    assert move(sup, report_id, "transferred", note="再转一次", body_id=body["id"]).status_code == 200
    with app.app_context():
        assert [t.outcome for t in db.session.scalars(select(Transfer).order_by(Transfer.id))] == ["recalled", None]


def test_the_resident_s_tracking_page_says_who_holds_it_now(app, as_user, anon_http, spot, body):
    receipt = sent(anon_http, spot, category="gas_open_flame")
    r = move(as_user("sup_a"), receipt["id"], "transferred", note="归燃气公司", body_id=body["id"])
    assert r.status_code == 200
    page = anon_http.get(track_path(receipt)).text
    assert '<dd id="track-committee">转派至 闵行燃气</dd>' in page
    assert "· 转派至 闵行燃气</li>" in page
    assert "归燃气公司" not in page  # the reason is staff's, not shown to the resident


def test_the_queues_suggest_the_matching_body_in_one_query(app, as_user, anon_http, spot, body):
    from sqlalchemy import event

    sup = as_user("sup_a")
    ids = [post(anon_http, lon=spot["lon"], lat=spot["lat"], category=c).json()["id"]
           for c in ("gas_open_flame", "gas_open_flame", "ebike_charging")]
    page = sup.get("/queues?show=to_accept").text
    rows = {rid: page.split(f"/reports/{rid}")[1].split("</tr>")[0] for rid in ids}
    assert "建议转派：闵行燃气" in rows[ids[0]] and "建议转派：闵行燃气" in rows[ids[1]]
    assert "建议转派" not in rows[ids[2]]  # the gas company does not take e-bikes
    with app.app_context():
        from service.bodies import registry as reg
        seen = []
        listen = lambda *a: seen.append(a[2])  # noqa: E731 - every statement the engine runs
        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            found = reg.suggested_for(ids)
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
        assert {str(k): v for k, v in found.items()} == {ids[0]: "闵行燃气", ids[1]: "闵行燃气"} and len(seen) == 1
