"""Contacts kept only as long as needed: CONTACT_RETENTION_DAYS after a report is closed, the resident's contact is
erased, with an event.

What a report holds of a resident's contact, and what erasing it does:
- report.contact (what they typed on the form): set to NULL;
- the receipt's update address (notify_channel, notify_target): set to NULL, so no more updates go there; the
  receipt's number and tracking link keep working, and so does the rating;
- the one-time codes sent to that address, and the messages the outbox sent it: their address is blanked ('');
  the codes' hashes and the messages' texts stay, so the history still says that something was sent.
A report is closed when its status is (rejected, duplicate, verified), and updated_at is when it closed: a closed
report changes no more. The event (kind contact_erased, by "system") records what was erased, never the contact.

The sweep is idempotent (a second run finds nothing) and safe on several nodes at once: each batch locks its
reports with SKIP LOCKED, so two sweepers never take the same report.
"""
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, text, union, update

from service.core import clock
from service.core.db import db
from service.core.models import Report, ReportEvent
from service.notify.models import Notification
from service.receipts.models import ContactCode, ReportReceipt
from service.rules.workflow import CLOSED_SQL

KIND = "contact_erased"
BATCH = 500


def due(now: datetime) -> list:
    """The next batch of closed reports past the retention period that still hold a contact, locked. Each place
    a contact is kept is found through a partial index of the rows that still hold one (migration 0030)."""
    cutoff = now - timedelta(days=current_app.config["CONTACT_RETENTION_DAYS"])
    closed = [text(f"report.status IN ({CLOSED_SQL})"), Report.updated_at < cutoff]
    holding = union(
        select(Report.id).where(Report.contact.is_not(None), *closed),
        select(ReportReceipt.report_id).join(Report, Report.id == ReportReceipt.report_id)
        .where(ReportReceipt.notify_target.is_not(None), *closed),
        select(ContactCode.report_id).join(Report, Report.id == ContactCode.report_id)
        .where(ContactCode.target != "", *closed)).subquery()
    return db.session.scalars(
        select(Report).where(Report.id.in_(select(holding.c[0]))).order_by(Report.updated_at).limit(BATCH)
        .with_for_update(skip_locked=True, of=Report)).all()


def erase(reports: list[Report], now: datetime) -> None:
    """Erase the contacts the reports hold (module docstring), with an event each; the caller commits. The
    reports' updated_at stays their closing time (the recurrence figures read it as the verification's)."""
    ids = [r.id for r in reports]
    receipts = dict(db.session.execute(
        select(ReportReceipt.report_id, ReportReceipt.notify_target).where(ReportReceipt.report_id.in_(ids))).all())
    for report in reports:
        erased = [name for name, held in (("contact", report.contact), ("updates", receipts.get(report.id))) if held]
        db.session.add(ReportEvent(report_id=report.id, kind=KIND, from_status=report.status,
                                   to_status=report.status, actor_label="system", note="", created_at=now,
                                   data={"erased": erased or ["codes"]}))
    codes = select(ContactCode.id).where(ContactCode.report_id.in_(ids))
    events = select(ReportEvent.id).where(ReportEvent.report_id.in_(ids))
    db.session.execute(update(Notification).where(
        or_(Notification.contact_code_id.in_(codes), Notification.event_id.in_(events)),
        Notification.channel.in_(("sms", "email")), Notification.target != "").values(target=""))
    db.session.execute(update(ContactCode).where(ContactCode.report_id.in_(ids), ContactCode.target != "")
                       .values(target=""))
    db.session.execute(update(ReportReceipt).where(ReportReceipt.report_id.in_(ids))
                       .values(notify_channel=None, notify_target=None))
    db.session.execute(update(Report).where(Report.id.in_(ids)).values(contact=None, updated_at=Report.updated_at)
                       .execution_options(synchronize_session=False))


def sweep(now: datetime | None = None) -> int:
    """Erase every contact past its retention period, a committed batch at a time; return how many reports."""
    now, done = now or clock.now(), 0
    while batch := due(now):
        erase(batch, now)
        db.session.commit()
        done += len(batch)
    return done
