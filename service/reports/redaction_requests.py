"""Anyone who may see a photo asks for it to be checked (请求遮挡); the request waits in its town's queue (issue 25).

A resident asks from the tracking page, a volunteer or staff from the detail page, with an optional reason. There is
one open request per photo: asking again while one is open changes nothing (no flood). Staff close it by covering a
region (service/reports/redaction.py, outcome `redacted`) or by deciding nothing needs hiding (`no_change`); each
step is an event in the report's history. The queue lists the open requests the caller's scope covers (the report's
town for a supervisor), oldest first, paginated in SQL over a partial index of the open rows.
"""
from flask_babel import gettext as _
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import selectinload

from service.accounts import scope
from service.core import clock, cursors
from service.core.db import db
from service.core.errors import Conflict, Forbidden, Invalid, NotFound
from service.core.models import Report, ReportEvent, User
from service.photos.redact import published
from service.reports import queries
from service.reports.models import RedactionRequest
from service.rules.roles import STAFF

MAX_REASON = 500


def ask(report: Report, photo_id, reason, user: User | None) -> tuple[RedactionRequest, bool]:
    """Ask for a published photo of a report the caller may see (the caller found it: by scope, or by receipt when
    user is None) to be checked; (the request, whether it is new). Commits."""
    if not isinstance(reason, str | None) or len(reason or "") > MAX_REASON:
        raise Invalid("bad_reason", _("原因不能超过 %(n)d 字，请精简后重试。", n=MAX_REASON))
    db.session.execute(select(Report.id).where(Report.id == report.id).with_for_update())  # one asker at a time
    photo = _photo(report, photo_id)
    existing = db.session.scalar(select(RedactionRequest).where(
        RedactionRequest.photo_id == photo.id, RedactionRequest.closed_at.is_(None)))
    if existing is not None:
        db.session.rollback()
        return existing, False
    request = RedactionRequest(report_id=report.id, photo_id=photo.id, reason=(reason or "").strip(),
                               requester_id=user.id if user else None)
    db.session.add(request)
    db.session.flush()
    db.session.add(ReportEvent(report=report, kind="redact_request", from_status=report.status,
                               to_status=report.status, actor_id=user.id if user else None,
                               actor_label=user.name if user else None, note=request.reason,
                               data={"photo_id": photo.id, "request_id": request.id,
                                     "by": "user" if user else "resident"}))
    db.session.commit()
    return request, True


def decline(report_id: str, request_id, user: User) -> RedactionRequest:
    """Close an open request with nothing to hide (staff whose scope covers the report). Commits."""
    report = queries.get_report(report_id, user, for_update=True)
    if user.role not in STAFF:
        raise Forbidden("forbidden", _("只有工作人员可以处理遮挡请求。"))
    try:
        wanted = int(request_id)
    except (TypeError, ValueError):
        wanted = None
    request = db.session.scalar(select(RedactionRequest).where(
        RedactionRequest.id == wanted, RedactionRequest.report_id == report.id))
    if request is None:
        raise NotFound("request_not_found", _("找不到该遮挡请求，请刷新页面后重试。"))
    if request.closed_at is not None:
        raise Conflict("request_closed", _("该遮挡请求已处理，无需重复操作。"))
    _close(request, user, "no_change")
    db.session.add(ReportEvent(report=report, kind="redact_declined", from_status=report.status,
                               to_status=report.status, actor_id=user.id, actor_label=user.name,
                               data={"photo_id": request.photo_id, "request_id": request.id}))
    db.session.commit()
    return request


def close_open(photo_id: int, user: User, outcome: str) -> RedactionRequest | None:
    """Close the photo's open request, if any (a redaction answered it); the caller commits."""
    request = db.session.scalar(select(RedactionRequest).where(
        RedactionRequest.photo_id == photo_id, RedactionRequest.closed_at.is_(None)).with_for_update())
    if request is not None:
        _close(request, user, outcome)
    return request


def open_for(report_id) -> dict[int, RedactionRequest]:
    """The open request of each photo of one report (for its detail page)."""
    return {r.photo_id: r for r in db.session.scalars(select(RedactionRequest).where(
        RedactionRequest.report_id == report_id, RedactionRequest.closed_at.is_(None)))}


def _visible(user: User | None):
    return select(RedactionRequest).join(Report, Report.id == RedactionRequest.report_id).where(
        RedactionRequest.closed_at.is_(None), scope.visible(user))


def queue(user: User | None, limit: int, cursor: str = "") -> tuple[list[RedactionRequest], str | None]:
    """One page of the open requests the user's scope covers, oldest first, and the next page's cursor."""
    query = _visible(user).options(selectinload(RedactionRequest.photo),
                                   selectinload(RedactionRequest.report).selectinload(Report.town),
                                   selectinload(RedactionRequest.report).selectinload(Report.committee))
    if cursor:
        at, rid = cursors.decode(cursor, cursors.DATETIME, cursors.INT)
        query = query.where(tuple_(RedactionRequest.created_at, RedactionRequest.id) > tuple_(at, rid))
    rows = db.session.scalars(query.order_by(RedactionRequest.created_at, RedactionRequest.id).limit(limit)).all()
    after = cursors.encode(rows[-1].created_at, rows[-1].id) if len(rows) >= limit else None
    return rows, after


def count(user: User | None) -> int:
    return db.session.scalar(select(func.count()).select_from(_visible(user).subquery()))


def _photo(report: Report, photo_id):
    try:
        wanted = int(photo_id)
    except (TypeError, ValueError):
        wanted = None
    photo = next((p for p in published(report.photos) if p.id == wanted), None)
    if photo is None:
        raise NotFound("photo_not_found", _("找不到这张照片，请刷新页面后重试。"))
    return photo


def _close(request: RedactionRequest, user: User, outcome: str) -> None:
    request.closed_at, request.closed_by_id, request.outcome = clock.now(), user.id, outcome
