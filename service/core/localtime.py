"""People's clock: times are stored in UTC and shown in LOCAL_TIMEZONE (Asia/Shanghai), in one format; the
local calendar (today, a month's first and last days) read from the one clock (service/core/clock.py)."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from service.core import clock

FORMAT = "%Y-%m-%d %H:%M"
SQL_FORMAT = "YYYY-MM-DD HH24:MI"  # FORMAT for PostgreSQL's to_char, where the database writes the text


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["LOCAL_TIMEZONE"])


def now() -> datetime:
    """The app's clock in local time."""
    return clock.now().astimezone(zone())


def today() -> date:
    return clock.now().astimezone(zone()).date()


def next_month(day: date) -> date:
    """The first day of the month after day's."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_end(day: date) -> date:
    """The last day of day's month."""
    return next_month(day) - timedelta(days=1)


def show(t: datetime | str | None, local: ZoneInfo | None = None) -> str:
    """'YYYY-MM-DD HH:MM' in local time, or '—' when there is no time (pass zone() as local in a long loop)."""
    if isinstance(t, str):
        t = datetime.fromisoformat(t)
    return t.astimezone(local or zone()).strftime(FORMAT) if t else "—"


def attach(t: datetime) -> datetime:
    """Read a naive time (EXIF carries no zone) as local time; aware times pass unchanged."""
    return t if t.tzinfo is not None else t.replace(tzinfo=zone())


def sql_show(column):
    """The SQL twin of show() for exports PostgreSQL writes itself: local time in FORMAT, '' for no time."""
    from sqlalchemy import func

    return func.coalesce(func.to_char(func.timezone(current_app.config["LOCAL_TIMEZONE"], column), SQL_FORMAT), "")


def w3c(t: datetime | None) -> str | None:
    """A time as a W3C datetime with the programme's offset, e.g. 2026-11-30T15:51:17+08:00 (Open311, hotlines)."""
    return t.astimezone(zone()).isoformat(timespec="seconds") if t else None
