"""Guessed tracking links: every miss is recorded by address; an address with too many waits a while.

A token is 256 bits of HMAC, so guessing one is hopeless; the limit keeps a scanner from turning the page
into a load test and gives the same 429 to links valid or not, so it tells nothing either.

Why these values (settings TRACKING_MISSES, TRACKING_MISS_WINDOW_S): a resident mistypes a link a few
times at most; 20 misses in 10 minutes is generous for that and a few people behind one carrier NAT.
"""
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, text

from service.db import db
from service.errors import ApiError
from service.receipts.models import TrackingMiss

LOCK_SQL = text("SELECT pg_advisory_xact_lock(hashtextextended('tracking_miss:' || :addr, 0))")


def _window() -> timedelta:
    return timedelta(seconds=current_app.config["TRACKING_MISS_WINDOW_S"])


def check(addr: str) -> None:
    """Refuse with a 429 when this address has missed too often lately."""
    since = datetime.now(UTC) - _window()
    count = db.session.scalar(select(func.count()).select_from(TrackingMiss).where(
        TrackingMiss.remote_addr == addr, TrackingMiss.at > since))
    if count >= current_app.config["TRACKING_MISSES"]:
        raise ApiError(429, "tracking_rate_limited", _("查询过于频繁，请十分钟后再试，并核对跟踪链接是否完整。"),
                       retry_after=int(_window().total_seconds()))


def record(addr: str) -> None:
    """Count one miss (committed at once: the 404 that follows must not give it back)."""
    now = datetime.now(UTC)
    db.session.execute(LOCK_SQL, {"addr": addr})
    db.session.execute(delete(TrackingMiss).where(TrackingMiss.remote_addr == addr, TrackingMiss.at < now - _window()))
    db.session.add(TrackingMiss(remote_addr=addr[:64], at=now))
    db.session.commit()
