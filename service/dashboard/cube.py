"""Report figures summed from the trigger-kept cubes, or counted from the rows when no cube keeps the filter.

Why cubes: the dashboard's numbers cover the whole table, and counting 10^6 reports per request takes seconds.
Migration 0015 has the report triggers (statement-level, with transition tables, as in 0008) keep, exactly:
- report_stats_town: town x status x category x risk, with on-time counts and duration histograms;
- report_stats_month: the same x local month of creation;
- report_stats: committee x status x category x risk, the same figures.
The smallest cube that keeps every dimension the question groups by and filters on is read: the district's
per-town view reads a few thousand rows, a town's per-committee view its own committees' rows.
A cube is chosen only when it keeps every dimension the question needs; otherwise the same figures are counted
from the rows (a bbox, overdue, a reporter, dates that cut a month, committees by month). Both give the same
numbers (tests/browser/test_dashboard.py); only the speed differs.

Overdue changes with the clock, so no cube holds it: overdue = running - running and not yet due, where the
second term is a live count over ix_report_running_due of only the reports due from now on (a few days' intake,
whatever N is).

Percentiles come from fixed buckets: EDGES in hours, growing by 2^(1/4) from 1 h. The estimate is interpolated
inside the bucket that holds the true (nearest-rank) percentile, so the error is under that bucket's width:
under 1 hour below 1 hour, else under 19 % of the value.
"""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, partial

from flask import current_app
from sqlalchemy import Date, and_, case, cast, func, literal_column, select, text, union_all
from sqlalchemy.sql.elements import ColumnElement

from service.accounts import scope
from service.core import localtime
from service.core.cubes import ReportStats, ReportStatsMonth, ReportStatsTown
from service.core.db import db
from service.core.models import Report, User
from service.reports import deadlines
from service.reports.filters import ReportFilter, local_midnight

ZONE = "Asia/Shanghai"  # the cube's months; as frozen in migration 0015 (a test checks they agree)
EDGES = [0.0] + [round(2 ** (k / 4), 4) for k in range(53)]
BUCKETS = len(EDGES) + 1  # width_bucket: 0 below EDGES[0], i in [EDGES[i-1], EDGES[i]), len(EDGES) above
KINDS = ("rectify", "verify")
_EDGES_SQL = literal_column("ARRAY[" + ", ".join(map(str, EDGES)) + "]::float8[]")


@dataclass
class Source:
    """Where figures are summed from: dimension columns, the WHERE clause, and the measures."""

    name: str
    dims: dict[str, ColumnElement]
    where: list[ColumnElement]
    n: ColumnElement
    on_time: ColumnElement
    late: ColumnElement
    hist: Callable[[], dict[str, ColumnElement]]  # per kind, an array of BUCKETS sums (histograms())
    timed: ColumnElement  # the rows that hold a duration (the others' histograms are NULL: skipped)


def _month(column) -> ColumnElement:
    return cast(func.date_trunc("month", func.timezone(current_app.config["LOCAL_TIMEZONE"], column)), Date)


def _cube(table, visible, conditions) -> Source:
    dims = {"town": table.town_id, "status": table.status, "category": table.category}
    dims |= {d: getattr(table, c) for d, c in (("committee", "committee_id"), ("month", "month")) if hasattr(table, c)}
    return Source(table.__tablename__, dims, [visible, *conditions], func.sum(table.n), func.sum(table.on_time),
                  func.sum(table.late), partial(_cube_hists, table),
                  table.rectify_hist.is_not(None) | table.verify_hist.is_not(None))


def _array(sums) -> ColumnElement:
    """BUCKETS sums as one array column, written out once: as 2 x 55 SQL expressions, building the statement's
    cache key and reading 110 columns back took longer than PostgreSQL took to sum them."""
    return literal_column("ARRAY[" + ", ".join(sums) + "]")


@cache
def _cube_hists(table) -> dict[str, ColumnElement]:
    name = table.__tablename__
    return {k: _array(f"sum({name}.{k}_hist[{b + 1}])" for b in range(BUCKETS)) for k in KINDS}


@cache
def _rows_hists() -> dict[str, ColumnElement]:
    return {k: _array(f"count(*) FILTER (WHERE r.{k} = {b})" for b in range(BUCKETS)) for k in KINDS}


def _rows(user: User | None, filt: ReportFilter, now: datetime) -> Source:
    def bucket(column):
        return func.width_bucket(func.extract("epoch", column - Report.created_at) / 3600, _EDGES_SQL)

    rows = select(Report.town_id, Report.committee_id, Report.status, Report.category,
                  _month(Report.created_at).label("month"),
                  case((Report.rectified_at <= Report.due_at, 1), else_=0).label("on_time"),
                  case((Report.rectified_at > Report.due_at, 1), else_=0).label("late"),
                  bucket(Report.rectified_at).label("rectify"), bucket(Report.verified_at).label("verify"),
                  ).where(scope.visible(user), *filt.conditions(now)).subquery("r")
    dims = {"town": rows.c.town_id, "committee": rows.c.committee_id, "status": rows.c.status,
            "category": rows.c.category, "month": rows.c.month}
    return Source("rows", dims, [], func.count(), func.sum(rows.c.on_time), func.sum(rows.c.late),
                  _rows_hists,  # over the subquery r
                  rows.c.rectify.is_not(None) | rows.c.verify.is_not(None))


def _whole_months(filt: ReportFilter) -> bool:
    return ((filt.since is None or filt.since.day == 1)
            and (filt.until is None or (filt.until + timedelta(days=1)).day == 1))


def choose(user: User | None, filt: ReportFilter, dims: set[str], now: datetime) -> Source:
    """The smallest source that keeps every dimension the question and the filter need (module docstring)."""
    rows_only = filt.bbox or filt.overdue or filt.reporter_id is not None
    undated = ReportFilter(statuses=filt.statuses, categories=filt.categories, risks=filt.risks,
                           committee=filt.committee, town=filt.town)
    by_town = scope.visible_cube(user, ReportStatsTown)
    towns_only = not rows_only and by_town is not None and "committee" not in dims and not filt.committee
    if towns_only and "month" not in dims and not (filt.since or filt.until):
        return _cube(ReportStatsTown, by_town, undated.rollup_conditions(ReportStatsTown))
    if towns_only and _whole_months(filt) and current_app.config["LOCAL_TIMEZONE"] == ZONE:
        months = [ReportStatsMonth.month >= filt.since] if filt.since else []
        months += [ReportStatsMonth.month <= filt.until] if filt.until else []
        return _cube(ReportStatsMonth, scope.visible_cube(user, ReportStatsMonth),
                     [*undated.rollup_conditions(ReportStatsMonth), *months])
    visible = scope.visible_cube(user, ReportStats)
    if not rows_only and visible is not None and "month" not in dims and not (filt.since or filt.until):
        return _cube(ReportStats, visible, undated.rollup_conditions(ReportStats))
    return _rows(user, filt, now)


def grouped(user: User | None, filt: ReportFilter, dims: tuple[str, ...], now: datetime) -> list[tuple]:
    """Rows of (*dims, n, on_time, late) summed over the whole table."""
    src = choose(user, filt, set(dims), now)
    keys = [src.dims[d] for d in dims]
    found = db.session.execute(select(*keys, src.n, src.on_time, src.late).where(*src.where).group_by(*keys))
    return [(*r[:len(dims)], *(int(v or 0) for v in r[len(dims):])) for r in found]


def histograms(user: User | None, filt: ReportFilter, dim: str, now: datetime, kinds=KINDS) -> dict:
    """dim value -> (hours to rectified, hours to verified) as bucket counts, over the rows that hold either; a
    kind not in `kinds` is not summed (all zeros)."""
    src = choose(user, filt, {dim, "status"}, now)  # the source of the same figures' counts
    hist = src.hist()
    found = db.session.execute(select(src.dims[dim], *(hist[k] for k in kinds))
                               .where(*src.where, src.timed).group_by(src.dims[dim]))

    def part(row, kind):
        if kind not in kinds:
            return [0] * BUCKETS
        return [int(v or 0) for v in row[1 + kinds.index(kind)]]
    return {r[0]: (part(r, "rectify"), part(r, "verify")) for r in found}


def _month_within(filt: ReportFilter) -> ColumnElement:
    """The local month of a report's creation; within the filter's dates, by comparing with the months' first
    instants (a CASE of a few timestamps), where converting every row's time and truncating it took twice as long."""
    if not (filt.since and filt.until) or filt.until - filt.since > timedelta(days=366):
        return _month(Report.created_at)
    firsts, month = [], filt.since.replace(day=1)
    while month <= filt.until:
        firsts.append(month)
        month = localtime.next_month(month)
    return case(*((Report.created_at >= local_midnight(m), m) for m in reversed(firsts[1:])), else_=firsts[0])


PLACES = {"town": Report.town_id, "committee": Report.committee_id}


def _not_yet_due_rows(user: User | None, filt: ReportFilter, now: datetime, **columns: ColumnElement):
    """The running reports not yet overdue (due from now on, or with no deadline) under the filter, as a subquery
    of the given columns: each half an index-only scan of ix_report_running_due (deadlines.pending)."""
    return union_all(*(select(*(c.label(name) for name, c in columns.items()))
                       .where(scope.visible(user), *filt.conditions(now), half)
                       for half in deadlines.pending(now))).subquery()


def not_yet_due(user: User | None, filt: ReportFilter, dim: str, now: datetime) -> dict:
    """Running reports not yet overdue per dim (town, committee, or local month of creation): the live part of
    overdue."""
    rows = _not_yet_due_rows(user, filt, now, place=(PLACES | {"month": _month_within(filt)})[dim])
    return dict(db.session.execute(select(rows.c.place, func.count()).group_by(rows.c.place)).all())


def not_yet_due_both(user: User | None, filt: ReportFilter, dim: str, window: ReportFilter,
                     now: datetime) -> tuple[dict, dict]:
    """not_yet_due per dim (town or committee) under a filter without dates, and per local month of creation within
    the window's dates, in one statement: the board's two live counts, one scan of ix_report_running_due."""
    inside = and_(Report.created_at >= local_midnight(window.since),
                  Report.created_at < local_midnight(window.until + timedelta(days=1)))
    live = _not_yet_due_rows(user, filt, now, place=PLACES[dim],
                             created_month=case((inside, _month_within(window)), else_=None))
    rows = db.session.execute(select(func.grouping(live.c.place, live.c.created_month), live.c.place,
                                     live.c.created_month, func.count())
                              .group_by(text("GROUPING SETS ((place), (created_month))"))).all()
    by_place = {p: n for g, p, _m, n in rows if g == 1}
    by_month = {m: n for g, _p, m, n in rows if g == 2 and m is not None}
    return by_place, by_month


def percentile(hist: list[int], q: float) -> float | None:
    """The q-quantile in hours from a bucket histogram, interpolated inside its bucket (error bound above)."""
    total = sum(hist)
    if not total:
        return None
    rank, before = q * total, 0
    for b, count in enumerate(hist):
        if count and before + count >= rank:
            low = EDGES[b - 1] if 0 < b <= len(EDGES) else EDGES[min(b, len(EDGES) - 1)]
            high = EDGES[b] if b < len(EDGES) else low
            return round(low + (high - low) * max(rank - before, 0) / count, 2)
        before += count
    return None
