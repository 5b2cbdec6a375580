"""Deadlines from the risk level, the overdue condition, and escalation to the town then the district.

The deadline rule: due_at = the start of the current period + DEADLINE_HOURS[risk_level]. A period starts
- when the report is made (intake);
- at dispatch (accepted -> dispatched): a fresh full period for whoever it is dispatched to, committee or
  volunteer, whatever time the town took to accept it; escalation starts over;
- when a supervisor sends the work back (rectified -> rectifying, 复查不合格); escalation starts over.
  The committee's own send-back of its volunteer's work does not: the running period resumes, with its
  deadline and escalation (service/rules/workflow.py, RESTARTS_PERIOD).
A supervisor's re-grade of the risk level keeps the period's start and recomputes due_at for the new level, so
raising the risk may make a report overdue at once; escalation is left as it is.
"""
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.sql.elements import ColumnElement

from service.core import clock, events
from service.core.db import db
from service.core.events import ReportEscalated
from service.core.models import Report, ReportEvent
from service.rules.workflow import CLOCK_RUNNING_SQL

LEVELS = {1: "town", 2: "district"}


def deadline(risk_level: str) -> timedelta:
    return timedelta(hours=current_app.config["DEADLINE_HOURS"][risk_level])


def period_start(report: Report) -> datetime:
    """When the report's current deadline period began: its last dispatch or period-starting send-back, else its
    creation (a send-back recorded before the rule had the key started one)."""
    new_period = func.coalesce(ReportEvent.data["new_period"].as_boolean(), True)
    restarted = select(func.max(ReportEvent.created_at)).where(
        ReportEvent.report_id == report.id, ReportEvent.kind == "transition",
        or_(ReportEvent.to_status == "dispatched",
            and_(ReportEvent.from_status == "rectified", ReportEvent.to_status == "rectifying", new_period)))
    return db.session.scalar(restarted) or report.created_at


def restart(report: Report, now: datetime) -> None:
    """Start a fresh period now (dispatch, send-back): a new deadline, and escalation starts over."""
    report.escalation_level, report.escalated_at = 0, None
    report.due_at = now + deadline(report.risk_level)


def overdue(now: datetime) -> ColumnElement:
    """Return the condition of a report whose clock runs past its deadline."""
    # Statuses as literals, so the planner can use the partial index ix_report_running_due.
    return and_(text(f"report.status IN ({CLOCK_RUNNING_SQL})"), Report.due_at < now)


def pending(now: datetime) -> tuple[ColumnElement, ColumnElement]:
    """Return the conditions of a report whose clock runs and is not overdue yet, overdue's complement among the
    running: due from now on (a few days' intake whatever the table's size), or with no deadline. Counts of
    overdue subtract these from a rollup; the two halves are disjoint and each is an index-only scan of
    ix_report_running_due, which their OR is not."""
    running = text(f"report.status IN ({CLOCK_RUNNING_SQL})")
    return and_(running, Report.due_at >= now), and_(running, Report.due_at.is_(None))


def _raise(report: Report, level: int, now: datetime) -> None:
    report.escalation_level, report.escalated_at = level, now
    event = ReportEvent(report_id=report.id, kind="escalate", from_status=report.status, to_status=report.status,
                        actor_label="system", note="", data={"level": LEVELS[level]}, created_at=now)
    db.session.add(event)
    events.publish(ReportEscalated(report, event, LEVELS[level]))


def escalate(now: datetime | None = None) -> dict[str, int]:
    """Escalate overdue reports one level where due; running it again at once changes nothing."""
    now = now or clock.now()
    to_district = timedelta(hours=current_app.config["ESCALATE_TO_DISTRICT_AFTER_H"])
    counts = {"town": 0, "district": 0}
    candidates = db.session.scalars(
        select(Report).where(overdue(now), Report.escalation_level < 2)
        .order_by(Report.due_at).with_for_update(skip_locked=True, of=Report)
    ).all()
    for report in candidates:
        if report.escalation_level == 0:
            _raise(report, 1, now)
            counts["town"] += 1
        elif report.escalated_at is not None and report.escalated_at + to_district <= now:
            _raise(report, 2, now)
            counts["district"] += 1
    db.session.commit()
    return counts
