"""The guards every JSON API shares: the CSRF check for browsers signed in by cookie, and the sign-in guard.

Each API blueprint registers csrf_for_cookie_sessions as its before_request; a view that needs a caller calls
require_user() first.
"""
from flask import request
from flask_babel import gettext as _
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError

from service.accounts.auth import actor, authenticated_by_token
from service.core.errors import ApiError
from service.core.models import User


def csrf_for_cookie_sessions():
    """A browser signed in by cookie must prove the request came from our page; bearer clients need not.

    Only a token that really authenticated the request skips the check: any other Authorization header
    (wrong, expired, or beside a session cookie, which Flask-Login reads first) does not.
    """
    if request.method not in ("GET", "HEAD", "OPTIONS") and actor() is not None and not authenticated_by_token():
        try:
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except ValidationError as e:
            raise ApiError(400, "csrf", _("页面已过期，请刷新页面后重试。")) from e


def require_user() -> User:
    user = actor()
    if user is None:
        raise ApiError(401, "login_required", _("请先登录，或在 Authorization 头中提供 Bearer 令牌。"))
    return user
