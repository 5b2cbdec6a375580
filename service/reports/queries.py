"""Read, list and move reports; the JSON shape the API and pages share."""
import uuid
from dataclasses import replace
from datetime import datetime

from flask import url_for
from flask_babel import gettext as _
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from service.accounts import scope
from service.areas import assignment
from service.core import clock, cursors, localtime
from service.core.cubes import ReportStatsTown
from service.core.db import db
from service.core.errors import NotFound
from service.core.models import Report, ReportEvent, ReportRollup, User
from service.photos.redact import published
from service.reports import deadlines
from service.reports.filters import ReportFilter
from service.rules import workflow
from service.rules.categories import CATEGORIES, RISK_LEVELS
from service.rules.workflow import CLOCK_RUNNING, STATUS_LABELS

MAX_LIST = 1000


def to_json(report: Report, user: User | None) -> dict:
    """Return the API representation of one report as this user may see it."""
    return serialize([report], user)[0]


def contact(report: Report, user: User | None) -> str | None:
    """The resident's contact when the rule lets this user read it (scope.report_contact), else None."""
    if report.contact is None:
        return None
    return db.session.scalar(select(Report.contact).where(Report.id == report.id, scope.report_contact(user)))


def serialize(found: list[Report], user: User | None) -> list[dict]:
    """Return the API representation of reports, the same for lists and single views: an id of another
    report (duplicate_of, duplicate_photo_of, recurrence_of) is shown only when the user may see that report."""
    visible = visible_ids({r.duplicate_of for r in found} | {r.duplicate_photo_of for r in found}
                          | {r.recurrence_of for r in found}, user)
    return [_shape(r, visible) for r in found]


def visible_ids(ids, user: User | None) -> set:
    """Return those of the report ids the user may see, in one query."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return set()
    return set(db.session.scalars(select(Report.id).where(Report.id.in_(ids), scope.visible(user))))


def _shape(report: Report, visible: set) -> dict:
    point = to_shape(report.location)
    shown = published(report.photos)
    return {
        "id": str(report.id),
        "client_report_id": report.client_report_id,
        "status": report.status,
        "status_label": str(STATUS_LABELS[report.status]),
        "category": report.category,
        "category_name": str(CATEGORIES[report.category].name),
        "subcategory": report.subcategory,
        "risk_level": report.risk_level,
        "risk_level_name": str(RISK_LEVELS[report.risk_level]),
        "description": report.description,
        "address": report.address,
        "location": {"lon": round(point.x, 7), "lat": round(point.y, 7)},
        "location_source": report.location_source,
        "submitted": {"lon": report.submitted_lon, "lat": report.submitted_lat, "crs": report.submitted_crs},
        "accuracy_m": report.accuracy_m,
        "committee": {"code": report.committee.code, "name": report.committee.name},
        "town": {"code": report.town.code, "name": report.town.name},
        "assignment": {"method": report.assignment_method, "distance_m": round(report.assignment_distance_m, 2),
                       "generation": report.assigned_generation,
                       "method_name": str(assignment.METHODS[report.assignment_method])},
        "photos": [url_for("photos.serve", key=p.public_key) for p in shown if p.role == "before"],
        "thumbnails": [url_for("photos.serve", key=p.thumb_key) for p in shown if p.role == "before"],
        "after_photos": [url_for("photos.serve", key=p.public_key) for p in shown if p.role == "after"],
        "photos_pending": len(report.photos) - len(shown),  # faces not yet blurred: shown as 待脱敏
        "created_at": report.created_at.isoformat(),
        "created_local": localtime.show(report.created_at),
        "taken_at": report.taken_at.isoformat() if report.taken_at else None,
        "due_at": report.due_at.isoformat() if report.due_at else None,
        "overdue": is_overdue(report),
        "escalation": deadlines.LEVELS.get(report.escalation_level),
        "warnings": report.warnings,
        "duplicate_of": str(report.duplicate_of) if report.duplicate_of in visible else None,
        "duplicate_photo_of": str(report.duplicate_photo_of) if report.duplicate_photo_of in visible else None,
        "recurrence_of": str(report.recurrence_of) if report.recurrence_of in visible else None,
        "site_id": report.site_id,  # the key site it was seen at (service/sites)
    }


def is_overdue(report: Report) -> bool:
    return bool(report.due_at and report.status in CLOCK_RUNNING and report.due_at < clock.now())


def events_json(report: Report, user: User | None) -> list[dict]:
    """Return the report's history, oldest first, for timelines; another report's id only if visible."""
    return timelines([report], user)[report.id]


def timelines(reports: list[Report], user: User | None) -> dict:
    """Return each report's history (report id -> events_json), in three queries whatever their number."""
    ids = [r.id for r in reports]
    found = {i: [] for i in ids}
    events = db.session.scalars(select(ReportEvent).where(ReportEvent.report_id.in_(ids))
                                .options(selectinload(ReportEvent.photos), selectinload(ReportEvent.actor))
                                .order_by(ReportEvent.id)).all() if ids else []
    visible = visible_ids({_uuid(e.data.get("duplicate_of")) for e in events if e.data}, user)
    for e in events:
        found[e.report_id].append({
            "kind": e.kind, "from": e.from_status, "to": e.to_status,
            "actor": e.actor_label or (e.actor and e.actor.name), "note": e.note,
            "data": _event_data(e.data, visible), "at": e.created_at.isoformat(),
            # The first event's photos are the report's own, already shown as "before".
            "photos": [url_for("photos.serve", key=p.public_key) for p in published(e.photos) if p.role == "after"],
        })
    return found


def _event_data(data: dict | None, visible: set) -> dict:
    if not data or "duplicate_of" not in data or _uuid(data["duplicate_of"]) in visible:
        return data or {}
    return {k: v for k, v in data.items() if k != "duplicate_of"}


def _uuid(raw) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


def rectified_by(report: Report) -> int | None:
    """Who recorded the report's latest rectification."""
    return db.session.scalar(select(ReportEvent.actor_id).where(
        ReportEvent.report_id == report.id, ReportEvent.kind == "transition", ReportEvent.to_status == "rectified")
        .order_by(ReportEvent.id.desc()).limit(1))


def roles(user: User | None, report: Report) -> frozenset[str]:
    """The roles a user plays for one report (workflow.roles_of), reading who rectified it only when that counts."""
    rectifier = rectified_by(report) if workflow.checks_rectifier(user, report) else None
    return workflow.roles_of(user, report, rectifier)


def get_report(report_id: str, user: User | None, for_update: bool = False) -> Report:
    """Return one report the user may see, or raise a 404 (also when it exists but is out of scope)."""
    try:
        rid = uuid.UUID(report_id)
    except (ValueError, TypeError, AttributeError):
        rid = None
    query = select(Report).where(Report.id == rid, scope.visible(user))
    if for_update:
        query = query.with_for_update()
    report = db.session.scalars(query).first() if rid else None
    if report is None:
        raise NotFound("report_not_found", _("找不到该上报，请检查编号是否正确。"))
    return report


def _cursor(report: Report, by_due: bool) -> str:
    return cursors.encode(report.due_at if by_due else report.created_at, report.id)


def _after(cursor: str, by_due: bool) -> ColumnElement:
    """Rows strictly after the cursor in the list's order (keyset pagination: stable under inserts)."""
    key, rid = cursors.decode(cursor, cursors.DATETIME, cursors.UUID)
    if by_due:
        return tuple_(Report.due_at, Report.id) > tuple_(key, rid)
    return tuple_(Report.created_at, Report.id) < tuple_(key, rid)


def _ordered(query, by_due: bool):
    if by_due:  # the most overdue first, then the nearest deadline
        return query.order_by(Report.due_at, Report.id)
    return query.order_by(Report.created_at.desc(), Report.id.desc())


def list_reports(user: User | None, filt: ReportFilter | None = None, limit: int = 100, cursor: str = "",
                 by_due: bool | None = None):
    """Return one page of the reports a user may see that match the filter: newest first, or by deadline."""
    filt = filt or ReportFilter()
    by_due = filt.overdue if by_due is None else by_due
    query = select(Report).where(scope.visible(user), *filt.conditions()).options(
        selectinload(Report.committee), selectinload(Report.town), selectinload(Report.photos)
    )
    if cursor:
        query = query.where(_after(cursor, by_due))
    limit = max(1, min(limit, MAX_LIST))
    return db.session.scalars(_ordered(query, by_due).limit(limit)).all()


def next_cursor(page: list[Report], limit: int, by_due: bool) -> str | None:
    """The cursor of the page after this one, or None on the last page."""
    return _cursor(page[-1], by_due) if page and len(page) >= max(1, min(limit, MAX_LIST)) else None


def _rollup_total(user: User | None, filt: ReportFilter):
    """The filter's total summed from a trigger-kept table of counts, or None when none keeps the filter and the
    scope: the per-town cube (a few thousand rows) unless a committee is asked for, else report_rollup."""
    for table in ((ReportStatsTown,) if not filt.committee else ()) + (ReportRollup,):
        visible, where = scope.visible_cube(user, table), filt.rollup_conditions(table)
        if visible is not None and where is not None:
            return select(func.coalesce(func.sum(table.n), 0)).where(visible, *where).scalar_subquery()
    return None


def count_reports(user: User | None, filt: ReportFilter | None = None, now: datetime | None = None) -> int:
    """How many reports match, over the whole table (never a count of a truncated list): from the trigger-kept
    counts when the filter and the scope allow, else by counting the rows.

    Overdue moves with the clock, so no rollup holds it: overdue = the running reports in the rollup minus those
    not yet due, counted live over ix_report_running_due (only the last deadline period's intake), in one query.
    """
    filt, now = filt or ReportFilter(), now or clock.now()
    if filt.overdue:
        statuses = tuple(sorted(set(filt.statuses or CLOCK_RUNNING) & CLOCK_RUNNING))
        running = replace(filt, overdue=False, statuses=statuses)
        if not statuses:
            return 0
        total = _rollup_total(user, running)
        if total is not None:
            waiting = [select(func.count()).select_from(Report).where(scope.visible(user), *running.conditions(), half)
                       .scalar_subquery() for half in deadlines.pending(now)]
            return int(db.session.scalar(select(total - waiting[0] - waiting[1])))
    total = _rollup_total(user, filt)
    if total is not None:
        return int(db.session.scalar(select(total)))
    return db.session.scalar(select(func.count()).select_from(Report).where(scope.visible(user),
                                                                           *filt.conditions(now)))
