"""Escalation and the notification outbox, against a local HTTP robot receiver and a local SMTP server."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service.core.db import db
from service.core.models import ReportEvent
from service.notify import outbox as notify
from service.notify.models import Notification, NotificationAttempt
from service.reports import deadlines
from tests.support.notifications import contacts, make_overdue, outbox, run
from tests.support.reports_api import post
from tests.support.workflow_api import move


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


def test_backoff_grows_and_is_capped(app):
    with app.test_request_context():
        assert [notify._backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
        assert notify._backoff(40).total_seconds() == 3600


@pytest.mark.clock_edges  # run again at the day's edges, the process in other zones
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


@pytest.mark.clock_edges  # run again at the day's edges, the process in other zones
def test_escalation_town_then_district_idempotent(app, anon_http, as_user, spot, robot, clock):
    url, handler = robot
    contacts(app, spot, url)
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    fresh = post(anon_http, lon=spot["lon"], lat=spot["lat"]).json()["id"]  # not overdue: never escalated
    make_overdue(app, rid, 1)
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
