"""The anonymous upload limit: every attempt from an address counts, refused ones included.

Attempts live in PostgreSQL so every app node sees them. Counting and recording happen in one transaction
under an advisory lock on the address, so parallel requests cannot all slip through on the same count.
An attempt is recorded before any photo is decoded and committed at once: a refusal later in the
request (bad photo, outside the area) does not give the attempt back.

Why these values (settings PUBLIC_REPORTS_PER_MINUTE, PUBLIC_REPORTS_PER_HOUR): a resident photographs
one hazard, maybe three, and may retry a failed send; 6 tries a minute and 30 an hour leave room for that
and for a few people behind one carrier NAT, while a script gets 30 decodes an hour, each under the
sandbox ceilings. Volunteers sign in and are not limited here.
"""
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, text

from service.core import clock
from service.core.db import db
from service.core.errors import ApiError, TooMany
from service.core.models import UploadAttempt

LOCK_SQL = text("SELECT pg_advisory_xact_lock(hashtextextended('upload_attempt:' || :addr, 0))")


def admit(addr: str, limits: tuple[int, int] | None = None, messages: tuple[str, str] | None = None) -> None:
    """Record one anonymous upload attempt from addr, or raise a 429 when its burst or hourly limit is used.

    `limits` (per minute, per hour) count someone else under their own key instead, e.g. an Open311 api_key;
    `messages` (the burst's, the hour's) say what was refused when it is not an upload, e.g. Open311 reads.
    """
    cfg, now = current_app.config, clock.now()
    per_minute, per_hour = limits or (cfg["PUBLIC_REPORTS_PER_MINUTE"], cfg["PUBLIC_REPORTS_PER_HOUR"])
    try:
        db.session.execute(LOCK_SQL, {"addr": addr})
        # Older attempts never count again; dropping them here keeps the table as small as the window.
        db.session.execute(delete(UploadAttempt).where(UploadAttempt.remote_addr == addr,
                                                       UploadAttempt.at < now - timedelta(hours=1)))
        minute_ago = now - timedelta(minutes=1)
        hour, minute = db.session.execute(select(
            func.count(), func.count().filter(UploadAttempt.at > minute_ago),
        ).where(UploadAttempt.remote_addr == addr)).one()
        if minute >= per_minute:
            message = messages[0] if messages else _("上报过于频繁，请一分钟后再试。") if limits else \
                _("上报过于频繁，请一分钟后再试；志愿者请登录后上报。")
            raise TooMany("rate_limited_burst", message, retry_after=60)
        if hour >= per_hour:
            message = messages[1] if messages else _("上报过于频繁，请一小时后再试。") if limits else \
                _("上报过于频繁，请一小时后再试；志愿者请登录后上报。")
            raise TooMany("rate_limited", message, retry_after=3600)
        db.session.add(UploadAttempt(remote_addr=addr, at=now))
    except ApiError:
        db.session.commit()  # a refusal keeps the pruning; it is not counted as an attempt
        raise
    # Not in a `finally`: after a lost connection a commit would raise again and hide the database error (a 503)
    # behind a "pending rollback" one (a 500).
    db.session.commit()
