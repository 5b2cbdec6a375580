"""The dashboard's sections: each turns (user, filter, now) into figures as JSON, shown by the page and the API.

To add a section: write its figures function (a dict; a "charts" list is drawn by static/dashboard.js, each chart
with labels, series and a link per label), add it to SECTIONS, and add a template dashboard/_<key>.html for its
tables. A figures function scopes every query itself, in SQL over the whole table.
"""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, cast, func, select

from service.accounts import scope
from service.core.db import db
from service.core.errors import ApiError
from service.core.models import User
from service.dashboard import hazards
from service.orders.models import ServiceAssignment, ServiceOrder
from service.orders.workflow import COMING
from service.reports.filters import ReportFilter, local_midnight
from service.rules.roles import STAFF
from service.sites import campaigns, inspections, recurrence
from service.volunteers import queries as volunteer_queries
from service.volunteers.models import ServiceHourEntry, Volunteer


@dataclass(frozen=True)
class Section:
    key: str
    title: object  # a lazy translation
    figures: Callable[[User, ReportFilter, datetime], dict]


def volunteers(user: User, filt: ReportFilter, now: datetime) -> dict:
    """Active volunteers and approved service hours per month, of the volunteers the user may see."""
    mine = [volunteer_queries.visible(user)]
    if filt.committee:
        mine.append(Volunteer.committee_code == filt.committee)
    if filt.town:
        mine.append(Volunteer.committee_code.in_(volunteer_queries.town_committee_codes(filt.town)))
    active = db.session.scalar(select(func.count()).select_from(Volunteer).where(Volunteer.active, *mine))
    entry = ServiceHourEntry
    month = cast(func.date_trunc("month", entry.service_date), Date)
    dated = [entry.service_date >= filt.since] if filt.since else []
    dated += [entry.service_date <= filt.until] if filt.until else []
    hours = db.session.execute(
        select(month, func.sum(entry.hours), func.count(func.distinct(entry.volunteer_id)))
        .join(Volunteer, Volunteer.user_id == entry.volunteer_id)
        .where(volunteer_queries.counted(), *mine, *dated).group_by(month).order_by(month)).all()
    months = [{"month": m.strftime("%Y-%m"), "hours": float(h), "volunteers": v} for m, h, v in hours]
    return {"active_volunteers": active, "hours_by_month": months, **_orders(user, filt), "charts": [
        {"id": "volunteers-hours", "kind": "bar", "title": _("每月志愿服务时长（已审核，小时）"),
         "labels": [m["month"] for m in months], "links": [],
         "series": [{"name": _("服务时长"), "data": [m["hours"] for m in months]}]}]}


def _orders(user: User, filt: ReportFilter) -> dict:
    """三单 in the user's scope and the filter's days: orders made and served, and the median hours from an offer to
    its acceptance and from an order to its completion."""
    order, offer = ServiceOrder, ServiceAssignment
    where = [scope.visible_orders(user)]
    where += [order.created_at >= local_midnight(filt.since)] if filt.since else []
    where += [order.created_at < local_midnight(filt.until + timedelta(days=1))] if filt.until else []
    hours = 3600.0

    def median(seconds):
        return func.percentile_cont(0.5).within_group(seconds / hours)

    made, served, to_complete = db.session.execute(select(
        func.count(), func.count().filter(order.status == "completed"),
        median(func.extract("epoch", order.completed_at - order.created_at)).filter(order.completed_at.isnot(None)))
        .where(*where)).one()
    to_accept = db.session.scalar(select(median(func.extract("epoch", offer.responded_at - offer.offered_at)))
                                  .join(order, order.id == offer.order_id)
                                  .where(*where, offer.responded_at.isnot(None),
                                         offer.state.in_(COMING)))
    return {"orders": {"made": made, "served": served,
                       "median_hours_to_accept": round(to_accept, 2) if to_accept is not None else None,
                       "median_hours_to_complete": round(to_complete, 2) if to_complete is not None else None}}


SECTIONS = (
    Section("hazards", _l("隐患与整改"), hazards.figures),
    Section("volunteers", _l("志愿者"), volunteers),
    Section("recurrence", _l("整改后复发"), recurrence.section),  # service/sites/recurrence.py
    Section("inspections", _l("重点场所巡查"), inspections.section),  # service/sites/inspections.py
    Section("campaigns", _l("主题活动"), campaigns.section),  # service/sites/campaigns.py
)


def build(user: User, filt: ReportFilter, now: datetime, only: str = "") -> dict:
    """The sections' figures under one filter (all, or those named in `only`, comma-separated), for the page's
    JSON block and GET /api/v1/stats."""
    wanted = set(only.split(",")) - {""} or {s.key for s in SECTIONS}
    if not wanted <= {s.key for s in SECTIONS}:
        keys = "、".join(s.key for s in SECTIONS)
        raise ApiError(422, "bad_section", _("section 取值无效，可选：%(keys)s。", keys=keys))
    return {"filter": filt.query_string(), "generated_at": now.isoformat(),
            "sections": {s.key: {"title": str(s.title), **s.figures(user, filt, now)} for s in SECTIONS
                         if s.key in wanted}}


def figures(user: User | None, only: str = "") -> tuple[ReportFilter, dict]:
    """The filter the request asks for and its figures (every section, or those named in only), or a 401/403."""
    if user is None:
        raise ApiError(401, "login_required", _("请先登录，或在 Authorization 头中提供 Bearer 令牌。"))
    if user.role not in STAFF:
        raise ApiError(403, "forbidden", _("统计仅对居村委、街镇和区级工作人员开放。"))
    filt = ReportFilter.from_args(request.args, default_status="all")
    return filt, build(user, filt, datetime.now(UTC), only)
