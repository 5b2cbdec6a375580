"""The call-back (回访): after verification the caller of a hotline order is asked 满意 / 基本满意 / 不满意.

They answer on the order's tracking page, whose link goes by text message when the order names a mainland
mobile number (the hotline took it from the caller on the phone, so no confirmation code is asked first). 不满意
needs a reason and reopens the report once for the town to check again (复核: verified -> rectified, the
workflow's RESIDENT move); the town verifies it again, or sends the work back. Asked again after that re-check, a
second 不满意 goes to the district (an escalation event the district's contacts hear of). One answer per round.
"""
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.core import clock, events
from service.core.db import db
from service.core.errors import Conflict, Invalid
from service.core.events import ReportEscalated
from service.core.models import Report, ReportEvent
from service.hotline.models import ANSWERS, Callback, HotlineOrder
from service.notify import outbox
from service.receipts import receipts
from service.reports import moves
from service.rules.workflow import RESIDENT

ANSWER_LABELS = {"satisfied": _l("满意"), "basic": _l("基本满意"), "unsatisfied": _l("不满意")}
SUBJECT = _l("火患随手拍：请评价隐患处理结果")
MAX_REASON = 500
ROUNDS = 2


def rounds(report_id) -> list[Callback]:
    return list(db.session.scalars(select(Callback).where(Callback.report_id == report_id).order_by(Callback.round)))


def open_round(order: HotlineOrder | None, report: Report, answered: list[Callback]) -> int | None:
    """The round the caller may answer now, or None: the report is verified, and either nothing was answered yet
    or the one answer was 不满意 and the re-checked report was verified again since."""
    if order is None or report.status != "verified" or len(answered) >= ROUNDS:
        return None
    if not answered:
        return 1
    last = answered[-1]
    return 2 if last.answer == "unsatisfied" and report.verified_at and report.verified_at > last.created_at else None


def state(report: Report) -> dict | None:
    """What the tracking page shows of the call-back, or None for a report that is no hotline order."""
    order = db.session.get(HotlineOrder, report.id)
    if order is None:
        return None
    answered = rounds(report.id)
    return {"order_no": order.order_no, "answered": answered, "round": open_round(order, report, answered)}


def report_moved(e: events.ReportMoved) -> None:
    """On verification of an order whose caller left a mainland mobile, text them the link to answer."""
    if e.to_status != "verified":
        return
    order = db.session.get(HotlineOrder, e.report.id)
    channel, target = receipts.notify_target(e.report.contact)
    if order is None or channel != "sms" or len(rounds(e.report.id)) >= ROUNDS:
        return
    with force_locale("zh_CN"):
        text = _("【火患随手拍】您反映的火灾隐患（工单 %(no)s）已整改并核查。请告诉我们您是否满意：%(link)s",
                 no=order.order_no, link=receipts.tracking_link(e.report.id))
    outbox.enqueue_worded([(channel, target)], str(SUBJECT), text, {"report_id": str(e.report.id)}, event=e.event)
    order.callback_asked_at = e.event.created_at


def answer(report_id, raw_answer, raw_reason) -> Callback:
    """Record the caller's answer (committed), reopening for a re-check or telling the district; or refuse."""
    report = db.session.get(Report, report_id, with_for_update=True)
    order = db.session.get(HotlineOrder, report_id)
    answered = rounds(report_id)
    n = open_round(order, report, answered)
    if n is None:
        raise Conflict("callback_closed", _("目前没有需要您评价的处理结果，感谢关注。") if not answered
                       else _("您已经评价过本次处理结果，感谢您的反馈。"))
    choice = raw_answer if isinstance(raw_answer, str) and raw_answer in ANSWERS else None
    if choice is None:
        raise Invalid("bad_answer", _("请选择“满意”“基本满意”或“不满意”。"))
    reason = raw_reason.strip() if isinstance(raw_reason, str) else ""
    if len(reason) > MAX_REASON:
        raise Invalid("reason_too_long", _("理由不能超过 %(n)s 字。", n=MAX_REASON))
    if choice == "unsatisfied" and not reason:
        raise Invalid("reason_required", _("选择“不满意”时，请写下不满意的原因，我们会据此重新核查。"))
    callback = Callback(report_id=report.id, round=n, answer=choice, reason=reason, created_at=clock.now())
    db.session.add(callback)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("callback_answered", _("您已经评价过本次处理结果，感谢您的反馈。")) from None
    if choice != "unsatisfied":
        db.session.commit()
    elif n == 1:  # committed with the move
        moves.move_by(RESIDENT, report, "rectified", str(_l("来电人回访")), reason, [],
                      {"callback": callback.id, "recheck": True})
    else:
        event = ReportEvent(report_id=report.id, kind="escalate", from_status=report.status, to_status=report.status,
                            actor_label="system", note=reason, created_at=callback.created_at,
                            data={"level": "district", "missed": "callback", "order_no": order.order_no})
        db.session.add(event)
        db.session.flush()
        events.publish(ReportEscalated(report, event, "district"))
        db.session.commit()
    return callback
