"""Service-hour exports for the volunteer-service record systems: the hours that count, per team, committee,
town and period, in the viewer's scope, streamed through the shared writers (service/core/sheets.py).
"""
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from service.core.errors import Invalid
from service.core.models import User
from service.core.sheets import Labels, Table, neutralise
from service.volunteers import queries
from service.volunteers.models import ServiceHourDecision, ServiceHourEntry, Volunteer

HEADERS = (_l("姓名"), _l("手机号"), _l("居村委代码"), _l("服务队"), _l("服务日期"), _l("开始时间"), _l("结束时间"),
           _l("服务时长（小时）"), _l("来源"), _l("备注"), _l("审核人"), _l("审核时间"), _l("记录编号"))
SOURCES = {"manual": _l("人工登记"), "report": _l("隐患上报核查"), "task": _l("任务签到签退")}
FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class HourFilter:
    team: str | None = None
    committee: str | None = None
    town: str | None = None
    start: date | None = None
    end: date | None = None

    @classmethod
    def from_args(cls, args) -> "HourFilter":
        """Read team, committee, town, from and to (dates, inclusive) from a query string; 422 when bad."""
        start, end = _day(args.get("from")), _day(args.get("to"))
        if start and end and end < start:
            raise Invalid("bad_period", _("结束日期不能早于开始日期，请核对 from 和 to。"))
        return cls(args.get("team") or None, args.get("committee") or None, args.get("town") or None, start, end)

    def conditions(self) -> list[ColumnElement]:
        found = []
        if self.team:
            found.append(Volunteer.team == self.team)
        if self.committee:
            found.append(Volunteer.committee_code == self.committee)
        if self.town:
            found.append(Volunteer.committee_code.in_(queries.town_committee_codes(self.town)))
        if self.start:
            found.append(ServiceHourEntry.service_date >= self.start)
        if self.end:
            found.append(ServiceHourEntry.service_date <= self.end)
        return found


def _day(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid("bad_date", _("日期格式应为 2026-11-30。")) from None


def select_rows(visible: ColumnElement, filt: HourFilter) -> Select:
    """The counted entries (approved, not replaced) of the visible volunteers, by date, then entry."""
    # Aliased: counted() asks about ServiceHourDecision in subqueries of its own.
    reviewer, entry, decision = aliased(User), ServiceHourEntry, aliased(ServiceHourDecision)
    return (select(Volunteer.real_name, User.phone, Volunteer.committee_code, Volunteer.team, entry.service_date,
                   entry.started_at, entry.ended_at, entry.hours, entry.source, entry.note, reviewer.name,
                   decision.decided_at, entry.id)
            .join(Volunteer, Volunteer.user_id == entry.volunteer_id).join(User, User.id == entry.volunteer_id)
            .join(decision, decision.entry_id == entry.id).join(reviewer, reviewer.id == decision.decided_by)
            .where(visible, queries.counted(), *filt.conditions())
            .order_by(entry.service_date, entry.id))


def cells(row, labels: Labels) -> list:
    name, phone, committee, team, day, started, ended, hours, source, note, reviewer, decided, entry_id = row
    return neutralise((name, phone, committee, team or "", day.isoformat(), labels.when(started),
                       labels.when(ended), float(hours), str(SOURCES.get(source, source)), note or "", reviewer,
                       labels.when(decided), entry_id))


HOURS = Table(HEADERS, cells, _l("服务时长"))
