"""The 12345 hotline's figures for the dashboard and the monthly report, in one statement.

Of the orders received in [start, end) whose report the user may see:

    orders            the orders received
    signed_on_time    signed for (or returned) by sign_due_at;  sign_rate = signed_on_time / sign_due, where sign_due
                      counts those signed for and those still unsigned past sign_due_at (one inside it is on
                      neither side)
    returned          sent back to the hotline (退回)
    replied_on_time   the first answer queued by reply_due_at;  reply_rate = replied_on_time / replied
    unreplied_overdue no answer yet and past reply_due_at
    called_back       of the orders whose report is verified, those with a call-back answer;
                      callback_rate = called_back / verified
    satisfied, basic, unsatisfied
                      the round-1 answers (回访); satisfaction_rate = (satisfied + basic) / answered, as the
                      hotline's own reports publish 满意率: (满意 + 基本满意) / 回访数

The scan is ix_hotline_order_received's range, joined to report by its key for the scope; the round-1 answer
and the call-back test read uq_hotline_callback_round.
"""
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from service.accounts import scope
from service.bodies.figures import rate
from service.core.db import db
from service.core.models import Report, User
from service.hotline.models import Callback, HotlineOrder


def orders(user: User, start: datetime | None, end: datetime | None, within: list, now: datetime) -> dict:
    """The module's figures for the orders received in [start, end) (either may be None) whose report the user may
    see and `within` (conditions on Report) admits."""
    o, first = HotlineOrder, aliased(Callback)
    on_time = o.signed_at <= o.sign_due_at
    missed = or_(o.signed_at > o.sign_due_at, and_(o.signed_at.is_(None), o.sign_due_at < now))
    verified = Report.status == "verified"
    called = exists().where(Callback.report_id == o.report_id)
    dated = ([o.received_at >= start] if start else []) + ([o.received_at < end] if end else [])
    r = db.session.execute(
        select(func.count().label("orders"),
               func.count().filter(on_time).label("signed_on_time"),
               func.count().filter(or_(on_time, missed)).label("sign_due"),
               func.count().filter(o.sign_outcome == "returned").label("returned"),
               func.count().filter(o.replied_at.isnot(None)).label("replied"),
               func.count().filter(o.replied_at <= o.reply_due_at).label("replied_on_time"),
               func.count().filter(o.replied_at.is_(None), o.reply_due_at < now).label("unreplied_overdue"),
               func.count().filter(verified).label("verified"),
               func.count().filter(verified, called).label("called_back"),
               func.count(first.id).label("answered"),
               func.count().filter(first.answer == "satisfied").label("satisfied"),
               func.count().filter(first.answer == "basic").label("basic"),
               func.count().filter(first.answer == "unsatisfied").label("unsatisfied"))
        .select_from(o).join(Report, Report.id == o.report_id)
        .outerjoin(first, and_(first.report_id == o.report_id, first.round == 1))
        .where(scope.visible(user), *dated, *within)).one()
    found = dict(r._mapping)
    return found | {"sign_rate": rate(r.signed_on_time, r.sign_due),
                    "reply_rate": rate(r.replied_on_time, r.replied),
                    "callback_rate": rate(r.called_back, r.verified),
                    "satisfaction_rate": rate(r.satisfied + r.basic, r.answered)}
