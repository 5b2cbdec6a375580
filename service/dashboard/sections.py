"""The dashboard's sections: each turns (user, filter, now) into figures as JSON, shown by the page and the API.

To add a section: write its figures function (a dict; a "charts" list is drawn by static/dashboard.js, each chart
with labels, series and a link per label), add it to SECTIONS, and add a template dashboard/_<key>.html for its
tables. A figures function scopes every query itself, in SQL over the whole table.
"""
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, cast, func, select, text

from service.bodies import figures as body_figures
from service.core import clock, localtime
from service.core.db import db
from service.core.errors import Forbidden, Invalid, NotSignedIn
from service.core.models import User
from service.dashboard import hazards
from service.hotline import figures as hotline_figures
from service.orders.models import ServiceAssignment, ServiceOrder, visible_orders
from service.orders.workflow import COMING
from service.reports.filters import ReportFilter, local_midnight
from service.rules.roles import STAFF
from service.rules.workflow import OPEN
from service.sites import campaigns, inspections, recurrence
from service.volunteers import queries as volunteer_queries
from service.volunteers.models import ServiceHourEntry, Volunteer


@dataclass(frozen=True)
class Section:
    key: str
    title: object  # a lazy translation
    figures: Callable[[User, ReportFilter, datetime], dict]


def volunteers(user: User, filt: ReportFilter, now: datetime) -> dict:
    """Active volunteers and approved service hours per month, of the volunteers the user may see; "serving": the
    volunteers with approved hours served this month and last month (the first screen's)."""
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
    this, last = hazards.this_and_last_month(now)
    if dated:  # the filter's days may cut this month or last: count them apart
        serving = dict(db.session.execute(
            select(month, func.count(func.distinct(entry.volunteer_id)))
            .join(Volunteer, Volunteer.user_id == entry.volunteer_id)
            .where(volunteer_queries.counted(), *mine, entry.service_date >= last,
                   entry.service_date < localtime.next_month(this)).group_by(month)).all())
    else:  # every month is counted whole above
        serving = {m: v for m, _h, v in hours}
    return {"active_volunteers": active, "hours_by_month": months,
            "serving": {"this": serving.get(this, 0), "last": serving.get(last, 0)},
            **_orders(user, filt), "charts": [
        {"id": "volunteers-hours", "kind": "bar", "title": _("每月志愿服务时长（已审核，小时）"),
         "labels": [m["month"] for m in months], "links": [],
         "series": [{"name": _("服务时长"), "data": [m["hours"] for m in months]}]}]}


def _orders(user: User, filt: ReportFilter) -> dict:
    """三单 in the user's scope and the filter's days: orders made and served, and the median hours from an offer to
    its acceptance and from an order to its completion."""
    order, offer = ServiceOrder, ServiceAssignment
    where = [visible_orders(user)]
    where += [order.created_at >= local_midnight(filt.since)] if filt.since else []
    where += [order.created_at < local_midnight(filt.until + timedelta(days=1))] if filt.until else []
    hours = 3600.0

    def median(seconds):
        return func.percentile_cont(0.5).within_group(seconds / hours)

    to_accept = (select(median(func.extract("epoch", offer.responded_at - offer.offered_at)))
                 .join(order, order.id == offer.order_id)
                 .where(*where, offer.responded_at.isnot(None), offer.state.in_(COMING)).correlate(None)
                 .scalar_subquery())
    made, served, to_complete, to_accept = db.session.execute(select(
        func.count(), func.count().filter(order.status == "completed"),
        median(func.extract("epoch", order.completed_at - order.created_at)).filter(order.completed_at.isnot(None)),
        to_accept).where(*where)).one()
    return {"orders": {"made": made, "served": served,
                       "median_hours_to_accept": round(to_accept, 2) if to_accept is not None else None,
                       "median_hours_to_complete": round(to_complete, 2) if to_complete is not None else None}}


def bodies(user: User, filt: ReportFilter, now: datetime) -> dict:
    """Transfers to bodies outside the programme, per body, and the 12345 hotline's orders (service/bodies/figures.py,
    service/hotline/figures.py): the filter's days are the transfers' and the orders' own (made, received), its
    other fields narrow their reports."""
    start = local_midnight(filt.since) if filt.since else None
    end = local_midnight(filt.until + timedelta(days=1)) if filt.until else None
    within = replace(filt, since=None, until=None).conditions(now)
    return {"bodies": body_figures.by_body(user, start, end, within, now),
            "hotline": hotline_figures.orders(user, start, end, within, now), "charts": []}


SECTIONS = (
    Section("hazards", _l("隐患与整改"), hazards.figures),
    Section("volunteers", _l("志愿者"), volunteers),
    Section("recurrence", _l("整改后复发"), recurrence.section),  # service/sites/recurrence.py
    Section("inspections", _l("重点场所巡查"), inspections.section),  # service/sites/inspections.py
    Section("campaigns", _l("主题活动"), campaigns.section),  # service/sites/campaigns.py
    Section("bodies", _l("转派单位与12345热线"), bodies),
)


def _card(key: str, label, value, this, last, kind: str, link: str | None = None) -> dict:
    delta = None if this is None or last is None else round(this - last, 4)
    return {"key": key, "label": str(label), "value": value, "this": this, "last": last, "delta": delta,
            "kind": kind, "link": link}


def overview(sections: dict, filt: ReportFilter) -> list[dict]:
    """The first screen's key figures, from the hazards and volunteers sections: each the whole table's value now
    (under the filter) with this month's and last month's (of the reports created in each month; of the volunteers
    who served in each), and their difference. "kind" says how to show it: count, rate (0..1) or hours."""
    hazard, serving = sections["hazards"], sections["volunteers"]["serving"]
    totals, month = hazard["totals"], hazard["headline"]
    this, last = month["this"], month["last"]

    def linked(**narrow) -> str:
        return hazards.links(replace(filt, **narrow))["list"]

    return [
        _card("open", _("未办结"), totals["open"], this["open"], last["open"], "count",
              linked(statuses=tuple(sorted(OPEN)))),
        _card("overdue", _("已逾期"), totals["overdue"], this["overdue"], last["overdue"], "count",
              linked(overdue=True)),
        _card("on_time_rate", _("按期整改率"), totals["on_time_rate"], this["on_time_rate"], last["on_time_rate"],
              "rate"),
        _card("median_hours", _("整改用时中位数（小时）"), totals["hours_to_rectified"]["median"],
              this["hours_to_rectified"]["median"], last["hours_to_rectified"]["median"], "hours"),
        _card("new", _("本月新增"), this["total"], this["total"], last["total"], "count",
              linked(since=date.fromisoformat(month["this_month"] + "-01"), until=None)),
        _card("volunteers", _("本月服务志愿者"), serving["this"], serving["this"], serving["last"], "count"),
    ]


def build(user: User, filt: ReportFilter, now: datetime, only: str = "") -> dict:
    """The sections' figures under one filter (all, or those named in `only`, comma-separated), for the page's
    JSON block and GET /api/v1/stats."""
    wanted = set(only.split(",")) - {""} or {s.key for s in SECTIONS}
    if not wanted <= {s.key for s in SECTIONS}:
        keys = "、".join(s.key for s in SECTIONS)
        raise Invalid("bad_section", _("section 取值无效，可选：%(keys)s。", keys=keys))
    # Each statement here reads a few thousand cube rows, but the wide histogram sums cost past jit_above_cost:
    # compiling them took longer than running them (every section at 10^6: 133 -> 94 ms). For this request only.
    db.session.execute(text("SET LOCAL jit = off"))
    built = {s.key: {"title": str(s.title), **s.figures(user, filt, now)} for s in SECTIONS if s.key in wanted}
    found = {"filter": filt.query_string(), "generated_at": now.isoformat(), "sections": built}
    if {"hazards", "volunteers"} <= wanted:
        found["overview"] = overview(built, filt)
    return found


def figures(user: User | None, only: str = "") -> tuple[ReportFilter, dict]:
    """The filter the request asks for and its figures (every section, or those named in only), or a 401/403."""
    if user is None:
        raise NotSignedIn("login_required", _("请先登录，或在 Authorization 头中提供 Bearer 令牌。"))
    if user.role not in STAFF:
        raise Forbidden("forbidden", _("统计仅对居村委、街镇和区级工作人员开放。"))
    filt = ReportFilter.from_args(request.args, default_status="all")
    return filt, build(user, filt, clock.now(), only)
