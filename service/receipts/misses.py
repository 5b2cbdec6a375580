"""Guessed tracking links: every miss is recorded by address; an address with too many waits a while.

Misses are kept in the attempt table of the upload limit (service.reports.attempts), under their own key
("tracking:<address>"), so every app node sees them and old ones are dropped the same way.

A token is 256 bits of HMAC, so guessing one is hopeless; the limit keeps a scanner from turning the page
into a load test and gives the same 429 to links valid or not, so it tells nothing either.

Why these values (settings TRACKING_MISSES, TRACKING_MISS_WINDOW_S): a resident mistypes a link a few
times at most; 20 misses in 10 minutes is generous for that and a few people behind one carrier NAT.
"""
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from service.core import clock
from service.core.db import db
from service.core.errors import TooMany
from service.core.models import UploadAttempt
from service.reports.attempts import LOCK_SQL


def _window() -> timedelta:
    return timedelta(seconds=current_app.config["TRACKING_MISS_WINDOW_S"])


def _key(addr: str) -> str:
    return f"tracking:{addr}"


def check(addr: str) -> None:
    """Refuse with a 429 when this address has missed too often lately."""
    since = clock.now() - _window()
    count = db.session.scalar(select(func.count()).select_from(UploadAttempt).where(
        UploadAttempt.remote_addr == _key(addr), UploadAttempt.at > since))
    if count >= current_app.config["TRACKING_MISSES"]:
        raise TooMany("tracking_rate_limited", _("查询过于频繁，请十分钟后再试，并核对跟踪链接是否完整。"),
                       retry_after=int(_window().total_seconds()))


def record(addr: str) -> None:
    """Count one miss (committed at once: the 404 that follows must not give it back)."""
    now, key = clock.now(), _key(addr)
    db.session.execute(LOCK_SQL, {"addr": key})
    db.session.execute(delete(UploadAttempt).where(UploadAttempt.remote_addr == key,
                                                   UploadAttempt.at < now - _window()))
    db.session.add(UploadAttempt(remote_addr=key, at=now))
    db.session.commit()
