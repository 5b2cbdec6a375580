"""Who is calling: session logins for pages, hashed bearer tokens for API clients, login throttling.

Sessions carry the user's session_version: changing the password or disabling the account bumps it, which ends
every session at once, and revokes the user's tokens. Each session also lives on the server (accounts/sessions.py):
logout, the idle timeout and the absolute lifetime end it. Tokens expire (API_TOKEN_DAYS) and record when they were
last used (at most one write a minute per token).

Login throttling, per address *and* phone, checked before the password within LOGIN_WINDOW_MINUTES (15):
- LOGIN_MAX_FAILURES (5) wrong passwords for one phone from one address stop that address for that phone;
- 4 x LOGIN_MAX_FAILURES failures from one address, whatever the phones, stop that address for every phone;
- a phone with 4 x LOGIN_MAX_FAILURES failures from all addresses is under attack: an address that already
  failed for it gets no further try, but an address with a clean record may still sign in;
- so failures elsewhere never lock the owner out: the right password from a new address works;
- a successful sign-in clears that address's failures for that phone.
"""
import hashlib
import secrets
from datetime import timedelta
from functools import lru_cache

from flask import Flask, current_app, g, request
from flask_login import LoginManager, current_user
from sqlalchemy import delete, func, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from service.accounts import sessions
from service.core import clock
from service.core.db import db
from service.core.models import ApiToken, LoginFailure, User

login_manager = LoginManager()


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None  # the login page explains itself


TOKEN_TOUCH_EVERY = timedelta(minutes=1)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Load the user of a session id "<user id>:<session version>"; an older version or an ended session is
    signed out."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()) or not sessions.alive(int(user_id)):
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active and user.session_version == int(version) else None


@login_manager.request_loader
def load_user_from_token(req) -> User | None:
    """Authenticate `Authorization: Bearer <token>` (tokens are stored as SHA-256 only)."""
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    user = user_for_token(header.removeprefix("Bearer ").strip(), open311=req.path.startswith("/open311/"))
    if user is not None:
        g.authenticated_by_token = True  # the API skips CSRF only for this
    return user


def user_for_token(raw: str, open311: bool = False) -> User | None:
    """Return the active user of a live token (also an Open311 api_key), recording its use; else None.
    An Open311-only key (hazard-snap apikeys create) opens nothing outside /open311/."""
    digest = token_digest(raw)
    now = clock.now()
    # Read and touch the token in a short transaction of its own (the request's may roll back or never commit),
    # ended before the request's begins: a request never holds two connections at once, which behind PgBouncer
    # in transaction mode could take every server connection and wait for one more.
    with db.engine.begin() as conn:
        token = conn.execute(select(ApiToken.id, ApiToken.user_id, ApiToken.last_used_at).join(User).where(
            ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now, User.active,
            ApiToken.open311_only.is_(False) | open311)).first()
        if token is None:
            return None
        if token.last_used_at is None or now - token.last_used_at >= TOKEN_TOUCH_EVERY:
            conn.execute(update(ApiToken).where(ApiToken.id == token.id, or_(
                ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - TOKEN_TOUCH_EVERY)
            ).values(last_used_at=now))
    user = db.session.get(User, token.user_id)
    return user if user is not None and user.active else None


def authenticated_by_token() -> bool:
    """Tell whether a bearer token (not a session cookie) authenticated this request."""
    return actor() is not None and g.get("authenticated_by_token", False)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, days: int | None = None, open311_only: bool = False) -> str:
    """Create a bearer token for a user and return it (the only time it is visible)."""
    token = secrets.token_urlsafe(32)
    lifetime = timedelta(days=days or current_app.config["API_TOKEN_DAYS"])
    db.session.add(ApiToken(user_id=user.id, token_hash=token_digest(token), expires_at=clock.now() + lifetime,
                            open311_only=open311_only))
    return token


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


def revoke_tokens(user: User) -> int:
    """Revoke every live token of a user; return how many."""
    live = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))
    tokens = list(live)
    for token in tokens:
        token.revoked_at = clock.now()
    return len(tokens)


# The phone field of an account made for another system's key (apikeys, a hotline's key): no phone, no password,
# so nobody signs in with it.
KEY_ACCOUNT_PREFIX = "apikey-"


def create_account(name: str, phone: str, role: str, area_id: int | None, password: str | None = None,
                   with_token: bool = False, days: int | None = None, open311_only: bool = False
                   ) -> tuple[User, str | None]:
    """Create an account, with a password and a first token if asked, committed; return it and the token."""
    user = User(name=name, phone=phone, role=role, area_id=area_id)
    if password is not None:
        set_password(user, password)
    db.session.add(user)
    db.session.flush()
    secret = issue_token(user, days, open311_only) if with_token else None
    db.session.commit()
    return user, secret


def new_token(user: User, days: int | None = None, revoke_all: bool = False) -> tuple[int, str]:
    """Issue a token (after revoking the user's live ones, if asked), committed: (how many revoked, the token)."""
    revoked = revoke_tokens(user) if revoke_all else 0
    secret = issue_token(user, days)
    db.session.commit()
    return revoked, secret


def revoke_all_tokens(user: User) -> int:
    """Revoke every live token of a user, committed; return how many."""
    n = revoke_tokens(user)
    db.session.commit()
    return n


def change_password(user: User, password: str) -> None:
    """Set a new password, ending the user's sessions and tokens, committed."""
    set_password(user, password)
    db.session.commit()


def set_password(user: User, password: str) -> None:
    """Set a password and end the user's sessions and tokens (a new account has none)."""
    user.password_hash = generate_password_hash(password)  # scrypt by default
    end_sessions(user)


def disable(user: User) -> None:
    """Disable an account, ending its sessions and tokens, committed."""
    user.active = False
    end_sessions(user)
    db.session.commit()


def end_sessions(user: User) -> None:
    """Sign the user out everywhere: bump the session version and revoke every token."""
    user.session_version = (user.session_version or 0) + 1
    if user.id is not None:
        revoke_tokens(user)
        sessions.end_all(user)


def actor() -> User | None:
    """Return the signed-in user, or None for an anonymous caller."""
    return current_user if current_user.is_authenticated else None


def client_addr() -> str:
    return request.remote_addr or "unknown"


def login_throttled(phone: str) -> bool:
    """Tell whether this address may not try this phone now (the policy is in the module docstring)."""
    cfg, addr = current_app.config, client_addr()
    limit = cfg["LOGIN_MAX_FAILURES"]
    since = clock.now() - timedelta(minutes=cfg["LOGIN_WINDOW_MINUTES"])
    pair, by_addr, by_phone = db.session.execute(select(
        func.count().filter(LoginFailure.phone == phone, LoginFailure.remote_addr == addr),
        func.count().filter(LoginFailure.remote_addr == addr),
        func.count().filter(LoginFailure.phone == phone),
    ).where(LoginFailure.at > since, or_(LoginFailure.phone == phone, LoginFailure.remote_addr == addr))).one()
    under_attack = by_phone >= 4 * limit
    return pair >= limit or by_addr >= 4 * limit or (under_attack and pair > 0)


def authenticate(phone: str, password: str) -> User | None:
    """Check a phone and password; record a failure when they do not match, clear this address's on success."""
    user = db.session.scalar(select(User).where(User.phone == phone))
    stored = user.password_hash if user is not None and user.active and user.password_hash else _dummy_hash()
    # Always run one scrypt check, so the time taken does not tell which phone numbers have accounts.
    if check_password_hash(stored, password) and user is not None and stored == user.password_hash:
        db.session.execute(delete(LoginFailure).where(LoginFailure.phone == phone,
                                                      LoginFailure.remote_addr == client_addr()))
        db.session.commit()
        return user
    db.session.add(LoginFailure(phone=phone[:20], remote_addr=client_addr()))
    db.session.commit()
    return None
