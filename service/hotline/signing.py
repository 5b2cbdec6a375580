"""Sign-for (签收) and return (退回) of a hotline order, and the escalation of one nobody signed for in time.

The town signs for an order by its first move out of `submitted` (accepting, transferring or marking it a
duplicate). Within the return window (return_due_at) it may instead return a misrouted order to the hotline with a
reason: the move is the table's 不予受理 (submitted -> rejected), and the order's answer says 退回, not 不予受理
(replies.py). After the window a rejection is the town's answer like any other, and a sign-for, however late.
An order still unsigned at its sign_due_at escalates to the town once (`hazard-snap hotline escalate`, cron).
"""
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from service.core import clock, events
from service.core.db import db
from service.core.errors import Invalid
from service.core.events import ReportEscalated
from service.core.models import Report, ReportEvent, User
from service.hotline import replies
from service.hotline.models import HotlineOrder

ANSWERED = frozenset({"verified", "rejected", "duplicate"})


def returnable(order: HotlineOrder | None, now: datetime | None = None) -> bool:
    """Tell whether this order may still go back to the hotline (unsigned, within its window)."""
    return order is not None and order.signed_at is None and (now or clock.now()) <= order.return_due_at


def prepare_reject(report: Report, user: User, form, note: str, data: dict) -> None:
    """A rejection of an unsigned hotline order within its window is its return (退回), which needs a reason."""
    order = db.session.get(HotlineOrder, report.id, with_for_update=True)
    if not returnable(order):
        return
    if not (note or "").strip():
        raise Invalid("return_reason_required", _("退回热线工单时请填写退回理由（例如不属于本辖区或非消防隐患）。"))
    data["hotline_return"] = order.order_no


def report_moved(e: events.ReportMoved) -> None:
    """Record the sign-for or the return; queue the answer when the order's report closes."""
    order = db.session.get(HotlineOrder, e.report.id)
    if order is None:
        return
    if e.from_status == "submitted" and order.signed_at is None:
        order.signed_at = e.event.created_at
        order.sign_outcome = "returned" if e.event.data.get("hotline_return") else "accepted"
    if e.to_status in ANSWERED:
        replies.enqueue(order, e.report, e.event)


def escalate(now: datetime | None = None) -> int:
    """Escalate every order past its sign-for deadline and not signed for, once; committed. Idempotent."""
    now = now or clock.now()
    late = db.session.scalars(select(HotlineOrder).where(
        HotlineOrder.signed_at.is_(None), HotlineOrder.sign_escalated_at.is_(None), HotlineOrder.sign_due_at < now,
    ).order_by(HotlineOrder.sign_due_at).with_for_update(skip_locked=True)).all()
    for order in late:
        order.sign_escalated_at = now
        report = db.session.get(Report, order.report_id)
        event = ReportEvent(report_id=report.id, kind="escalate", from_status=report.status, to_status=report.status,
                            actor_label="system", note="", created_at=now,
                            data={"level": "town", "missed": "hotline_sign", "order_no": order.order_no})
        db.session.add(event)
        db.session.flush()
        events.publish(ReportEscalated(report, event, "town"))
    db.session.commit()
    return len(late)
