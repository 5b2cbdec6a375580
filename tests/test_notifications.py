"""Escalation and the notification outbox, against a local HTTP robot receiver and a local SMTP server."""
import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from service.core.db import db
from service.core.models import Area, Report, ReportEvent
from service.notify import outbox as notify
from service.notify.models import AreaContact, Notification, NotificationAttempt
from service.reports import deadlines

from .test_reports_api import post
from .test_workflow_api import move


class Robot(BaseHTTPRequestHandler):
    """A chat-robot webhook: records JSON bodies; answers as the test tells it to."""

    received: list = []
    answer: tuple[int, dict] = (200, {"errcode": 0, "errmsg": "ok"})

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status, answer = Robot.answer
        if status == 200 and not answer.get("errcode"):
            Robot.received.append(body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(answer).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def robot():
    Robot.received, Robot.answer = [], (200, {"errcode": 0, "errmsg": "ok"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), Robot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key=test", Robot
    server.shutdown()


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app, monkeypatch):
    mailbox, port = Mailbox(), free_port()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    yield controller, mailbox
    try:
        controller.stop()
    except AssertionError:
        pass  # already stopped by the test


def contacts(app, spot, robot_url, email="weiyuanhui@example.test"):
    with app.app_context():
        committee = db.session.scalar(select(Area).where(Area.code == spot["code"]))
        district = db.session.scalar(select(Area).where(Area.level == "district"))
        for area, channel, target in ((committee.parent, "webhook", robot_url), (committee, "email", email),
                                      (district, "webhook", robot_url + "&district")):
            db.session.add(AreaContact(area_id=area.id, channel=channel, target=target))
        db.session.commit()


def outbox(app) -> list[tuple]:
    with app.app_context():
        return db.session.execute(select(Notification.channel, Notification.status, Notification.attempts)
                                  .order_by(Notification.id)).all()


def run(app, *args) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_new_report_notifies_the_town_robot_in_the_same_transaction(app, anon_http, spot, robot):
    url, handler = robot
    contacts(app, spot, url)
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"], description="三楼楼道堆放纸箱").json()["id"]
    with app.app_context():
        n = db.session.scalar(select(Notification))
        assert n.event.report_id.hex == rid.replace("-", "") and n.event.to_status == "submitted"
    assert "sent 1, failed 0" in run(app, "notify")
    text = handler.received[0]["text"]["content"]
    assert handler.received[0]["msgtype"] == "text" and "三楼楼道堆放纸箱" in text and "新的火灾隐患待受理" in text
    assert "sent 0, failed 0" in run(app, "notify")  # nothing is sent twice


def test_a_receiver_that_is_down_loses_nothing(app, anon_http, as_user, spot, robot, smtp, clock):
    url, handler = robot
    controller, mailbox = smtp
    contacts(app, spot, url)
    handler.answer = (503, {"errmsg": "down"})
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    move(as_user("sup_a"), rid, "accepted")
    move(as_user("sup_a"), rid, "dispatched")  # -> e-mail to the committee; the SMTP server is not running yet
    assert "sent 0, failed 2" in run(app, "notify")
    assert outbox(app) == [("webhook", "pending", 1), ("email", "pending", 1)]
    assert "sent 0, failed 0" in run(app, "notify")  # backing off: nothing is due yet (the clock is stopped)
    handler.answer = (200, {"errcode": 93000, "errmsg": "invalid webhook url"})  # a robot's refusal is a failure
    with app.app_context():
        later = datetime.now(UTC) + timedelta(minutes=2)
        assert notify.deliver_due(now=later) == (0, 2)
        handler.answer = (200, {"errcode": 0})
        controller.start()
        assert notify.deliver_due(now=later + timedelta(hours=2)) == (2, 0)
        attempts = db.session.scalars(select(NotificationAttempt.ok).order_by(NotificationAttempt.id)).all()
        assert attempts == [False, False, False, False, True, True]
        waits = db.session.scalars(select(Notification.attempts)).all()
        assert waits == [3, 3]
    assert len(handler.received) == 1 and len(mailbox.messages) == 1
    rcpt, content = mailbox.messages[0]
    assert rcpt == ["weiyuanhui@example.test"] and "Subject:" in content


def test_backoff_grows_and_is_capped(app):
    with app.test_request_context():
        assert [notify._backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
        assert notify._backoff(40).total_seconds() == 3600


def _make_overdue(app, rid: str, hours: float) -> datetime:
    with app.app_context():
        report = db.session.get(Report, rid)
        report.due_at = datetime.now(UTC) - timedelta(hours=hours)
        db.session.commit()
        return report.due_at


def test_escalation_town_then_district_idempotent(app, anon_http, as_user, spot, robot, clock):
    url, handler = robot
    contacts(app, spot, url)
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    fresh = post(anon_http, lon=spot["lon"], lat=spot["lat"]).json()["id"]  # not overdue: never escalated
    _make_overdue(app, rid, 1)
    assert "to town: 1, to district: 0" in run(app, "escalate")
    assert "to town: 0, to district: 0" in run(app, "escalate")
    assert as_user("sup_a").get(f"/api/v1/reports/{rid}").json()["escalation"] == "town"
    listed = [r["id"] for r in as_user("sup_a").get("/api/v1/reports", params={"overdue": "1"}).json()["reports"]]
    assert listed == [rid] and fresh not in listed
    with app.app_context():
        later = datetime.now(UTC) + timedelta(hours=app.config["ESCALATE_TO_DISTRICT_AFTER_H"], minutes=1)
        assert deadlines.escalate(later) == {"town": 0, "district": 1}
        assert deadlines.escalate(later) == {"town": 0, "district": 0}
        kinds = db.session.scalars(select(ReportEvent.data).where(ReportEvent.kind == "escalate")
                                   .order_by(ReportEvent.id)).all()
        assert kinds == [{"level": "town"}, {"level": "district"}]
        targets = db.session.scalars(select(Notification.target).order_by(Notification.id)).all()
    assert targets == [url, url, url, url + "&district"]  # 2 new reports, then the town and district escalations
