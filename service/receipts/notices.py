"""Tell a resident what became of their report: one message per status change they care about, through the
outbox (e-mail by SMTP, text messages through the SMS gateway webhook), in the same transaction as the move.

The message carries the receipt number, the new status, the committee and the deadline; never the link
itself (only its hash is kept) nor anything staff wrote.
"""
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from service.core import events, localtime
from service.core.db import db
from service.core.models import Report, ReportEvent
from service.notify import outbox
from service.receipts.models import ReportReceipt
from service.rules.workflow import STATUS_LABELS

SUBJECT = _l("火患随手拍：您上报的隐患有新进展")
TOLD = frozenset({"accepted", "rejected", "duplicate", "dispatched", "rectified", "verified"})


def report_moved(e: events.ReportMoved) -> None:
    on_move(e.event, e.report)


def on_move(event: ReportEvent, report: Report) -> int:
    """Queue the reporter's update for this move, if they asked for updates; return how many were queued."""
    if event.to_status not in TOLD:
        return 0
    receipt = db.session.get(ReportReceipt, report.id)
    if receipt is None or receipt.revoked_at is not None or receipt.notify_channel is None:
        return 0
    with force_locale("zh_CN"):  # residents read Chinese, whatever language the acting staff chose
        text = _("【火患随手拍】您上报的隐患（回执号 %(number)s）状态更新为“%(status)s”。处置单位：%(committee)s。",
                 number=receipt.number, status=STATUS_LABELS[event.to_status], committee=report.committee.name)
        if report.due_at and event.to_status in ("accepted", "dispatched"):
            text += _("整改期限：%(due)s。", due=localtime.show(report.due_at))
        text += _("详情请打开上报时保存的跟踪链接查看。")
        subject = str(SUBJECT)
    return outbox.enqueue_worded([(receipt.notify_channel, receipt.notify_target)], subject, text,
                                 {"report_id": str(report.id)}, event=event)
