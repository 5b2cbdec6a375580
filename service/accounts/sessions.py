"""Sign-in sessions kept on the server: logout, an idle timeout and an absolute lifetime end them.

The signed session cookie carries a random key; only its SHA-256 is stored, in user_session. A request's session
lives while its row has not ended, was used within the idle timeout and began within the absolute lifetime:
STAFF_SESSION_IDLE_HOURS (8) and STAFF_SESSION_MAX_DAYS (7) for staff, VOLUNTEER_SESSION_DAYS (30) for both limits
of a volunteer's phone. A cookie without a live key (made before this table, or forged with a leaked secret key
but no row) opens nothing. A password change or a disabled account still ends every session at once through
the user's session_version; logout ends only the session it is sent from.
"""
import hashlib
import secrets
from datetime import timedelta

from flask import current_app, session
from sqlalchemy import delete, func, select, update

from service.accounts.models import UserSession
from service.core import clock
from service.core.db import db
from service.core.models import User

SESSION_KEY = "sid"
TOUCH_EVERY = timedelta(minutes=1)
FORGET_AFTER = timedelta(days=30)  # ended and expired rows are kept this long, then removed at the next sign-in


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def limits(role: str) -> tuple[timedelta, timedelta]:
    """Return (idle timeout, absolute lifetime) of a role's sessions."""
    cfg = current_app.config
    if role == "volunteer":
        days = timedelta(days=cfg["VOLUNTEER_SESSION_DAYS"])
        return days, days
    return timedelta(hours=cfg["STAFF_SESSION_IDLE_HOURS"]), timedelta(days=cfg["STAFF_SESSION_MAX_DAYS"])


def begin(user: User) -> None:
    """Start a session for user in this browser, committed, and forget the user's long-dead ones."""
    key = secrets.token_urlsafe(32)
    now = clock.now()
    last_alive = func.coalesce(UserSession.ended_at, UserSession.last_seen_at)
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id, last_alive < now - FORGET_AFTER))
    db.session.add(UserSession(user_id=user.id, key_hash=_digest(key), created_at=now, last_seen_at=now))
    db.session.commit()
    session[SESSION_KEY] = key


def alive(user_id: int) -> bool:
    """Tell whether this browser's session of user_id still lives, recording its use (at most once a minute)."""
    key = session.get(SESSION_KEY)
    if not isinstance(key, str) or not key:
        return False
    now = clock.now()
    # A short transaction of its own, ended before the request's begins (as bearer tokens are checked).
    with db.engine.begin() as conn:
        row = conn.execute(select(UserSession.id, UserSession.created_at, UserSession.last_seen_at, User.role)
                           .join(User, User.id == UserSession.user_id)
                           .where(UserSession.key_hash == _digest(key), UserSession.user_id == user_id,
                                  UserSession.ended_at.is_(None))).first()
        if row is None:
            return False
        idle, lifetime = limits(row.role)
        if now - row.last_seen_at > idle or now - row.created_at > lifetime:
            conn.execute(update(UserSession).where(UserSession.id == row.id).values(ended_at=now))
            return False
        if now - row.last_seen_at >= TOUCH_EVERY:
            conn.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now))
    return True


def end_current() -> None:
    """End this browser's session on the server, committed."""
    key = session.pop(SESSION_KEY, None)
    if isinstance(key, str) and key:
        db.session.execute(update(UserSession).where(UserSession.key_hash == _digest(key),
                                                     UserSession.ended_at.is_(None)).values(ended_at=clock.now()))
        db.session.commit()


def end_all(user: User) -> None:
    """End every session of user (the caller commits)."""
    db.session.execute(update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
                       .values(ended_at=clock.now()))
