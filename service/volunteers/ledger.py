"""The service-hour ledger: manual entries, report credits, corrections and approvals; never an edit.

Rules for every new entry, checked under a lock on the volunteer's profile so two requests cannot both pass:
- hours are never negative and one entry is at most 24 h; only a correction may be 0 h (it voids the original);
- the volunteer's live hours on one day (the local date the service started) stay within 24 h;
- a timed entry may not overlap another live timed entry of the same volunteer;
- the service day lies within HOURS_MAX_AGE_DAYS of today and not before the volunteer joined (the profile's
  created_at); a correction that keeps its original's day is exempt, so an old entry can still be put right.
"Live" means not refused and not replaced by a correction; the entry being corrected is left out of both checks.
An entry counts towards hours and stars once approved by committee staff or the town (queries.counted).
"""
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from service.core import events, fields, localtime
from service.core.db import db
from service.core.errors import ApiError, Conflict, Forbidden, Invalid, NotFound
from service.core.models import Report, User
from service.rules.roles import STAFF
from service.volunteers import queries
from service.volunteers.models import ServiceHourDecision, ServiceHourEntry, Volunteer

DAY = Decimal(24)
BAD_HOURS = _l("服务时长应为数字（小时），例如 2.5。")
BAD_TIME = _l("时间格式应为 ISO 8601，例如 2026-11-30T09:00:00+08:00。")
BAD_DATE = _l("请填写服务日期（date），格式为 2026-11-30。")
BAD_CORRECTS = _l("corrects 应为要更正的时长记录编号（正整数）。")


@dataclass
class EntryInput:
    hours: Decimal
    service_date: date
    started_at: datetime | None = None
    ended_at: datetime | None = None
    note: str = ""
    corrects_id: int | None = None


def record(volunteer: Volunteer, item: EntryInput, author: User) -> ServiceHourEntry:
    """Append one entry typed by staff, committed (add_entry for a caller that writes more around it)."""
    entry = add_entry(volunteer, item, author)
    db.session.commit()
    return entry


def add_entry(volunteer: Volunteer, item: EntryInput, author: User | None, source: str = "manual",
              report_id=None) -> ServiceHourEntry:
    """Append one entry for a volunteer after the ledger's checks (module docstring); the caller commits."""
    db.session.execute(select(Volunteer.user_id).where(Volunteer.user_id == volunteer.user_id).with_for_update())
    original = _check_correction(volunteer, item.corrects_id) if item.corrects_id is not None else None
    if original is None and item.hours <= 0:
        raise Invalid("zero_hours", _("服务时长必须大于 0 小时，请填写实际服务时长。"))
    if original is None or original.service_date != item.service_date:
        _check_day(volunteer, item.service_date)
    held = Decimal(db.session.scalar(queries.day_hours(volunteer.user_id, item.service_date, item.corrects_id)))
    if held + item.hours > DAY:
        raise Invalid("day_over_24h", _("该志愿者 %(day)s 已登记 %(held)s 小时，加上本条将超过 24 小时，"
                                              "请核对后重试。", day=item.service_date.isoformat(), held=held))
    if item.started_at is not None:
        clash = db.session.scalar(queries.overlapping(volunteer.user_id, item.started_at, item.ended_at,
                                                      item.corrects_id))
        if clash is not None:
            raise Conflict("overlapping_entry", _("与已有的第 %(id)d 号时长记录时间重叠，请核对起止时间；"
                                                       "如需修改原记录，请提交更正。", id=clash))
    entry = ServiceHourEntry(volunteer_id=volunteer.user_id, source=source, hours=item.hours,
                             service_date=item.service_date, started_at=item.started_at, ended_at=item.ended_at,
                             report_id=report_id, corrects_id=item.corrects_id, note=item.note,
                             created_by=author.id if author else None)
    db.session.add(entry)
    db.session.flush()
    return entry


def allowed_days(volunteer: Volunteer) -> tuple[date, date, date | None]:
    """The first and last local day a new entry of this volunteer may name (within HOURS_MAX_AGE_DAYS of today,
    not before they joined, not after today), and the day they joined."""
    zone = localtime.zone()
    today = localtime.today()
    joined = volunteer.created_at.astimezone(zone).date() if volunteer.created_at is not None else None
    earliest = today - timedelta(days=max(int(current_app.config["HOURS_MAX_AGE_DAYS"]), 0))
    return max(earliest, joined or earliest), today, joined


def _check_day(volunteer: Volunteer, day: date) -> None:
    earliest, latest, joined = allowed_days(volunteer)
    if day > latest:
        raise Invalid("future_hours", _("不能登记尚未发生的服务时长，请核对日期和时间。"))
    if day >= earliest:
        return
    span = {"day": day.isoformat(), "earliest": earliest.isoformat(), "latest": latest.isoformat()}
    if joined == earliest:
        raise Invalid("hours_before_joining", _("服务日期 %(day)s 早于该志愿者加入的日期，只能登记 "
                                                      "%(earliest)s 至 %(latest)s 之间的服务时长，请核对日期。",
                                                      **span))
    raise Invalid("hours_too_old", _("服务日期 %(day)s 距今超过 %(n)d 天，只能登记 %(earliest)s 至 %(latest)s "
                                           "之间的服务时长，请核对日期。",
                                           n=int(current_app.config["HOURS_MAX_AGE_DAYS"]), **span))


def _check_correction(volunteer: Volunteer, entry_id: int) -> ServiceHourEntry:
    original = db.session.get(ServiceHourEntry, entry_id)
    if original is None or original.volunteer_id != volunteer.user_id:
        raise Invalid("unknown_entry", _("要更正的时长记录不存在或不属于该志愿者，请核对记录编号。"))
    decision = db.session.scalar(select(ServiceHourDecision).where(ServiceHourDecision.entry_id == entry_id))
    if decision is not None and not decision.approved:
        raise Conflict("entry_refused", _("该记录已被驳回，不计入时长，无需更正；请直接新增一条记录。"))
    if db.session.scalar(queries.has_live_correction(entry_id)):
        raise Conflict("already_corrected", _("该记录已有更正，请对最新的更正记录进行更正。"))
    return original


def decide(entry_id: int | str, reviewer: User, approved: bool, note: str = "") -> ServiceHourDecision:
    """Approve or refuse an entry once (committee staff or the town, within scope), committed."""
    found, wanted = None, queries.as_id(entry_id)
    if wanted is not None:
        found = db.session.execute(
            select(ServiceHourEntry).join(Volunteer, Volunteer.user_id == ServiceHourEntry.volunteer_id)
            .where(ServiceHourEntry.id == wanted, queries.visible(reviewer))
            .with_for_update(of=Volunteer)).scalar()  # the app role may not lock ledger rows
    if found is None:
        raise NotFound("entry_not_found", _("找不到该时长记录，请检查编号是否正确。"))
    if reviewer.role not in STAFF:
        raise Forbidden("forbidden", _("只有居村委工作人员或街镇可以审核服务时长。"))
    if found.created_by == reviewer.id:
        raise Forbidden("own_entry", _("不能审核自己录入的时长记录，请由本居村委其他工作人员或街镇审核。"))
    if db.session.scalar(select(ServiceHourDecision.id).where(ServiceHourDecision.entry_id == found.id)):
        raise Conflict("already_decided", _("该时长记录已审核过；如有错误，请提交一条更正记录。"))
    decision = ServiceHourDecision(entry_id=found.id, approved=approved, decided_by=reviewer.id, note=note)
    db.session.add(decision)
    db.session.commit()
    return decision


def report_moved(e: events.ReportMoved) -> None:
    if e.to_status == "verified":
        credit_verified_report(e.report)  # pending service hours when the reporter is a volunteer


def credit_verified_report(report: Report) -> ServiceHourEntry | None:
    """Credit the reporter of a verified hazard with REPORT_CREDIT_HOURS, pending approval like any entry.

    Nothing happens for an anonymous reporter, someone without a volunteer profile, a credit of 0, or a day that
    is already full: the verification itself must never fail for the sake of a credit.
    """
    hours = Decimal(str(current_app.config["REPORT_CREDIT_HOURS"])).quantize(Decimal("0.01"))
    volunteer = db.session.get(Volunteer, report.reporter_id) if report.reporter_id else None
    if hours <= 0 or volunteer is None:
        return None
    if db.session.scalar(select(ServiceHourEntry.id).where(ServiceHourEntry.report_id == report.id)):
        return None
    item = EntryInput(hours=hours, service_date=localtime.today())
    try:
        with db.session.begin_nested():
            return add_entry(volunteer, item, None, source="report", report_id=report.id)
    except ApiError:
        current_app.logger.info("report %s: no service-hour credit, the reporter's day is full", report.id)
        return None


def parse_entry(body: dict) -> EntryInput:
    """Read an entry from JSON: {hours, date} or {started_at, ended_at[, hours]}, note, corrects; 422 if bad."""
    started, ended = _time(body.get("started_at")), _time(body.get("ended_at"))
    if (started is None) != (ended is None):
        raise Invalid("span_incomplete", _("开始时间和结束时间须同时填写。"))
    hours = _hours(body.get("hours")) if body.get("hours") is not None else None
    if started is not None:
        if ended <= started:
            raise Invalid("span_backwards", _("结束时间必须晚于开始时间，请核对后重试。"))
        span = Decimal((ended - started).total_seconds() / 3600).quantize(Decimal("0.01"))
        if hours is not None and hours > span:
            raise Invalid("hours_over_span", _("服务时长不能超过起止时间之间的时长。"))
        hours = span if hours is None else hours
        day = started.astimezone(localtime.zone()).date()
    else:
        if hours is None:
            raise Invalid("hours_required", _("请填写服务时长（hours），或填写开始和结束时间。"))
        day = _date(body.get("date"))
    _check_bounds(hours, day, ended)
    corrects = body.get("corrects")
    if corrects is not None and (not isinstance(corrects, int) or isinstance(corrects, bool) or corrects < 1):
        raise Invalid("bad_corrects", str(BAD_CORRECTS))
    note = fields.note(body.get("note") or None)
    return EntryInput(hours, day, started, ended, note, corrects)


def _check_bounds(hours: Decimal, day: date, ended: datetime | None) -> None:
    if hours < 0:
        raise Invalid("negative_hours", _("服务时长不能为负数；如需扣减，请对原记录提交更正。"))
    if hours > DAY:
        raise Invalid("hours_over_day", _("单条记录不能超过 24 小时，请按天分开登记。"))
    now = localtime.now()
    if day > now.date() or (ended is not None and ended > now + timedelta(minutes=5)):
        raise Invalid("future_hours", _("不能登记尚未发生的服务时长，请核对日期和时间。"))


def _hours(raw) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise Invalid("bad_hours", str(BAD_HOURS))
    try:
        value = Decimal(str(raw).strip())
        if not value.is_finite():
            raise ArithmeticError(raw)
        return value.quantize(Decimal("0.01"))  # raises for absurd magnitudes too
    except ArithmeticError as e:
        raise Invalid("bad_hours", str(BAD_HOURS)) from e


def _time(raw) -> datetime | None:
    if raw is None:
        return None
    try:
        t = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        t = None
    if t is None:
        raise Invalid("bad_time", str(BAD_TIME))
    return localtime.attach(t).astimezone(UTC)


def _date(raw) -> date:
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) else date.fromisoformat("")
    except ValueError as e:
        raise Invalid("bad_date", str(BAD_DATE)) from e


def entry_json(entry: ServiceHourEntry, decision: ServiceHourDecision | None) -> dict:
    status = "pending" if decision is None else "approved" if decision.approved else "rejected"
    return {
        "id": entry.id, "volunteer_id": entry.volunteer_id, "source": entry.source, "hours": float(entry.hours),
        "date": entry.service_date.isoformat(), "started_at": _iso(entry.started_at), "ended_at": _iso(entry.ended_at),
        "report_id": str(entry.report_id) if entry.report_id else None, "corrects": entry.corrects_id,
        "note": entry.note, "created_by": entry.created_by, "status": status,
        "decided_by": decision.decided_by if decision else None, "decided_at": _iso(decision and decision.decided_at),
    }


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None
