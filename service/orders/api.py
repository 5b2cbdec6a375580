"""The service orders' JSON API under /api/v1/orders: thin views over intake, queries, suggest, moves and onsite."""
from datetime import datetime

from flask import Blueprint, jsonify, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from service.accounts.auth import actor, client_addr
from service.core import cursors
from service.core.db import db
from service.core.errors import ApiError
from service.orders import intake, moves, onsite, queries, suggest
from service.orders.workflow import KINDS, STATUS_LABELS
from service.privacy import access
from service.receipts import misses
from service.reports import attempts
from service.web.guards import csrf_for_cookie_sessions, require_user
from service.web.jsonbody import body

bp = Blueprint("orders_api", __name__)
bp.before_request(csrf_for_cookie_sessions)
MAX_PAGE = 100


def form() -> MultiDict:
    """The request's fields, from a form or a JSON object (values as text, as a form sends them)."""
    sent = body()  # checked by the route's schema (service/apidocs/bodies.py)
    if not request.is_json:
        return sent
    return MultiDict([(k, _text(x)) for k, v in sent.items() for x in (v if isinstance(v, list) else [v])])


def _text(value) -> str:
    if isinstance(value, dict | list):
        raise ApiError(400, "bad_body", _("请求体应为 JSON 对象，请检查后重试。"))
    return "" if value is None else str(value)


def note(sent) -> str:
    return sent.get("note") or ""  # its length was checked by the route's schema (bodies.note)


def admit_resident() -> None:
    """Anonymous orders share the anonymous upload limit per address (service/reports/attempts.py)."""
    if actor() is None:
        attempts.admit(client_addr())


def answer(order, user):
    """An order as JSON for this user (queries.to_json); one that shows the resident's contact is in the access log."""
    shown = queries.to_json(order, user)
    access.record_orders(user, "api", [shown], order_id=order.id)
    return jsonify(shown)


def tracked(token: str, for_update: bool = False):
    """The order a tracking link opens; a miss is counted and is a 404, too many misses a 429 (as for reports'
    receipts, service/receipts/misses.py)."""
    addr = client_addr()
    misses.check(addr)
    try:
        return queries.by_token(token, for_update)
    except ApiError:
        misses.record(addr)
        raise


@bp.after_request
def private(response):
    if request.endpoint and "track" in request.endpoint:
        response.headers["Cache-Control"] = "private, no-store"  # the link is the key: never kept by a proxy
        response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/api/v1/orders/kinds")
def kinds():
    return jsonify(kinds=[{"code": c, "name": str(label), "skill": skill} for c, (label, skill) in KINDS.items()])


@bp.post("/api/v1/orders")
def create():
    """Order a service (no account needed): the answer carries the private tracking link, shown only once."""
    admit_resident()
    order, token = intake.create_order(form(), client_addr())
    return jsonify(tracking_url=url_for("orders.track", token=token, _external=True), token=token,
                   status=order.status), 201


@bp.get("/api/v1/orders/track/<token>")
def track(token: str):
    return jsonify(queries.tracking_json(tracked(token)))


@bp.post("/api/v1/orders/track/<token>/rating")
def rate(token: str):
    fields, order = form(), tracked(token)
    return jsonify(queries.tracking_json(moves.rate(order, fields.get("rating"), fields.get("comment") or "")))


def _cursor() -> tuple[datetime, int] | None:
    raw = request.args.get("cursor") or ""
    return cursors.decode(raw, cursors.DATETIME, cursors.INT) if raw else None


def page_args() -> tuple[tuple[str, ...], tuple[datetime, int] | None, int]:
    statuses = tuple(s for s in (request.args.get("status") or "").split(",") if s) or queries.QUEUE_STATUSES
    limit = queries.as_id(request.args.get("limit", "50"))
    if any(s not in STATUS_LABELS for s in statuses) or limit is None or not 1 <= limit <= MAX_PAGE:
        raise ApiError(422, "bad_page", _("status 应为服务单状态代码（逗号分隔），limit 应为 1–100 的整数。"))
    return statuses, _cursor(), limit


def next_cursor(found: list, limit: int) -> str | None:
    last = found[limit - 1] if len(found) > limit else None
    return cursors.encode(last.created_at, last.id) if last else None


@bp.get("/api/v1/orders")
def list_orders():
    """The caller's visible orders, oldest first, one keyset page at a time, with the total in SQL."""
    user = require_user()
    statuses, after, limit = page_args()
    found = db.session.scalars(queries.queue(user, statuses, after, limit + 1)).all()
    shown = [queries.to_json(o, user) for o in found[:limit]]
    total, cursor = queries.count(user, statuses), next_cursor(found, limit)
    access.record_orders(user, "api", shown, filter={"status": list(statuses), "cursor": request.args.get("cursor")})
    return jsonify(orders=shown, total=total, next_cursor=cursor)


@bp.get("/api/v1/orders/mine")
def my_tasks():
    """The caller's open orders as a volunteer (offered, accepted, on site)."""
    user = require_user()
    shown = [queries.to_json(o, user) | {"my_state": a.state} for o, a in queries.tasks_for(user.id)]
    access.record_orders(user, "api", shown, filter={"tasks": "mine"})
    return jsonify(tasks=shown)


@bp.get("/api/v1/orders/<order_id>")
def get(order_id: str):
    user = require_user()
    return answer(queries.get_order(order_id, user), user)


@bp.get("/api/v1/orders/<order_id>/suggestions")
def suggestions(order_id: str):
    """Available volunteers for the order, nearest home committee first (dispatchers only)."""
    user = require_user()
    order = queries.get_order(order_id, user)
    moves.check(order, "dispatch", user.role)
    skill = request.args.get("skill", KINDS[order.kind][1]) or None
    return jsonify(skill=skill, volunteers=suggest.suggest(order, user, skill))


@bp.post("/api/v1/orders/<order_id>/dispatch")
def dispatch(order_id: str):
    user, fields = require_user(), form()
    order = moves.dispatch(order_id, user, fields.getlist("volunteer_ids"), (fields.get("team") or "").strip() or None,
                           note(fields))
    return answer(order, user)


@bp.post("/api/v1/orders/<order_id>/<any(accept, decline):move>")
def respond(order_id: str, move: str):
    user = require_user()
    return answer(moves.respond(order_id, user, move, note(form())), user)


@bp.post("/api/v1/orders/<order_id>/cancel")
def cancel(order_id: str):
    user = require_user()
    return answer(moves.cancel(order_id, user, note(form())), user)


@bp.post("/api/v1/orders/<order_id>/check-in")
def check_in(order_id: str):
    user = require_user()
    return answer(onsite.check_in(order_id, user, form()), user)


@bp.post("/api/v1/orders/<order_id>/check-out")
def check_out(order_id: str):
    user = require_user()
    order = onsite.check_out(order_id, user, form(), request.files.getlist("photo"))
    return answer(order, user)
