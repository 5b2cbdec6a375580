"""The monthly report (月度通报): one local calendar month's figures in the caller's scope, for the PDF and the XLSX.

Every figure is SQL over the whole table, computed here once; monthly_render.py only lays them out. The hazard
figures are the dashboard's own (hazards.py over the trigger-kept cubes), for the reports created in the month:

- new: reports created in the month;
- rectified on time: of those, rectified by their deadline;
- overdue: of those, still running past their deadline now (when the report is made);
- on-time rate and median hours to rectified: as on the dashboard's first screen, of the same reports;
- recurrence: the month's verified reports that a later report repeats (service/sites/recurrence.py, by
  verification);
- the residents' rating: the stars given to the reports verified in the month (report_rating);
- transfers and the hotline: the dashboard's `bodies` section (sections.bodies) for the transfers made and the
  hotline orders received in the month.

The ranking (考核排名) lists every town of the district, or every committee of a town (the current boundaries, plus
any place the month's reports name), best first: by on-time rate, then fewer overdue, then fewer recurrences.
"""
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, text
from sqlalchemy.orm import aliased

from service.accounts import scope
from service.areas import boundaries
from service.core import localtime
from service.core.db import db
from service.core.errors import Forbidden, Invalid, NotFound, NotSignedIn
from service.core.models import Area, Report, User
from service.dashboard import hazards, sections
from service.receipts.models import ReportRating
from service.reports import deadlines
from service.reports.filters import ReportFilter
from service.rules.roles import STAFF
from service.sites import campaigns, recurrence
from service.sites.models import Campaign

TREND_MONTHS = 12
OLDEST = 10
EARLIEST = date(2000, 1, 1)


@dataclass(frozen=True)
class Request:
    """What a monthly report is asked for: the month (its first day), the town code ("" for the caller's whole
    scope), and who asks."""

    month: date
    town: str
    user: User


def parse_month(raw: str | None, today: date) -> date:
    """'YYYY-MM' as the month's first day; a malformed, too early or future month is a 422 saying what to send."""
    raw = (raw or "").strip()
    try:
        if len(raw) != 7 or raw[4] != "-":
            raise ValueError(raw)
        month = date(int(raw[:4]), int(raw[5:]), 1)
    except ValueError:
        raise Invalid("bad_month", _("month 应为 YYYY-MM 格式的月份，例如 %(example)s。",
                                           example=today.strftime("%Y-%m"))) from None
    if month < EARLIEST or month > today.replace(day=1):
        raise Invalid("bad_month", _("month 应在 %(first)s 至 %(last)s 之间，不能是尚未开始的月份。",
                                           first=EARLIEST.strftime("%Y-%m"), last=today.strftime("%Y-%m")))
    return month


def check(user: User | None, month: date, town: str) -> Request:
    """Who may have which report: staff only; a town code must name a town (404) the caller may see (403)."""
    if user is None:
        raise NotSignedIn("login_required", _("请先登录，或在 Authorization 头中提供 Bearer 令牌。"))
    if user.role not in STAFF:
        raise Forbidden("forbidden", _("月度通报仅对居村委、街镇和区级工作人员开放。"))
    town = (town or "").strip()
    if town:
        area = boundaries.latest(town[:12], "town")
        if area is None:
            raise NotFound("town_not_found", _("找不到街镇代码 %(code)s，请检查后重试。", code=town[:12]))
        if user.role != "district_admin" and town != _own_town(user):
            raise Forbidden("town_forbidden", _("只能生成本辖区的月度通报，请去掉 town 参数或换成本街镇的代码。"))
    return Request(month, town, user)


def _own_town(user: User) -> str | None:
    area = user.area
    if area is None:
        return None
    if user.role == "committee_staff":
        return area.parent.code if area.parent is not None else None
    return area.code


def previous_month(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)


def build(req: Request, now: datetime) -> dict:
    """Every figure of the report, as plain values (the PDF's and the XLSX's one source)."""
    user, month = req.user, req.month
    db.session.execute(text("SET LOCAL jit = off"))  # as sections.build: compiling the cube sums costs more
    last = previous_month(month)
    filt = ReportFilter(town=req.town)
    months = [month]
    while len(months) < TREND_MONTHS:
        months.insert(0, previous_month(months[0]))
    by_month = hazards.by_month(user, filt, tuple(months), now)
    if last not in by_month:  # TREND_MONTHS >= 2 holds it; kept for a shorter trend
        by_month |= hazards.by_month(user, filt, (last,), now)
    in_month = replace(filt, since=month, until=localtime.month_end(month))
    found = hazards.figures(user, in_month, now)
    level = found["level"]
    rec_this, rec_places = _recurrence(user, month, req.town, level)
    rec_last, _unused = _recurrence(user, last, req.town, level)
    rating_this, rating_places = _ratings(user, month, req.town, level)
    rating_last, _unused = _ratings(user, last, req.town, level)
    this, before = by_month[month], by_month[last]
    places = _ranking(_places(user, req.town, level), found["places"], rec_places, rating_places)
    return {
        "month": month.strftime("%Y-%m"), "previous": last.strftime("%Y-%m"),
        "first_day": month, "last_day": localtime.month_end(month), "level": level,
        "scope_name": _scope_name(user, req.town), "town": req.town,
        "generated_at": now, "made_by": user.name, "made_by_role": user.role,
        "figures": _figures(this, before, rec_this, rec_last, rating_this, rating_last),
        "ranking": places,
        "trend": [{"month": m.strftime("%Y-%m"), "new": by_month[m]["total"],
                   "rectified_on_time": by_month[m]["rectified_on_time"],
                   "rectified_late": by_month[m]["rectified_late"], "overdue": by_month[m]["overdue"],
                   "on_time_rate": by_month[m]["on_time_rate"]} for m in months],
        "campaigns": _campaigns(user, month, req.town),
        "oldest_overdue": _oldest_overdue(user, filt, now),
        "bodies": sections.bodies(user, in_month, now),
    }


def _scope_name(user: User, town: str) -> str:
    if town:
        if user.role == "committee_staff":
            return user.area.name
        return boundaries.latest(town, "town").name
    return user.area.name if user.role != "district_admin" and user.area is not None else _("全区")


def _figure(key: str, label: str, this, last, kind: str, better: int = 0) -> dict:
    """better: +1 when a rise is good news, -1 when it is bad news, 0 when neither (the print colours it)."""
    delta = None if this is None or last is None else this - last
    return {"key": key, "label": label, "this": this, "last": last, "delta": delta, "kind": kind,
            "better": better}


def _ratio(part: int, whole: int) -> float | None:
    """A rate from its counts, unrounded: the figures round it once, as printed (the JSON's 4 decimals would round
    it twice: 0.30252 is 0.3025 there, then 30.2 %)."""
    return part / whole if whole else None


def _on_time_rate(figures: dict) -> float | None:
    """As hazards.py counts it: rectified by the deadline, of those rectified or past their deadline."""
    on_time = figures["rectified_on_time"]
    return _ratio(on_time, on_time + figures["rectified_late"] + figures["overdue"])


def _figures(this: dict, last: dict, rec_this: dict, rec_last: dict, rating_this: dict, rating_last: dict) -> list:
    """The month's key figures with last month's and the change: kind says how to show them (count, rate 0..1,
    hours, stars)."""
    return [
        _figure("new", _("新增隐患"), this["total"], last["total"], "count"),
        _figure("rectified_on_time", _("按期整改"), this["rectified_on_time"], last["rectified_on_time"], "count", 1),
        _figure("overdue", _("逾期未改"), this["overdue"], last["overdue"], "count", -1),
        _figure("recurred", _("整改后复发"), rec_this["recurred"], rec_last["recurred"], "count", -1),
        _figure("on_time_rate", _("按期整改率"), _on_time_rate(this), _on_time_rate(last), "rate", 1),
        _figure("median_hours", _("整改用时中位数（小时）"), this["hours_to_rectified"]["median"],
                last["hours_to_rectified"]["median"], "hours", -1),
        _figure("verified", _("核查结案"), rec_this["verified"], rec_last["verified"], "count", 1),
        _figure("recurrence_rate", _("复发率"), _ratio(rec_this["recurred"], rec_this["verified"]),
                _ratio(rec_last["recurred"], rec_last["verified"]), "rate", -1),
        _figure("rating", _("居民评价（星）"), rating_this["stars"], rating_last["stars"], "stars", 1),
    ]


def _places(user: User, town: str, level: str) -> dict[str, str]:
    """Code -> name of every current town the user may see, or every current committee of the town in scope."""
    if level == "town":
        rows = db.session.execute(boundaries.current_areas("town").with_only_columns(Area.code, Area.name)
                                  .where(scope.visible_towns(user)).order_by(Area.code)).all()
        return dict(rows)
    town = town or _own_town(user)
    parent = aliased(Area)
    rows = db.session.execute(boundaries.current_areas("committee").with_only_columns(Area.code, Area.name)
                              .join(parent, parent.id == Area.parent_id)
                              .where(parent.code == town, scope.visible_committees(user)).order_by(Area.code)).all()
    return dict(rows)


def _place_codes(ids) -> dict[int, str]:
    ids = set(ids)
    return dict(db.session.execute(select(Area.id, Area.code).where(Area.id.in_(ids))).all()) if ids else {}


def _recurrence(user: User, month: date, town: str, level: str) -> tuple[dict, dict]:
    """Verified and recurred of the reports verified in the month: in total and per place code."""
    found = recurrence.rates(user, month, localtime.month_end(month))
    towns = {}
    if level == "town" or town:
        parent = aliased(Area)
        codes = [c["code"] for c in found["by_committee"]]
        towns = dict(db.session.execute(select(Area.code, parent.code).join(parent, parent.id == Area.parent_id)
                                        .where(Area.code.in_(codes))).all()) if codes else {}
    per: dict[str, list[int]] = {}
    for c in found["by_committee"]:
        if town and towns.get(c["code"]) != town:
            continue
        key = towns.get(c["code"], c["code"]) if level == "town" else c["code"]
        got = per.setdefault(key, [0, 0])
        got[0], got[1] = got[0] + c["verified"], got[1] + c["recurred"]
    if town:
        verified, recurred = sum(v for v, _n in per.values()), sum(n for _v, n in per.values())
    else:
        verified, recurred = found["total"]["verified"], found["total"]["recurred"]
    total = {"verified": verified, "recurred": recurred,
             "recurrence_rate": round(recurred / verified, 4) if verified else None}
    return total, {k: {"verified": v, "recurred": n} for k, (v, n) in per.items()}


def _ratings(user: User, month: date, town: str, level: str) -> tuple[dict, dict]:
    """The residents' stars on the reports verified in the month (by verification time, as recurrence): the mean
    and the count, in total and per place code."""
    start, end = recurrence.day_bounds(month, localtime.month_end(month))
    place = Report.town_id if level == "town" else Report.committee_id
    rows = db.session.execute(
        select(place, func.count(), func.sum(ReportRating.stars))
        .join(ReportRating, ReportRating.report_id == Report.id)
        .where(text("report.status = 'verified'"), Report.updated_at >= start, Report.updated_at < end,
               scope.visible(user), *ReportFilter(town=town).conditions())
        .group_by(place)).all()
    codes = _place_codes(r[0] for r in rows)
    per: dict[str, list[int]] = {}
    for place_id, n, stars in rows:
        got = per.setdefault(codes[place_id], [0, 0])
        got[0], got[1] = got[0] + n, got[1] + int(stars)
    n, stars = sum(v[0] for v in per.values()), sum(v[1] for v in per.values())

    def mean(count, total):
        return {"ratings": count, "stars": round(total / count, 2) if count else None}
    return mean(n, stars), {code: mean(*v) for code, v in per.items()}


def _ranking(names: dict[str, str], places: list[dict], rec: dict, ratings: dict) -> list[dict]:
    """Every place (named or with reports) with its figures, ranked best first (module docstring)."""
    by_code = {p["code"]: p for p in places}
    rows = []
    for code in sorted(set(names) | set(by_code) | set(rec) | set(ratings)):
        p = by_code.get(code, {})
        rows.append({
            "code": code, "name": names.get(code) or p.get("name") or code,
            "new": p.get("total", 0), "rectified_on_time": p.get("rectified_on_time", 0),
            "overdue": p.get("overdue", 0), "on_time_rate": p.get("on_time_rate"),
            "median_hours": (p.get("hours_to_rectified") or {}).get("median"),
            "verified": rec.get(code, {}).get("verified", 0), "recurred": rec.get(code, {}).get("recurred", 0),
            "rating": ratings.get(code, {}).get("stars"), "ratings": ratings.get(code, {}).get("ratings", 0)})
    if not rows:
        return rows
    rows.sort(key=lambda r: (r["on_time_rate"] is None, -(r["on_time_rate"] or 0), r["overdue"], r["recurred"],
                             -r["new"], r["code"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank if row["on_time_rate"] is not None else None
    return rows


def _campaigns(user: User, month: date, town: str) -> list[dict]:
    """The campaigns running on some day of the month (for a town's report, those that target it or every town),
    with their results in the caller's scope (service/sites/campaigns.results)."""
    first, last = month, localtime.month_end(month)
    running = db.session.scalars(select(Campaign).where(Campaign.starts_on <= last, Campaign.ends_on >= first)
                                 .order_by(Campaign.starts_on, Campaign.id)).all()
    target = town or (_own_town(user) if user.role != "district_admin" else "")
    picked = [c for c in running if not target or not c.target_towns or target in c.target_towns]
    return [campaigns.results(c, user) | {"banner": b} for c, b in zip(picked, campaigns.banner(picked), strict=True)]


def _oldest_overdue(user: User, filt: ReportFilter, now: datetime) -> list[dict]:
    """The overdue reports past their deadline the longest, in scope (ix_report_running_due, by due_at)."""
    committee, town = aliased(Area), aliased(Area)
    rows = db.session.execute(
        select(Report.id, Report.category, Report.risk_level, Report.status, Report.address, Report.created_at,
               Report.due_at, committee.name, town.name)
        .join(committee, committee.id == Report.committee_id).join(town, town.id == Report.town_id)
        .where(scope.visible(user), *filt.conditions(now), deadlines.overdue(now))
        .order_by(Report.due_at, Report.id).limit(OLDEST)).all()
    return [{"id": str(r[0]), "category": r[1], "risk_level": r[2], "status": r[3], "address": r[4] or "",
             "created_at": r[5], "due_at": r[6], "committee": r[7], "town": r[8],
             "hours_overdue": round((now - r[6]).total_seconds() / 3600, 1)} for r in rows]

