"""One filter for every view of reports (list, map tiles, exports): parsed from the query string, applied in SQL."""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.datastructures import MultiDict

from geo import coords
from service.core import clock, localtime
from service.core.errors import Invalid
from service.core.models import Area, Report, ReportRollup, User
from service.reports import deadlines
from service.rules.categories import CATEGORIES, RISK_LEVELS
from service.rules.workflow import CLOSED, OPEN, TRANSITIONS

STATUS_GROUPS = {"open": OPEN, "closed": CLOSED, "all": frozenset(TRANSITIONS)}


def _codes(raw: str, allowed, code: str, message: str) -> tuple[str, ...]:
    values = tuple(v for v in (raw or "").split(",") if v)
    if not set(values) <= set(allowed):
        raise Invalid(code, message)
    return values


def _day(raw: str, field: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as e:
        raise Invalid(f"bad_{field}", _("日期格式应为 YYYY-MM-DD。")) from e


def parse_bbox(raw: str) -> tuple[float, float, float, float]:
    """Parse 'minlon,minlat,maxlon,maxlat' (finite, in range, min below max) or raise a 422."""
    try:
        return coords.parse_bbox(raw)
    except coords.CoordinateError:
        raise Invalid("bad_bbox", _("bbox 格式应为“最小经度,最小纬度,最大经度,最大纬度”。")) from None


@dataclass(frozen=True)
class ReportFilter:
    statuses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    risks: tuple[str, ...] = ()
    since: date | None = None  # local calendar days, inclusive
    until: date | None = None
    committee: str = ""
    town: str = ""
    bbox: tuple[float, float, float, float] | None = None
    overdue: bool = False
    reporter_id: int | None = None  # "my reports" (set by the view, never from the query string)

    @classmethod
    def from_args(cls, args: MultiDict, default_status: str = "") -> "ReportFilter":
        """Read the filter from a query string; anything malformed is a 422 that says what to fix."""
        status = args.get("status", default_status)
        statuses = tuple(sorted({s for part in status.split(",") if part
                                 for s in STATUS_GROUPS.get(part, {part})}))
        if not set(statuses) <= set(TRANSITIONS):
            raise Invalid("bad_status", _("状态取值无效。"))
        if args.get("overdue", "") not in ("", "0", "1", "true", "false"):
            raise Invalid("bad_overdue", _("overdue 只能是 1 或 0。"))
        since, until = _day(args.get("since", ""), "since"), _day(args.get("until", ""), "until")
        if since and until and since > until:
            raise Invalid("bad_dates", _("开始日期不能晚于结束日期。"))
        return cls(
            statuses=statuses,
            categories=_codes(args.get("category", ""), CATEGORIES, "bad_category", _("隐患类别无效。")),
            risks=_codes(args.get("risk", ""), RISK_LEVELS, "bad_risk", _("风险等级无效。")),
            since=since, until=until,
            committee=args.get("committee", "")[:12], town=args.get("town", "")[:9],
            bbox=parse_bbox(args["bbox"]) if args.get("bbox") else None,
            overdue=args.get("overdue") in ("1", "true"),
        )

    def place_level(self, user: User) -> str:
        """What the board lists places by: towns for a district-wide view; the committees of one town or one
        committee otherwise."""
        return "town" if user.role == "district_admin" and not (self.town or self.committee) else "committee"

    def narrows_status(self) -> bool:
        """Whether it asks for fewer than every status: every status is no condition (ck_report_status holds a
        report to them), and testing each cube row against the whole list was a third of the month trend's time."""
        return bool(self.statuses) and set(self.statuses) != set(TRANSITIONS)

    def conditions(self, now: datetime | None = None) -> list[ColumnElement]:
        """The WHERE conditions (scope is added by the caller, always)."""
        found: list[ColumnElement] = []
        if self.narrows_status():
            found.append(Report.status.in_(self.statuses))
        if self.categories:
            found.append(Report.category.in_(self.categories))
        if self.risks:
            found.append(Report.risk_level.in_(self.risks))
        if self.since:
            found.append(Report.created_at >= local_midnight(self.since))
        if self.until:
            found.append(Report.created_at < local_midnight(self.until + timedelta(days=1)))
        found += in_places(((self.committee, Report.committee_id), (self.town, Report.town_id)))
        if self.bbox:
            found.append(func.ST_Intersects(Report.location, func.ST_MakeEnvelope(*self.bbox, 4326)))
        if self.overdue:
            found.append(deadlines.overdue(now or clock.now()))
        if self.reporter_id is not None:
            found.append(Report.reporter_id == self.reporter_id)
        return found

    def rollup_conditions(self, cube=ReportRollup) -> list[ColumnElement] | None:
        """The same filter on the rows of ReportRollup (or another cube of the same columns), or None when it
        needs what the cube does not keep (dates, place, deadlines, reporter)."""
        if self.since or self.until or self.bbox or self.overdue or self.reporter_id is not None:
            return None
        found: list[ColumnElement] = []
        for values, column in ((self.statuses if self.narrows_status() else (), cube.status),
                               (self.categories, cube.category),
                               (self.risks, cube.risk_level)):
            if values:
                found.append(column.in_(values))
        if self.committee and not hasattr(cube, "committee_id"):
            return None
        return found + in_places(((self.committee, getattr(cube, "committee_id", None)), (self.town, cube.town_id)))

    def query_string(self) -> dict[str, str]:
        """The filter as query arguments, so a link (or a tile URL) reproduces the view."""
        group = next((name for name, members in STATUS_GROUPS.items() if set(self.statuses) == members), None)
        out = {"status": group or ",".join(self.statuses), "category": ",".join(self.categories),
               "risk": ",".join(self.risks), "since": self.since.isoformat() if self.since else "",
               "until": self.until.isoformat() if self.until else "", "committee": self.committee,
               "town": self.town, "bbox": ",".join(map(str, self.bbox)) if self.bbox else "",
               "overdue": "1" if self.overdue else ""}
        return {k: v for k, v in out.items() if v}


def in_places(codes_and_columns) -> list[ColumnElement]:
    """For each (code, area id column) with a code: the rows in that place, by code, since the same place has a row
    per boundary generation."""
    found = []
    for code, column in codes_and_columns:
        if code:
            area = aliased(Area)
            found.append(column.in_(select(area.id).where(area.code == code)))
    return found


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=localtime.zone())
