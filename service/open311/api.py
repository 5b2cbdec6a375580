"""Open311 GeoReport v2 at /open311/v2/, JSON and XML: parse, call the domain modules, render.

Callers are identified by `api_key` (a parameter, as the spec has it) or an `Authorization: Bearer` token,
never by a cookie session: the blueprint is exempt from CSRF, so a browser's session must not count here.
"""
from flask import Blueprint, current_app, request, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from service.accounts import auth
from service.core.errors import ApiError, http_message
from service.core.models import User
from service.open311 import formats, queries, services
from service.open311 import requests as service_requests
from service.reports import attempts

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FMT = "<any(json, xml):fmt>"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-30T00:00:00+08:00"  # when this endpoint's behaviour last changed


@bp.errorhandler(ApiError)
def api_error(e: ApiError):
    return formats.errors(formats.format_of(request.path), e.status, e.message)


@bp.errorhandler(HTTPException)
def http_error(e: HTTPException):
    if e.code is None or 300 <= e.code < 400:
        return e
    return formats.errors(formats.format_of(request.path), e.code, http_message(e)[1])


@bp.errorhandler(OperationalError)
def database_down(e: OperationalError):
    current_app.logger.exception("database unavailable on %s %s", request.method, request.path)
    return formats.errors(formats.format_of(request.path), 503, _("服务暂时不可用，请稍后重试；您的上报尚未提交。"))


@bp.errorhandler(Exception)
def unexpected(e: Exception):
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return formats.errors(formats.format_of(request.path), 500,
                          _("服务器内部错误，请稍后重试；如反复出现请联系管理员。"))


@bp.before_request
def check_jurisdiction():
    wanted = request.values.get("jurisdiction_id")
    if wanted is not None and wanted != current_app.config["OPEN311_JURISDICTION"]:
        raise ApiError(404, "bad_jurisdiction", _("jurisdiction_id 无效：本服务只受理辖区 %(code)s。",
                                                  code=current_app.config["OPEN311_JURISDICTION"]))


def caller() -> User | None:
    """The api_key's user, else a bearer token's, else nobody; a wrong api_key is a 403."""
    raw = request.values.get("api_key")
    if raw:
        user = auth.user_for_token(raw.strip(), open311=True)
        if user is None:
            raise ApiError(403, "bad_api_key", _("api_key 无效或已过期，请向管理员申领新的 API 令牌。"))
        return user
    return auth.actor() if auth.authenticated_by_token() else None


def reader() -> User | None:
    """caller(), and an anonymous one counted under the upload limiter's table (settings OPEN311_READS_*)."""
    user = caller()
    if user is None:
        cfg = current_app.config
        attempts.admit(f"open311_read:{auth.client_addr()}",
                       (cfg["OPEN311_READS_PER_MINUTE"], cfg["OPEN311_READS_PER_HOUR"]),
                       (_("查询过于频繁，请一分钟后再试；对接系统请使用 api_key。"),
                        _("查询过于频繁，请一小时后再试；对接系统请使用 api_key。")))
    return user


@bp.get(f"/discovery.{FMT}")
def discovery(fmt: str):
    endpoint = {"specification": SPECIFICATION, "url": url_for("open311.discovery", fmt=fmt, _external=True)
                .rsplit("/", 1)[0], "changeset": CHANGESET, "type": "production",
                "formats": ["text/xml", "application/json"]}
    return formats.render(fmt, "discovery", {
        "changeset": CHANGESET, "contact": _("请联系区消防救援支队的火患随手拍管理员。"),
        "key_service": _("api_key 请向区消防救援支队申领（管理员用 hazard-snap apikeys create 签发）。"),
        "endpoints": [endpoint]})


@bp.get(f"/services.{FMT}")
def service_list(fmt: str):
    return formats.render(fmt, "services", services.service_list())


@bp.get(f"/services/<service_code>.{FMT}")
def service_definition(service_code: str, fmt: str):
    return formats.render(fmt, "service_definition", services.definition(service_code))


@bp.post(f"/requests.{FMT}")
def create_request(fmt: str):
    user = caller()
    key = (request.headers.get("Idempotency-Key") or "").strip() or None
    report, created = service_requests.create(request.form, request.files.getlist("media"), user,
                                              auth.client_addr(), key)
    return formats.render(fmt, "service_requests", [service_requests.created(report)], 201 if created else 200)


def _render_requests(fmt: str, found, user: User | None):
    full = queries.in_full(found, user)
    return formats.render(fmt, "service_requests",
                          [service_requests.service_request(r, r.id in full) for r in found])


@bp.get(f"/requests.{FMT}")
def list_requests(fmt: str):
    user = reader()
    return _render_requests(fmt, queries.find_requests(request.args, user), user)


@bp.get(f"/requests/<request_id>.{FMT}")
def get_request(request_id: str, fmt: str):
    user = reader()
    return _render_requests(fmt, [queries.one_request(request_id, user)], user)


@bp.get(f"/tokens/<token>.{FMT}")
def token(token: str, fmt: str):
    report = queries.by_token(token, reader())
    return formats.render(fmt, "service_requests", [{"service_request_id": str(report.id), "token": token}])


@bp.get(f"/servicerequestupdates.{FMT}")
def updates(fmt: str):
    """FixMyStreet's extension: status changes by date range, for clients following their requests."""
    user = reader()
    found = queries.find_updates(request.args, user)
    full = queries.in_full([e.report for e in found], user)
    return formats.render(fmt, "service_requests_updates",
                          [service_requests.request_update(e, e.report_id in full) for e in found])


@bp.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str):
    """Anything else under /open311/v2/: a 405 where another method would match, else a 404, in Open311 form."""
    adapter = current_app.url_map.bind("localhost")
    for method in ("GET", "POST"):
        try:
            endpoint, _args = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != "open311.unknown":
            raise MethodNotAllowed()
    raise NotFound()
