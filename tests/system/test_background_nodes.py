"""Background work on several nodes at once: `notify` and `escalate` run as separate processes side by side
against one database and a real SMTP server (aiosmtpd); every notification is sent exactly once."""
import asyncio
import email
import os
import secrets
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, text

from service.core.db import db
from service.core.models import Area, Report, ReportEvent
from service.notify.models import AreaContact, Notification, NotificationAttempt
from service.notify.outbox import message_id
from tests.support.notifications import free_port
from tests.support.reports_api import post

EXE = Path(sys.executable).parent / "hazard-snap"
RENDEZVOUS_S = 30


class Rendezvous:
    """An SMTP sink that holds the first message until a second one is being sent at the same time (or
    RENDEZVOUS_S pass): proof that two runners were sending at once, each a different notification."""

    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.overlapped = False
        self._in_flight = 0
        self._two = asyncio.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
        self._in_flight += 1
        if self._in_flight >= 2:
            self._two.set()
        try:
            await asyncio.wait_for(self._two.wait(), RENDEZVOUS_S)
            self.overlapped = True
        except TimeoutError:
            pass
        finally:
            self._in_flight -= 1
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def sink():
    handler, port = Rendezvous(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def start_nodes(command: str, app_database_url: str, photo_dir, smtp_port: int, count: int = 2) -> list:
    """Start `hazard-snap COMMAND` as `count` separate processes, as on separate app nodes."""
    env = os.environ | {"DATABASE_URL": app_database_url, "PHOTO_DIR": str(photo_dir),
                        "SECRET_KEY": secrets.token_hex(32), "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port)}
    return [subprocess.Popen([str(EXE), command], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True) for _ in range(count)]


def finish(nodes: list) -> list[str]:
    outputs = [node.communicate(timeout=RENDEZVOUS_S + 60)[0] for node in nodes]
    assert all(node.returncode == 0 for node in nodes), outputs
    return outputs


def town_emails(app, spot, count: int) -> None:
    with app.app_context():
        town = db.session.scalar(select(Area).where(Area.code == spot["town"]))
        db.session.add_all(AreaContact(area_id=town.id, channel="email", target=f"town{i}@example.test")
                           for i in range(count))
        db.session.commit()


def sent_once(app, mailbox: Rendezvous) -> int:
    """Assert that every outbox row was sent, tried once and received once; return how many."""
    with app.app_context():
        rows = db.session.execute(select(Notification.id, Notification.target, Notification.status,
                                         Notification.attempts)).all()
        tries = db.session.scalar(select(func.count()).select_from(NotificationAttempt))
    assert rows and all(status == "sent" and attempts == 1 for _, _, status, attempts in rows)
    assert tries == len(rows)
    received = sorted((m["Message-ID"], m["To"]) for m in mailbox.messages)
    assert received == sorted((message_id(n), target) for n, target, _, _ in rows)
    return len(rows)


def test_two_notify_runners_send_each_notification_exactly_once(app, anon_http, spot, sink, photo_dir,
                                                                 app_database_url):
    mailbox, port = sink
    town_emails(app, spot, 12)
    for _ in range(2):
        assert post(anon_http, lon=spot["lon"], lat=spot["lat"]).status_code == 201  # 2 x 12 notifications
    outputs = finish(start_nodes("notify", app_database_url, photo_dir, port))
    assert mailbox.overlapped, "the two runners never sent at the same time"
    assert sent_once(app, mailbox) == 24
    sent = [int(out.split("sent ")[1].split(",")[0]) for out in outputs]
    assert sum(sent) == 24 and all(sent), outputs
    again = finish(start_nodes("notify", app_database_url, photo_dir, port, count=1))
    assert again == ["sent 0, failed 0 (will retry)\n"]


def test_two_escalate_runners_escalate_each_report_once_and_skip_a_locked_one(app, anon_http, spot, sink,
                                                                                photo_dir, app_database_url,
                                                                                owner_engine):
    mailbox, port = sink
    town_emails(app, spot, 1)
    ids = [post(anon_http, lon=spot["lon"], lat=spot["lat"]).json()["id"] for _ in range(4)]
    with app.app_context():
        for report in db.session.scalars(select(Report)):
            report.due_at = datetime.now(UTC) - timedelta(hours=1)
        db.session.commit()
    with owner_engine.connect() as busy:  # a third node is in the middle of something with one report
        busy.execute(text("SELECT 1 FROM report WHERE id = :id FOR UPDATE"), {"id": ids[0]})
        outputs = finish(start_nodes("escalate", app_database_url, photo_dir, port))
        busy.rollback()
    towns = [int(out.split("to town: ")[1].split(",")[0]) for out in outputs]
    assert sum(towns) == 3, outputs  # neither waited for the locked report; none escalated twice
    assert finish(start_nodes("escalate", app_database_url, photo_dir, port, count=1)) == [
        "escalated to town: 1, to district: 0\n"]
    with app.app_context():
        escalated = db.session.execute(select(ReportEvent.report_id, func.count()).where(ReportEvent.kind == "escalate")
                                       .group_by(ReportEvent.report_id)).all()
    assert sorted((str(r), n) for r, n in escalated) == sorted((i, 1) for i in ids)
    finish(start_nodes("notify", app_database_url, photo_dir, port))
    assert sent_once(app, mailbox) == 8  # 4 new reports and 4 escalations, one town address
