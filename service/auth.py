"""Who is calling: session logins for pages, hashed bearer tokens for API clients, login throttling."""
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from flask import Flask, current_app, request
from flask_login import LoginManager, current_user
from sqlalchemy import func, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from .db import db
from .models import ApiToken, LoginFailure, User

ROLES = ("volunteer", "committee_staff", "town_supervisor", "district_admin")
login_manager = LoginManager()


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "tracking.login"
    login_manager.login_message = None  # the login page explains itself


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


@login_manager.request_loader
def load_user_from_token(req) -> User | None:
    """Authenticate `Authorization: Bearer <token>` (tokens are stored as SHA-256 only)."""
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    digest = token_digest(header.removeprefix("Bearer ").strip())
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None)))
    if token is None or not token.user.active:
        return None
    return token.user


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> str:
    """Create a bearer token for a user and return it (the only time it is visible)."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=token_digest(token)))
    return token


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


def revoke_tokens(user: User) -> int:
    """Revoke every live token of a user; return how many."""
    live = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))
    tokens = list(live)
    for token in tokens:
        token.revoked_at = datetime.now(UTC)
    return len(tokens)


def set_password(user: User, password: str) -> None:
    user.password_hash = generate_password_hash(password)  # scrypt by default


def actor() -> User | None:
    """Return the signed-in user, or None for an anonymous caller."""
    return current_user if current_user.is_authenticated else None


def client_addr() -> str:
    return request.remote_addr or "unknown"


def login_throttled(phone: str) -> bool:
    """Tell whether too many recent failures for this phone or address forbid another try now."""
    cfg = current_app.config
    since = datetime.now(UTC) - timedelta(minutes=cfg["LOGIN_WINDOW_MINUTES"])
    by_phone, by_addr = db.session.execute(select(
        func.count().filter(LoginFailure.phone == phone),
        func.count().filter(LoginFailure.remote_addr == client_addr()),
    ).where(LoginFailure.at > since, or_(LoginFailure.phone == phone, LoginFailure.remote_addr == client_addr()))).one()
    return by_phone >= cfg["LOGIN_MAX_FAILURES"] or by_addr >= 4 * cfg["LOGIN_MAX_FAILURES"]


def authenticate(phone: str, password: str) -> User | None:
    """Check a phone and password; record a failure when they do not match."""
    user = db.session.scalar(select(User).where(User.phone == phone))
    stored = user.password_hash if user is not None and user.active and user.password_hash else _dummy_hash()
    # Always run one scrypt check, so the time taken does not tell which phone numbers have accounts.
    if check_password_hash(stored, password) and user is not None and stored == user.password_hash:
        return user
    db.session.add(LoginFailure(phone=phone[:20], remote_addr=client_addr()))
    db.session.commit()
    return None
