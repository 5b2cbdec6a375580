"""Errors: a status, a stable code and a message a person can act on (Chinese by default), as JSON or a page."""
import psycopg
from flask import Flask, abort, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    """A client-facing failure with a status code, an error code and a translated message.

    The web layer (views, the API, request parsing) raises it with the status it means. Domain modules raise one of
    the Refused kinds below instead, which name what went wrong and leave the status to STATUS."""

    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def response(self):
        """JSON for API callers, a page for people in a browser."""
        if not _wants_json():
            return render_template("error.html", status=self.status, message=self.message), self.status
        body = {"error": {"code": self.code, "message": self.message, **self.extra}}
        return jsonify(body), self.status


class Refused(ApiError):
    """A domain refusal: a stable code and a message a person can act on; its kind (the subclass) says what went
    wrong, and STATUS, the one place that knows HTTP, gives the status."""

    def __init__(self, code: str, message: str, **extra):
        super().__init__(STATUS[type(self)], code, message, **extra)


class Malformed(Refused):
    """The request is not in the shape asked for (a field of the wrong kind, a parameter that cannot be read)."""


class NotSignedIn(Refused):
    """Nobody (or nobody valid) is signed in."""


class Forbidden(Refused):
    """The caller is known but may not do this."""


class NotFound(Refused):
    """No such thing, or not one the caller may see (the same answer, so scope does not leak)."""


class Conflict(Refused):
    """The thing is not in a state that allows this (a transition, a duplicate, a stale version)."""


class TooLarge(Refused):
    """More than a limit allows in one piece (a file, a batch)."""


class UnsupportedType(Refused):
    """A file of a kind the service does not take."""


class Invalid(Refused):
    """Readable, but a value breaks a rule (out of range, too long, unknown code)."""


class TooMany(Refused):
    """A rate or quota is used up; try again later."""


class Unavailable(Refused):
    """Something the service needs is not there right now."""


STATUS: dict[type[Refused], int] = {Malformed: 400, NotSignedIn: 401, Forbidden: 403, NotFound: 404, Conflict: 409,
                                    TooLarge: 413, UnsupportedType: 415, Invalid: 422, TooMany: 429,
                                    Unavailable: 503}


def http_message(e: HTTPException) -> tuple[str, str]:
    messages = {
        400: ("bad_request", _("请求格式不正确，请检查后重试。")),
        404: ("not_found", _("找不到该资源，请检查链接是否正确。")),
        405: ("method_not_allowed", _("不支持该请求方式。")),
        413: ("too_large", _("上传内容过大，请压缩照片或减少照片数量后重试。")),
    }
    return messages.get(e.code, ("http_error", _("请求无法处理，请稍后重试。")))


def init_app(app: Flask) -> None:
    """Register handlers so API callers always get JSON errors, never a bare 500 page."""
    app.register_error_handler(ApiError, lambda e: e.response())

    @app.before_request
    def refuse_nul():
        # PostgreSQL text cannot hold NUL; refuse it up front rather than fail at INSERT time. JSON bodies
        # are not read here: only the routes that take JSON parse it, with caps (service/web/jsonbody.py).
        if request.method == "POST" and (None in request.form or None in request.files):
            abort(400)  # a multipart part without a name (Flask-WTF's CSRF check would crash on it)
        form = request.form.values() if request.method == "POST" else ()  # a GET with a body pays nothing
        values = [*request.args.values(), *form]
        if any("\x00" in v for v in values):
            raise ApiError(422, "bad_text", _("提交的文字中含有无效的控制字符，请删除后重试。"))

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        if e.code in (301, 302, 303, 307, 308) or e.code is None:
            return e
        if isinstance(e, CSRFError):  # a form without its token, or one from an expired page
            return ApiError(400, "csrf", _("页面已过期，请刷新页面后重试。")).response()
        code, message = http_message(e)
        return ApiError(e.code or 500, code, message).response()

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(psycopg.OperationalError)
    @app.errorhandler(psycopg.InterfaceError)
    def database_down(e: Exception):
        """The database went away (a restart, a failover): through SQLAlchemy, or raw from the driver (COPY)."""
        app.logger.exception("database unavailable on %s %s", request.method, request.path)
        # The page must not ask the database who is signed in (base.html reads current_user): that would fail
        # again inside this handler and turn the 503 into a 500. Nobody is signed in to an error page.
        g._login_user = app.login_manager.anonymous_user()
        return ApiError(503, "db_unavailable", _("服务暂时不可用，请稍后重试；您的上报尚未提交。")).response()

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return ApiError(500, "internal", _("服务器内部错误，请稍后重试；如反复出现请联系管理员。")).response()


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"
