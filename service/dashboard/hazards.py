"""The hazard figures: per town or committee, by category and by month, from the cubes (cube.py)."""
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from flask import g, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import aliased

from service.core import localtime
from service.core.db import db
from service.core.models import Area, User
from service.dashboard import cube
from service.reports.filters import ReportFilter
from service.rules.categories import CATEGORIES
from service.rules.workflow import CLOCK_RUNNING, OPEN, STATUS_LABELS, TRANSITIONS

URL_SAFE = "!$'()*,/:;?@"  # what url_for leaves unquoted in a query (werkzeug's, after the URL standard)


@dataclass
class Tally:
    """The figures of one place (or of all): counts by status, on time, late, duration histograms."""

    by_status: Counter = field(default_factory=Counter)
    on_time: int = 0
    late: int = 0
    hists: tuple[list[int], list[int]] = field(default_factory=lambda: ([0] * cube.BUCKETS, [0] * cube.BUCKETS))

    def add(self, status: str, n: int, on_time: int, late: int, rectify=(), verify=()) -> None:
        self.by_status[status] += n
        self.absorb(on_time, late, (rectify, verify))

    def merge(self, other: "Tally") -> None:
        self.by_status.update(other.by_status)
        self.absorb(other.on_time, other.late, other.hists)

    def absorb(self, on_time: int, late: int, hists) -> None:
        self.on_time += on_time
        self.late += late
        for mine, theirs in zip(self.hists, hists, strict=True):
            for b, count in enumerate(theirs):
                mine[b] += count

    def as_json(self, waiting: int) -> dict:
        running = sum(self.by_status[s] for s in CLOCK_RUNNING)
        overdue = running - waiting
        judged = self.on_time + self.late + overdue  # rectified by or after the deadline, or still running past it
        return {
            "total": sum(self.by_status.values()),
            "by_status": {s: self.by_status[s] for s in TRANSITIONS},
            "open": sum(self.by_status[s] for s in OPEN),
            "overdue": overdue,
            "rectified_on_time": self.on_time,
            "rectified_late": self.late,
            "on_time_rate": round(self.on_time / judged, 4) if judged else None,
            "hours_to_rectified": _durations(self.hists[0]),
            "hours_to_verified": _durations(self.hists[1]),
        }


def _durations(hist: list[int]) -> dict:
    return {"n": sum(hist), "median": cube.percentile(hist, 0.5), "p90": cube.percentile(hist, 0.9)}


LINKED = {"list": "reports_api.list_reports", "map": "maps.hazard_map", "queues": "reports.queues",
          "dashboard": "dashboard.page"}


def _paths() -> dict[str, str]:
    """The linked pages' paths, built once per request: a board links every place, category and month to them,
    and building each URL through the router took a tenth of the figures' time."""
    if "dashboard_paths" not in g:
        g.dashboard_paths = {key: url_for(endpoint) for key, endpoint in LINKED.items()}
    return g.dashboard_paths


def _with(path: str, args: dict) -> str:
    return f"{path}?{urlencode(args, safe=URL_SAFE)}" if args else path


def links(filt: ReportFilter) -> dict:
    """The filtered list (API, and the queues narrowed the same way), the map and the dashboard itself, with the
    same filter in the URL."""
    args = filt.query_string()
    narrow = {k: v for k, v in args.items() if k in ("category", "risk", "committee", "town")}
    paths = _paths()
    return {key: _with(path, narrow if key == "queues" else args) for key, path in paths.items()}


NOW_NAMED = aliased(Area, name="now_named")  # the newest row of a place's code


def _places(user: User, filt: ReportFilter, level: str, now: datetime,
            waiting: dict | None = None) -> tuple[list[dict], dict]:
    by_id: dict[int, Tally] = {}
    for place_id, status, *measures in cube.grouped(user, filt, (level, "status"), now):
        by_id.setdefault(place_id, Tally()).add(status, *measures)
    for place_id, hists in cube.histograms(user, filt, level, now).items():
        by_id.setdefault(place_id, Tally()).absorb(0, 0, hists)
    waiting = cube.not_yet_due(user, filt, level, now) if waiting is None else waiting
    # A boundary generation gives the same place a new row: one line per code, named as it is now.
    name = (select(NOW_NAMED.name).where(NOW_NAMED.code == Area.code).order_by(NOW_NAMED.generation.desc())
            .limit(1).scalar_subquery())
    areas, names = {}, {}
    for place_id, code, named in db.session.execute(select(Area.id, Area.code, name).where(Area.id.in_(by_id))):
        areas[place_id], names[code] = code, named
    by_code: dict[str, tuple[Tally, int]] = {}
    total, total_waiting = Tally(), 0
    for place_id, tally in by_id.items():
        merged, pending = by_code.setdefault(areas[place_id], (Tally(), 0))
        merged.merge(tally)
        by_code[areas[place_id]] = (merged, pending + waiting.get(place_id, 0))
        total.merge(tally)
        total_waiting += waiting.get(place_id, 0)
    narrow = {"town": lambda code: replace(filt, town=code, committee=""),
              "committee": lambda code: replace(filt, committee=code)}[level]
    rows = [{"code": code, "name": names[code], **tally.as_json(pending), "links": links(narrow(code))}
            for code, (tally, pending) in sorted(by_code.items())]
    return rows, total.as_json(total_waiting)


def this_and_last_month(now: datetime) -> tuple[date, date]:
    """The first days of the local month of now and of the month before."""
    first = now.astimezone(localtime.zone()).date().replace(day=1)
    return first, (first - timedelta(days=1)).replace(day=1)


def by_month(user: User, filt: ReportFilter, months: tuple[date, ...], now: datetime,
             counted: list[tuple] | None = None, waiting: dict | None = None) -> dict[date, dict]:
    """The figures (Tally.as_json) of the reports created in each of the given local months, under the filter's
    scope, category, risk and place (its own dates are replaced by the months'): summed from the month cube, with
    the live part of overdue counted as for the totals. The first screen's "this month" and "last month".
    Hours to verified are not summed (their figures are None). `counted`: the (month, status, n, on_time, late)
    rows already read for the same filter without dates, if any; `waiting`: its live part per month, if read."""
    undated = replace(filt, since=min(months), until=localtime.month_end(max(months)))
    tallies = {m: Tally() for m in months}
    for month, status, *measures in counted or cube.grouped(user, undated, ("month", "status"), now):
        if month in tallies:
            tallies[month].add(status, *measures)
    for month, hists in cube.histograms(user, undated, "month", now, kinds=("rectify",)).items():
        if month in tallies:
            tallies[month].absorb(0, 0, hists)
    waiting = cube.not_yet_due(user, undated, "month", now) if waiting is None else waiting
    found = {m: tallies[m].as_json(waiting.get(m, 0)) for m in months}
    for figures in found.values():
        figures["hours_to_verified"] = {"n": None, "median": None, "p90": None}
    return found


def headline(user: User, filt: ReportFilter, now: datetime, counted: list[tuple] | None = None,
             waiting: dict | None = None) -> dict:
    """This month's and last month's figures of the reports created in them (by_month), keyed "this" and "last"."""
    this, last = this_and_last_month(now)
    found = by_month(user, filt, (last, this), now, counted, waiting)
    return {"this_month": this.strftime("%Y-%m"), "last_month": last.strftime("%Y-%m"),
            "this": found[this], "last": found[last]}


def figures(user: User, filt: ReportFilter, now: datetime) -> dict:
    """Every hazard figure the user may see under the filter, as JSON."""
    level = filt.place_level(user)
    waiting = None, None
    if not (filt.since or filt.until):  # the default board: both live counts in one statement
        this, last = this_and_last_month(now)
        window = replace(filt, since=last, until=localtime.month_end(this))
        waiting = cube.not_yet_due_both(user, filt, level, window, now)
    places, totals = _places(user, filt, level, now, waiting[0])
    categories = [{"category": code, "name": str(CATEGORIES[code].name) if code in CATEGORIES else code, "n": n,
                   "links": links(replace(filt, categories=(code,)))}
                  for code, n, *_ in sorted(cube.grouped(user, filt, ("category",), now), key=lambda r: -r[1])]
    # Without dates, the monthly trend and the first screen's months come from the same rows (month x status).
    by_status = None if filt.since or filt.until else cube.grouped(user, filt, ("month", "status"), now)
    per_month: dict[date, list[int]] = {}
    for month, _status, n, on_time, late in by_status or ():
        got = per_month.setdefault(month, [0, 0, 0])
        got[:] = [got[0] + n, got[1] + on_time, got[2] + late]
    counted = ([(m, *v) for m, v in per_month.items()] if by_status is not None
               else cube.grouped(user, filt, ("month",), now))
    months = [{"month": month.strftime("%Y-%m"), "n": n, "rectified_on_time": on_time, "rectified_late": late,
               "links": links(replace(filt, since=max(month, filt.since or month),
                                      until=min(localtime.month_end(month), filt.until or localtime.month_end(month))))}
              for month, n, on_time, late in sorted(counted)]
    return {
        "level": level, "totals": totals, "places": places, "by_category": categories, "by_month": months,
        "headline": headline(user, filt, now, by_status, waiting[1]),
        "status_labels": {s: str(label) for s, label in STATUS_LABELS.items()},
        "charts": _charts(level, places, categories, months),
    }


RANKED = 15  # places in the first screen's ranking (a town has about 40 committees; the table below has all)
TREND_MONTHS = 12


def ranking(level: str, places: list[dict]) -> list[dict]:
    """The places with the most overdue hazards first (then the lowest on-time rate, then the most open)."""
    def key(p):
        rate = p["on_time_rate"] if p["on_time_rate"] is not None else 1.0
        return (-p["overdue"], rate, -p["open"], p["code"])
    return sorted(places, key=key)[:RANKED]


def _charts(level: str, places: list[dict], categories: list[dict], months: list[dict]) -> list[dict]:
    """What static/dashboard.js draws: labels, series and a link per label (a click opens the filtered list).
    The first two are the first screen's: the ranking by overdue and the monthly trend."""
    open_statuses = [s for s in TRANSITIONS if s in OPEN]
    ranked, recent = ranking(level, places), months[-TREND_MONTHS:]
    return [
        {"id": "hazards-ranking", "kind": "hbar", "first": True,
         "title": _("各街镇逾期隐患排名") if level == "town" else _("各居村委逾期隐患排名"),
         "labels": [p["name"] for p in ranked], "links": [p["links"]["list"] for p in ranked],
         "series": [{"name": _("已逾期"), "data": [p["overdue"] for p in ranked]},
                    {"name": _("未办结"), "data": [p["open"] for p in ranked]}]},
        {"id": "hazards-trend", "kind": "line", "first": True, "title": _("每月上报与按期整改"),
         "labels": [m["month"] for m in recent], "links": [m["links"]["list"] for m in recent],
         "series": [{"name": _("隐患数"), "data": [m["n"] for m in recent]},
                    {"name": _("按期整改"), "data": [m["rectified_on_time"] for m in recent]},
                    {"name": _("逾期后整改"), "data": [m["rectified_late"] for m in recent]}]},
        {"id": "hazards-places", "kind": "bar", "stack": True,
         "title": _("各街镇未办结隐患") if level == "town" else _("各居村委未办结隐患"),
         "labels": [p["name"] for p in places], "links": [p["links"]["list"] for p in places],
         "series": [{"name": str(STATUS_LABELS[s]), "data": [p["by_status"][s] for p in places]}
                    for s in open_statuses]},
        {"id": "hazards-categories", "kind": "pie", "title": _("隐患类别"),
         "labels": [c["name"] for c in categories], "links": [c["links"]["list"] for c in categories],
         "series": [{"name": _("隐患数"), "data": [c["n"] for c in categories]}]},
    ]
