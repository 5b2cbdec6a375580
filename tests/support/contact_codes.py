"""Helpers first written for tests/http/test_contact_codes.py, now shared by several test modules."""
import re

from sqlalchemy import select

from service.core.db import db
from service.notify.models import Notification

CODE = re.compile(r"验证码 (\d{6})")


def queued(app, report_id) -> list[tuple[str, str, str]]:
    """(channel, target, text) of the resident-facing messages queued for a report, oldest first."""
    with app.app_context():
        rows = db.session.scalars(select(Notification).where(Notification.channel.in_(("email", "sms")))
                                  .order_by(Notification.id)).all()
        return [(n.channel, n.target, n.payload["text"]) for n in rows if n.payload.get("report_id") == report_id]


def the_code(app, report_id) -> str:
    return CODE.search(queued(app, report_id)[-1][2]).group(1)


def wrong(code: str) -> str:
    """Another six-digit code than this one."""
    return f"{(int(code) + 1) % 10 ** 6:06d}"

