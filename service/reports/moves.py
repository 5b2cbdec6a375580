"""Move reports through the workflow: permissions, required proof, deadlines and events (what follows a move,
such as notifications and service-hour credit, subscribes to ReportMoved)."""
import uuid
from collections.abc import Callable
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from service.accounts import scope
from service.areas import boundaries
from service.core import clock, events
from service.core.db import db
from service.core.errors import Conflict, Forbidden, Invalid
from service.core.events import ReportMoved, ReportReassigned
from service.core.models import Report, ReportEvent, User
from service.photos.pipeline import process_uploads
from service.photos.staging import photo_transaction, read_uploads, stage_photos
from service.reports import deadlines, queries
from service.rules.categories import RISK_LEVELS
from service.rules.workflow import CLOSED, REGRADE, STATUS_LABELS, TRANSITIONS, allowed, may, send_back_restarts
from service.volunteers.models import Volunteer
from service.volunteers.queries import town_committee_codes

# What a move needs besides the table's say-so, stated by the area above that offers it (service/bodies adds
# "transferred": the body chosen and the reason): fn(report, user, form, note, data) refuses with a 4xx, or writes
# into the event's data; its handler of ReportMoved then does the rest in the same transaction.
PREPARE: dict[str, Callable[[Report, User, dict, str, dict], None]] = {}


def prepare_with(to_status: str, fn: Callable[[Report, User, dict, str, dict], None]) -> None:
    """Register what a move to `to_status` needs (called from an area's subscribe())."""
    PREPARE[to_status] = fn


def _check(report: Report, to_status: str, user: User) -> frozenset[str]:
    """Refuse a move the table does not have or this user may not make; return the roles they play."""
    if to_status not in TRANSITIONS:
        raise Invalid("bad_status", _("目标状态无效。"))
    if not allowed(report.status, to_status):
        raise Conflict("illegal_transition", _("不能从“%(a)s”变更为“%(b)s”。",
                                                    a=STATUS_LABELS[report.status], b=STATUS_LABELS[to_status]))
    roles = queries.roles(user, report)
    if not may(roles, report.status, to_status):
        raise Forbidden("forbidden", _("您的角色无权执行此操作（从“%(a)s”到“%(b)s”）。",
                                           a=STATUS_LABELS[report.status], b=STATUS_LABELS[to_status]))
    return roles


def _duplicate_target(raw: str | None, report: Report, user: User) -> uuid.UUID:
    target = queries.get_report(raw or "", user) if raw else None
    if target is None or target.id == report.id:
        raise Invalid("duplicate_of_required", _("标记为重复时，请填写与之重复的另一条上报编号。"))
    return target.id


def assignable(report: Report) -> list[User]:
    """Return the volunteers a report may be dispatched to: active, on the roster of a committee of its town."""
    return db.session.scalars(select(User).join(Volunteer, Volunteer.user_id == User.id).where(
        User.role == "volunteer", User.active, Volunteer.active,
        Volunteer.committee_code.in_(town_committee_codes(report.town.code))).order_by(User.name, User.id)).all()


def assignees_json(report: Report, user: User) -> list[dict]:
    """The pick list for dispatch, shown only to those who may dispatch; phones are masked."""
    if user.role not in TRANSITIONS["accepted"]["dispatched"]:
        raise Forbidden("forbidden", _("只有街镇督导或区级管理员可以派单。"))
    return [{"id": v.id, "name": v.name, "phone": v.phone[:3] + "****" + v.phone[-4:]} for v in assignable(report)]


def _assignee(raw, report: Report) -> int | None:
    """Return the chosen volunteer's id; an unknown id and one outside the pick list get the same answer."""
    if raw is None or raw == "":
        return None
    try:
        wanted = int(raw)
    except (TypeError, ValueError):
        wanted = None
    if wanted is None or wanted not in {v.id for v in assignable(report)}:
        raise Invalid("unknown_volunteer", _("请从可指派的志愿者列表中选择一位志愿者。"))
    return wanted


def _apply_clock(report: Report, to_status: str, now: datetime, roles: frozenset[str], data: dict) -> None:
    """The deadline rule of service/reports/deadlines.py: dispatch, and a supervisor's send-back, start a fresh
    period; the committee's own send-back resumes the running one (workflow.send_back_restarts)."""
    if to_status == "verified":
        report.verified_at = now  # the dashboard's time to verified
    if to_status == "rectified" and report.status != "verified":  # a re-check (复核) keeps when the work was done
        report.rectified_at = now  # the deadline clock stops
    elif to_status == "dispatched":
        deadlines.restart(report, now)
    elif report.status == "rectified" and to_status == "rectifying":
        report.rectified_at = None
        data["new_period"] = send_back_restarts(roles)
        if data["new_period"]:
            deadlines.restart(report, now)


def move(report_id: str, to_status: str, user: User, note: str = "", files=(), form=None) -> Report:
    """Apply one transition for a user, with its proof, event and notifications, or raise 4xx."""
    form = form or {}
    report = queries.get_report(report_id, user, for_update=True)
    roles = _check(report, to_status, user)
    photos = []
    if to_status == "rectified":
        if not any(f and f.filename for f in files):
            raise Invalid("after_photo_required", _("标记整改完成前，请上传整改后的现场照片。"))
        photos = process_uploads(read_uploads(files))
    data = {}
    if to_status in PREPARE:
        PREPARE[to_status](report, user, form, note, data)
    elif to_status == "transferred":  # fail closed: no area offers bodies, so there is none to choose
        raise Invalid("no_bodies", _("本服务未启用转派。"))
    if report.assignee_id is not None and to_status == "transferred":
        data["unassigned"], report.assignee_id = report.assignee_id, None
    if to_status == "duplicate":
        report.duplicate_of = _duplicate_target(form.get("duplicate_of"), report, user)
        data["duplicate_of"] = str(report.duplicate_of)
    if to_status == "dispatched" and (assignee := _assignee(form.get("assignee_id"), report)):
        report.assignee_id = data["assignee_id"] = assignee
    if report.status == "dispatched" and to_status == "accepted":  # declined: back to the dispatcher
        data["declined_by"], report.assignee_id = report.assignee_id, None
    return _record(report, to_status, roles, user, note, photos, data)


def _record(report: Report, to_status: str, roles: frozenset[str], user: User | None, note: str, photos: list,
            data: dict, actor_label: str = "") -> Report:
    """Write a checked move: the clock, its event, its after-photos, ReportMoved; committed with the photos."""
    now = clock.now()
    with photo_transaction() as batch:
        _apply_clock(report, to_status, now, roles, data)
        event = ReportEvent(report=report, kind="transition", from_status=report.status, to_status=to_status,
                            actor_id=user.id if user else None, actor_label=user.name if user else actor_label,
                            note=note, data=data, created_at=now)
        db.session.add(event)
        stage_photos(report, photos, batch, role="after", event=event)
        from_status, report.status = report.status, to_status
        db.session.flush()
        events.publish(ReportMoved(report, event, from_status, to_status))
    return report


def move_by(role: str, report: Report, to_status: str, label: str, note: str, photos: list, data: dict) -> Report:
    """Apply a move made by someone without an account here, playing a pseudo-role of the table: a body outside
    the programme through its channel (BODY, service/bodies), a resident at call-back (RESIDENT, service/hotline).
    The table must allow it from the report's status (locked by the caller), else a Conflict and nothing is
    written; `label` names who moved it on the timeline."""
    if not may(frozenset({role}), report.status, to_status):
        raise Conflict("illegal_transition", _("不能从“%(a)s”变更为“%(b)s”。",
                                                    a=STATUS_LABELS[report.status], b=STATUS_LABELS[to_status]))
    return _record(report, to_status, frozenset({role}), None, note, photos, data, actor_label=label)


def bad_risk_level() -> str:
    return _("风险等级无效，请从 %(levels)s 中选择。", levels="、".join(f"{k}（{v}）" for k, v in RISK_LEVELS.items()))


def regrade(report_id: str, risk_level, user: User, note: str = "") -> Report:
    """Re-grade an open report's risk level (supervisors, within scope) and recompute its deadline; an event."""
    report = queries.get_report(report_id, user, for_update=True)
    if user.role not in REGRADE:
        raise Forbidden("forbidden", _("只有街镇督导或区级管理员可以调整风险等级。"))
    if not isinstance(risk_level, str) or risk_level not in RISK_LEVELS:
        raise Invalid("bad_risk_level", bad_risk_level())
    if report.status in CLOSED:
        raise Conflict("report_closed", _("该上报已办结，不能再调整风险等级。"))
    if risk_level == report.risk_level:
        raise Conflict("same_risk_level", _("该上报已是这个风险等级，无需调整。"))
    start = deadlines.period_start(report)
    data = {"from": report.risk_level, "to": risk_level}
    report.risk_level = risk_level
    report.due_at = start + deadlines.deadline(risk_level)
    db.session.add(ReportEvent(report=report, kind="regrade", from_status=report.status, to_status=report.status,
                               actor_id=user.id, actor_label=user.name, note=note,
                               data=data | {"due_at": report.due_at.isoformat()}))
    db.session.commit()
    return report


def reassign(report_id: str, committee_code: str, user: User, note: str = "") -> Report:
    """Put a report under another committee (a wrong polygon, a moved pin): supervisors, within scope."""
    report = queries.get_report(report_id, user, for_update=True)
    if user.role not in ("town_supervisor", "district_admin"):
        raise Forbidden("forbidden", _("只有街镇督导或区级管理员可以改派居村委。"))
    if report.status in CLOSED:
        raise Conflict("report_closed", _("该上报已办结，不能再改派居村委。"))
    committee = boundaries.latest(committee_code, "committee")
    if committee is None or not scope.may_manage_committee(user, committee):
        raise Invalid("committee_out_of_scope", _("目标居村委不存在或不在您的管辖范围内。"))
    if committee.code == report.committee.code:
        raise Invalid("same_committee", _("该上报已属于这个居村委。"))
    data = {"from": report.committee.code, "to": committee.code,
            "from_name": report.committee.name, "to_name": committee.name}
    event = ReportEvent(report=report, kind="reassign", from_status=report.status, to_status=report.status,
                        actor_id=user.id, actor_label=user.name, note=note, data=data)
    db.session.add(event)
    report.committee_id, report.town_id = committee.id, committee.parent_id
    report.assignment_method, report.assignment_distance_m = "manual", 0.0
    db.session.flush()
    db.session.refresh(report, ["committee", "town"])
    events.publish(ReportReassigned(report, event))
    db.session.commit()
    return report
