"""Who hears of a report, in words: the town of a new one, the committee that must act, the town that must check,
the volunteer it is dispatched to. Subscribed to the reports' events; the outbox only delivers what is worded here.
"""
from collections.abc import Iterable

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from service.core import events, localtime
from service.core.db import db
from service.core.models import Report, ReportEvent, User
from service.notify import outbox
from service.rules.categories import CATEGORIES
from service.rules.workflow import STATUS_LABELS

# Who hears about a move: the committee that must act, or the town that must check (or dispatch again).
MOVES = {
    ("accepted", "dispatched"): ("committee", _l("新派单：请尽快整改火灾隐患")),
    ("dispatched", "accepted"): ("town", _l("志愿者未接单，已退回，请重新派单")),
    ("rectifying", "rectified"): ("town", _l("隐患已整改，待核查")),
    ("rectified", "rectifying"): ("committee", _l("复查不合格，请重新整改")),
    ("transferred", "accepted"): ("town", _l("转派已退回或收回，请重新派单")),
    ("transferred", "rectified"): ("town", _l("转派单位已办结，待核查")),
}
ESCALATED = {"town": _l("隐患逾期未整改，已升级至街镇"), "district": _l("隐患逾期未整改，已升级至区级")}
DISTRICT_CODE_LENGTH = 6


def text(report: Report, subject: str) -> str:
    """The message about a report: what, where, its status and deadline, its page."""
    due = localtime.show(report.due_at)
    link = f"{current_app.config['PUBLIC_BASE_URL']}/reports/{report.id}"
    return (f"【火患随手拍】{subject}\n{CATEGORIES[report.category].name} · {report.committee.name} · "
            f"{report.town.name}\n状态：{STATUS_LABELS[report.status]}　整改期限：{due}\n"
            f"{report.description[:200]}\n{link}")


def enqueue(event: ReportEvent, report: Report, contacts: Iterable[tuple[str, str]], subject) -> int:
    """Queue the report's message to each (channel, target), in the same transaction as the event."""
    contacts = list(contacts)
    if not contacts:
        return 0
    with force_locale("zh_CN"):  # people read Chinese, whatever language the acting user chose
        subject = str(subject)
        worded = text(report, subject)
    return outbox.enqueue_worded(contacts, subject, worded, {"report_id": str(report.id)}, event=event)


def tell_areas(event: ReportEvent, report: Report, area_codes: Iterable[str], subject) -> int:
    """Queue the report's message to every contact of the given areas."""
    return enqueue(event, report, outbox.area_contacts(area_codes), subject)


def report_created(e: events.ReportCreated) -> None:
    tell_areas(e.event, e.report, [e.report.town.code], _l("新的火灾隐患待受理"))


def report_moved(e: events.ReportMoved) -> None:
    report = e.report
    if audience := MOVES.get((e.from_status, e.to_status)):
        level, subject = audience
        tell_areas(e.event, report, [report.committee.code if level == "committee" else report.town.code], subject)
    if e.to_status == "dispatched" and report.assignee_id:
        enqueue(e.event, report, [("sms", db.session.get(User, report.assignee_id).phone)],
                _l("新任务：有一条火灾隐患派给您，请在“我的任务”中接单或拒绝"))


def report_reassigned(e: events.ReportReassigned) -> None:
    if e.report.status in ("dispatched", "rectifying"):
        tell_areas(e.event, e.report, [e.report.committee.code], _l("改派：请整改转来的火灾隐患"))


def report_escalated(e: events.ReportEscalated) -> None:
    town_code = e.report.town.code
    audience = [town_code] if e.level == "town" else [town_code[:DISTRICT_CODE_LENGTH]]
    tell_areas(e.event, e.report, audience, ESCALATED[e.level])
