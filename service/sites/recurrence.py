"""Recurrence: a new report of the same category close to one verified lately is a hazard that came back.

The committee's on-time rate counts a recurrence against it. Over the reports verified in a period:

    on_time_rate = #(rectified_at <= due_at AND no later report has recurrence_of = it) / #(verified)
    recurrence_rate = #(some later report has recurrence_of = it) / #(verified)

A report is "verified in a period" by its verification time (updated_at: a verified report changes no more).

A period of whole local months (the default: from the first of the month the window starts in, to today) is summed
from report_stats_recurrence, the cube the report triggers keep (migration 0027) with report.recurred; a period
that cuts a month is counted from the rows. Both give the same figures (tests/http/test_recurrence.py).
"""
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import BigInteger, Integer, Select, and_, any_, case, cast, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY

from service.accounts import scope
from service.core import localtime
from service.core.cubes import ReportStatsRecurrence
from service.core.db import db
from service.core.models import Area, Report, ReportEvent, User
from service.photos.redact import published
from service.reports.filters import in_places
from service.rules.categories import CATEGORIES
from service.sites.models import Site

WARNING = "recurrence"
CUBE_ZONE = "Asia/Shanghai"  # the cube's months, as frozen in migration 0027
MEASURES = ("verified", "recurred", "on_time")
EMPTY = SimpleNamespace(verified=0, recurred=0, on_time=0)


def mark(report: Report, earlier) -> None:
    """Give a new report its recurrence_of, the recently verified report it repeats (found at intake by
    service/sites/linking.LINKS), and the warning."""
    report.recurrence_of = earlier
    report.warnings = [*report.warnings, WARNING]


def earlier(report: Report, user: User) -> dict | None:
    """What the detail page shows of the report this one repeats: when and by whom it was verified, and its
    after-photos; None when there is none or the user may not see it."""
    if report.recurrence_of is None:
        return None
    prior = db.session.scalar(select(Report).where(Report.id == report.recurrence_of, scope.visible(user)))
    if prior is None:
        return None
    verified = db.session.scalar(select(ReportEvent).where(ReportEvent.report_id == prior.id,
                                                            ReportEvent.to_status == "verified")
                                 .order_by(ReportEvent.id.desc()).limit(1))
    return {"id": str(prior.id), "category_name": str(CATEGORIES[prior.category].name),
            "committee": prior.committee.name, "created_at": prior.created_at,
            "verified_at": verified.created_at if verified else prior.updated_at,
            "verified_by": (verified.actor_label or (verified.actor and verified.actor.name)) if verified else None,
            "after_photos": [url_for("photos.serve", key=p.thumb_key)
                             for p in published(prior.photos) if p.role == "after"]}


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """Local calendar days [first, last] as aware bounds [start, end)."""
    zone = localtime.zone()
    return (datetime.combine(first, time(0), tzinfo=zone),
            datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone))


def days(since: date | None, until: date | None) -> tuple[date, date]:
    """Local calendar days [since, until]; by default from the first of the month the last window of days starts
    in, to today (whole months: the cube's)."""
    until = until or localtime.today()
    return since or (until - timedelta(days=current_app.config["RECURRENCE_WINDOW_DAYS"])).replace(day=1), until


def period(since: date | None, until: date | None) -> tuple[datetime, datetime]:
    """Local calendar days [since, until] as bounds (the defaults of days())."""
    return day_bounds(*days(since, until))


def _whole_months(first: date, last: date) -> bool:
    """[first, last] starts a month and ends one, or ends today or later (nothing is verified after now)."""
    today = localtime.today()
    return (first.day == 1 and ((last + timedelta(days=1)).day == 1 or last >= today)
            and current_app.config["LOCAL_TIMEZONE"] == CUBE_ZONE)


# One scan for every breakdown: the grouping() bits say which set a row belongs to (a set bit: not grouped by).
TOTAL, BY_PLACE, BY_CATEGORY, BY_SITE = 7, 3, 5, 6


def _sets(place: str, category: str, site: str):
    """The four breakdowns (total, place, category, site) over the named columns."""
    return text(f"GROUPING SETS ((), ({place}), ({category}), ({site}))")


def _figures(user: User, start: datetime, end: datetime, category: str | None, level: str, within: list) -> Select:
    """Verified, recurred and on-time counts of the reports verified in [start, end) the user may see, in total
    and per place (committee or town), category and site, in one statement, counted from the rows."""
    in_time = and_(Report.rectified_at <= Report.due_at, ~Report.recurred)
    place = getattr(Report, f"{level}_id")
    query = (select(func.grouping(place, Report.category, Report.site_id).label("set"),
                    place.label("place_id"), Report.category, Report.site_id, func.count().label("verified"),
                    func.count(case((Report.recurred, 1))).label("recurred"),
                    func.count(case((in_time, 1))).label("on_time"))
             .where(text("report.status = 'verified'"), Report.updated_at >= start, Report.updated_at < end,
                    scope.visible(user), *within)
             .group_by(_sets(f"report.{level}_id", "report.category", "report.site_id")))
    return query.where(Report.category == category) if category else query


def _cube_figures(user: User, first: date, last: date, category: str | None, level: str, within: list) -> Select:
    """The same figures summed from the cube, for the whole months [first, last] (site 0 is no site). The months
    are summed away first (one hash of the cube rows into place x category x site), then the breakdowns of that:
    a third faster than grouping every cube row into the four sets at once."""
    cube = ReportStatsRecurrence
    place = getattr(cube, f"{level}_id")
    summed = (select(place.label("place_id"), cube.category, cube.site_id,
                     *(func.sum(getattr(cube, m)).label(m) for m in MEASURES))
              .where(cube.month >= first.replace(day=1), cube.month <= last, scope.visible_cube(user, cube),
                     *within, *([cube.category == category] if category else []))
              .group_by(place, cube.category, cube.site_id).subquery("summed"))
    return (select(func.grouping(summed.c.place_id, summed.c.category, summed.c.site_id).label("set"),
                   summed.c.place_id, summed.c.category, func.nullif(summed.c.site_id, 0).label("site_id"),
                   *(cast(func.sum(summed.c[m]), BigInteger).label(m) for m in MEASURES))
            .group_by(_sets("summed.place_id", "summed.category", "summed.site_id"))
            .having(func.sum(summed.c.verified) > 0))


def _row(row, **names) -> dict:
    verified = row.verified
    return {**names, "verified": verified, "recurred": row.recurred, "on_time": row.on_time,
            "recurrence_rate": round(row.recurred / verified, 4) if verified else None,
            "on_time_rate": round(row.on_time / verified, 4) if verified else None}


def _by_code(rows, places: dict) -> list[dict]:
    """Place rows merged by code (a new boundary generation gives the same place a new id)."""
    merged = {}
    for place_id, verified, recurred, on_time in rows:
        code, name = places[place_id]
        got = merged.setdefault(code, [name, 0, 0, 0])
        got[1] += verified
        got[2] += recurred
        got[3] += on_time
    return [_row(SimpleNamespace(verified=v, recurred=n, on_time=t), code=code, name=name)
            for code, (name, v, n, t) in sorted(merged.items())]


def rates(user: User, since: date | None = None, until: date | None = None, category: str | None = None,
          level: str = "committee", town: str = "", committee: str = "") -> dict:
    """Recurrence and on-time figures over the whole table: in total, per place (by_committee, or by_town at
    level "town"), per category and per site; of one town or committee when asked."""
    first, last = days(since, until)
    start, end = day_bounds(first, last)
    whole = _whole_months(first, last)
    table = ReportStatsRecurrence if whole else Report
    within = in_places(((town, table.town_id), (committee, table.committee_id)))
    if whole:
        query = _cube_figures(user, first, last, category, level, within)
    else:
        query = _figures(user, start, end, category, level, within)
    sets = {key: [] for key in (TOTAL, BY_PLACE, BY_CATEGORY, BY_SITE)}
    for row in db.session.execute(query):
        sets[row.set].append(row)
    # = ANY(one array): an IN list of 585 committees' parameters took longer to plan than to run
    places = {a.id: (a.code, a.name) for a in db.session.execute(select(Area.id, Area.code, Area.name).where(
        Area.id == any_(cast([r.place_id for r in sets[BY_PLACE]], ARRAY(Integer)))))}
    site_ids = [r.site_id for r in sets[BY_SITE] if r.site_id is not None]
    sites = dict(db.session.execute(select(Site.id, Site.name).where(
        Site.id == any_(cast(site_ids, ARRAY(Integer))))).all()) if site_ids else {}
    total = sets[TOTAL][0] if sets[TOTAL] else None
    cfg = current_app.config
    return {
        "from": start.isoformat(), "to": end.isoformat(),
        "radius_m": cfg["RECURRENCE_RADIUS_M"], "window_days": cfg["RECURRENCE_WINDOW_DAYS"],
        "total": _row(total) if total else _row(EMPTY),
        f"by_{level}": _by_code(((r.place_id, r.verified, r.recurred, r.on_time) for r in sets[BY_PLACE]), places),
        "by_category": sorted((_row(r, code=r.category, name=str(CATEGORIES[r.category].name))
                               for r in sets[BY_CATEGORY]), key=lambda c: c["code"]),
        "by_site": sorted((_row(r, id=r.site_id, name=sites[r.site_id]) for r in sets[BY_SITE]
                           if r.site_id is not None), key=lambda c: (c["name"], c["id"])),
    }


def section(user: User, filt, now: datetime) -> dict:
    """The dashboard's recurrence section (GET /api/v1/stats too): rates over the filter's days, by verification,
    of the filter's town or committee, listed by the board's places (by_town district-wide, else by_committee)."""
    category = filt.categories[0] if len(filt.categories) == 1 else None
    found = rates(user, filt.since, filt.until, category, filt.place_level(user), filt.town, filt.committee)
    chart = {"id": "recurrence-by-category", "kind": "bar", "title": _("各类别整改后复发率"),
             "labels": [c["name"] for c in found["by_category"]], "links": [],
             "series": [{"name": _("复发率"), "data": [c["recurrence_rate"] for c in found["by_category"]]}]}
    return found | {"charts": [chart]}

