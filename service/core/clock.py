"""The one clock: every deadline, overdue count, window and stamp reads the app's time, never the database's now().

Why the app's: the rules that use time (deadlines, escalation, throttles, receipts) run in Python and take `now`
as an argument, so they can be run and tested at any instant; the database stores what it is told. A column
stamped on insert gets clock.now() from the ORM (stamp()); its server default is only for rows written in SQL
(migrations, bench seeds). Nodes keep their clocks with NTP, as TLS already requires.
The database's sessions run in UTC (migration 0029), so a time read back is the instant that was written.
"""
from datetime import UTC, datetime

from sqlalchemy import DateTime, func
from sqlalchemy.orm import mapped_column


def now() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def stamp(*, on_update: bool = False, **kw):
    """A timestamp column set to now() on insert (and on every update when asked)."""
    return mapped_column(DateTime(timezone=True), default=now, server_default=func.now(),
                         **({"onupdate": now} if on_update else {}), **kw)
