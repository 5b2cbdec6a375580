"""Named selects behind the Open311 reads: who sees which requests, date windows, pages.

Who sees what (GET requests, requests/{id}, tokens, servicerequestupdates):
- anyone, with or without an api_key: every report except a `rejected` one (不予受理: staff found no hazard,
  and its text may be a mistake or abuse), in its public form: id, status and its label, service, committee,
  notice, times and a location snapped to ~100 m; never the description, address, contact, reporter, photos
  or staff notes (free text may carry names and phone numbers; after-photos are private anyway);
- a caller with a valid api_key also sees every report its scope allows (service.accounts.scope), rejected
  ones included, in full: description, address, exact location, the public copy of the photo, notes.
An invalid api_key is a 403, never a silent fall back to the public view.

Lists are limited in SQL: page_size defaults to and may not exceed 1000 for a caller with an api_key (the usual
GeoReport practice) and 100 for an anonymous one (a public map or app needs no more; 1000 rows cost 27x the
smallest page at 10^6 reports, bench/open311.py); `page` (from 1) moves on, but no page may end more than
MAX_DEPTH rows deep: OFFSET reads and drops every row before the page, so a deeper list is asked for by a narrower
start_date/end_date. Dates default to the last 90 days and a window may not be longer.
"""
import uuid
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.datastructures import MultiDict

from service.accounts import scope
from service.core import clock, localtime
from service.core.db import db
from service.core.errors import Malformed, NotFound
from service.core.models import Report, ReportEvent, User
from service.open311.services import check_codes
from service.reports.filters import STATUS_GROUPS, ReportFilter
from service.reports.queries import visible_ids
from service.rules.workflow import TRANSITIONS

PUBLIC_STATUSES = tuple(sorted(set(TRANSITIONS) - {"rejected"}))
WINDOW = timedelta(days=90)
MAX_PAGE = 1000
PUBLIC_MAX_PAGE = 100
MAX_DEPTH = 10_000
MAX_IDS = 100


def shown(caller: User | None) -> ColumnElement:
    """The reports this caller may read at all: the public ones, and those in the caller's scope."""
    return or_(Report.status.in_(PUBLIC_STATUSES), scope.visible(caller))


def in_full(reports, caller: User | None) -> set:
    """The ids of those reports the caller may see in full (their scope covers them)."""
    return visible_ids({r.id for r in reports}, caller)


def when(args: MultiDict, name: str) -> datetime | None:
    """A W3C datetime parameter (local time when it has no offset), None when absent, else a 400 naming it."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return localtime.attach(datetime.fromisoformat(raw))  # a time without offset is local time
    except ValueError:
        raise Malformed("bad_" + name, _("%(name)s 必须是 W3C 日期时间，例如 2026-11-30T08:00:00+08:00。",
                                             name=name)) from None


def window(args: MultiDict) -> tuple[datetime, datetime]:
    """start_date/end_date as a window of at most 90 days; the last 90 days when neither is given."""
    start, end = when(args, "start_date"), when(args, "end_date")
    if end is None:
        end = start + WINDOW if start else clock.now()
    if start is None:
        start = end - WINDOW
    if start > end:
        raise Malformed("bad_dates", _("start_date 不能晚于 end_date。"))
    if end - start > WINDOW:
        raise Malformed("window_too_long", _("查询时间范围不能超过 90 天，请缩小 start_date 与 end_date 的间隔。"))
    return start, end


def _page(args: MultiDict, caller: User | None) -> tuple[int, int]:
    """(limit, offset) from page_size and page."""
    largest = MAX_PAGE if caller is not None else PUBLIC_MAX_PAGE
    try:
        size, page = int(args.get("page_size") or largest), int(args.get("page") or 1)
    except ValueError:
        size = page = 0
    if not (1 <= size <= largest and page >= 1):
        raise Malformed("bad_page", _("page_size 应为 1 到 %(n)s 的整数，page 应为正整数。", n=largest))
    if page * size > MAX_DEPTH:
        raise Malformed("page_too_deep", _("翻页过深：page × page_size 不能超过 %(n)s，请用 start_date 与 "
                                               "end_date 缩小时间范围后再查询。", n=MAX_DEPTH))
    return size, (page - 1) * size


def _statuses(raw: str) -> tuple[str, ...]:
    groups = [g for g in raw.split(",") if g]
    if any(g not in ("open", "closed") for g in groups):
        raise Malformed("bad_status", _("status 只能是 open 或 closed（可用逗号分隔）。"))
    return tuple(sorted(s for g in groups for s in STATUS_GROUPS[g]))


def _ids(raw: str) -> list[uuid.UUID]:
    found = []
    for part in raw.split(",")[:MAX_IDS]:
        try:
            found.append(uuid.UUID(part.strip()))
        except ValueError:
            continue  # an id that is not ours matches nothing, like an unknown one
    return found


def _with_details(query):
    return query.options(selectinload(Report.committee), selectinload(Report.photos), selectinload(Report.events))


def find_requests(args: MultiDict, caller: User | None) -> list[Report]:
    """GET requests: by id list (which overrides every other argument), else by filter and window."""
    query = _with_details(select(Report).where(shown(caller)))
    if args.get("service_request_id"):
        return list(db.session.scalars(query.where(Report.id.in_(_ids(args["service_request_id"])))
                                      .order_by(Report.created_at.desc()).limit(MAX_IDS)))
    start, end = window(args)
    filt = ReportFilter(statuses=_statuses(args.get("status", "")),
                        categories=check_codes(args.get("service_code", "")))
    limit, offset = _page(args, caller)
    query = query.where(*filt.conditions(), Report.created_at >= start, Report.created_at <= end)
    return list(db.session.scalars(query.order_by(Report.created_at.desc(), Report.id.desc())
                                   .limit(limit).offset(offset)))


def one_request(raw_id: str, caller: User | None) -> Report:
    """requests/{id}: one report the caller may read, or a 404."""
    ids = _ids(raw_id)
    report = db.session.scalars(_with_details(select(Report).where(shown(caller), Report.id.in_(ids)))).first() \
        if ids and len(ids) == 1 else None
    if report is None:
        raise NotFound("request_not_found", _("找不到该 service_request_id。"))
    return report


def by_token(token: str, caller: User | None) -> Report:
    """tokens/{token}: the report this caller (or an anonymous one) sent with that Idempotency-Key."""
    report = db.session.scalars(select(Report).where(
        shown(caller), Report.client_report_id == token[:64],
        func.coalesce(Report.reporter_id, 0) == (caller.id if caller else 0))).first()
    if report is None:
        raise NotFound("token_not_found", _("找不到该 token 对应的上报。"))
    return report


def find_updates(args: MultiDict, caller: User | None) -> list[ReportEvent]:
    """servicerequestupdates: status changes in the window, oldest first, of the reports the caller may read."""
    start, end = window(args)
    limit, offset = _page(args, caller)
    query = select(ReportEvent).join(Report, ReportEvent.report_id == Report.id).where(
        shown(caller), ReportEvent.kind == "transition",
        ReportEvent.created_at >= start, ReportEvent.created_at <= end,
    ).options(selectinload(ReportEvent.photos), selectinload(ReportEvent.report).selectinload(Report.photos))
    return list(db.session.scalars(query.order_by(ReportEvent.id).limit(limit).offset(offset)))
