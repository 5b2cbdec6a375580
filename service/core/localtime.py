"""People's clock: times are stored in UTC and shown in LOCAL_TIMEZONE (Asia/Shanghai), in one format."""
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app

FORMAT = "%Y-%m-%d %H:%M"
SQL_FORMAT = "YYYY-MM-DD HH24:MI"  # FORMAT for PostgreSQL's to_char, where the database writes the text


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["LOCAL_TIMEZONE"])


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
