"""Helpers first written for tests/http/test_notifications.py, now shared by several test modules."""
import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from service.core.db import db
from service.core.models import Area, Report
from service.notify.models import AreaContact, Notification


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


def make_overdue(app, rid: str, hours: float) -> datetime:
    with app.app_context():
        report = db.session.get(Report, rid)
        report.due_at = datetime.now(UTC) - timedelta(hours=hours)
        db.session.commit()
        return report.due_at
