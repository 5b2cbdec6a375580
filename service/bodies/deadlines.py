"""A body that misses its sign-for or its finish deadline escalates to the town, as a committee does.

Run after each `bodies sync` (so a body that answers late is heard first). A transfer escalates once: the event
says which deadline was missed, and the town hears of it through the reports' own ReportEscalated subscribers.
"""
from datetime import datetime

from sqlalchemy import and_, or_, select

from service.bodies.models import Transfer
from service.core import clock, events
from service.core.db import db
from service.core.events import ReportEscalated
from service.core.models import Report, ReportEvent


def escalate(now: datetime | None = None) -> int:
    """Escalate every open, delivered transfer past a deadline and not escalated yet; committed. Idempotent."""
    now = now or clock.now()
    late = db.session.scalars(select(Transfer).where(
        Transfer.ended_at.is_(None), Transfer.escalated_at.is_(None), Transfer.delivered_at.is_not(None),
        or_(Transfer.finish_due_at < now, and_(Transfer.signed_at.is_(None), Transfer.sign_due_at < now)),
    ).order_by(Transfer.id).with_for_update(skip_locked=True)).all()
    for transfer in late:
        transfer.escalated_at = now
        report = db.session.get(Report, transfer.report_id)
        missed = "finish" if transfer.finish_due_at < now else "sign"
        event = ReportEvent(report_id=report.id, kind="escalate", from_status=report.status,
                            to_status=report.status, actor_label="system", note="", created_at=now,
                            data={"level": "town", "body_id": transfer.body_id, "body_name": transfer.body.name,
                                  "missed": missed})
        db.session.add(event)
        db.session.flush()
        events.publish(ReportEscalated(report, event, "town"))
    db.session.commit()
    return len(late)
