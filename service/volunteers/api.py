"""The volunteers' JSON API under /api/v1/volunteers: thin views over registry, ledger and stars."""
from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from service.core import sheets
from service.core.db import db
from service.core.errors import ApiError
from service.rules.roles import STAFF
from service.volunteers import exports, ledger, profile, queries, registry, stars, tasks
from service.volunteers.models import ServiceHourEntry
from service.web.guards import csrf_for_cookie_sessions, require_user
from service.web.jsonbody import body

bp = Blueprint("volunteers", __name__)
bp.before_request(csrf_for_cookie_sessions)
MAX_PAGE = 200


def _cursor_and_limit() -> tuple[int, int]:
    cursor, limit = queries.as_id(request.args.get("cursor", "0")), queries.as_id(request.args.get("limit", "50"))
    if cursor is None or limit is None or not 1 <= limit <= MAX_PAGE:
        raise ApiError(422, "bad_page", _("cursor 应为上一页返回的 next_cursor，limit 应为 1–200 的整数。"))
    return cursor, limit


def _filters() -> dict:
    args = request.args
    active = args.get("active")
    if active not in (None, "", "1", "0", "true", "false"):
        raise ApiError(422, "bad_active", _("active 只能是 1 或 0。"))
    return {"committee": args.get("committee"), "team": args.get("team"), "skill": args.get("skill"),
            "tag": args.get("tag"), "active": None if active in (None, "") else active in ("1", "true")}


@bp.get("/api/v1/volunteers")
def list_volunteers():
    """List the volunteers the caller may see, one keyset page at a time, with hours and stars."""
    user = require_user()
    after, limit = _cursor_and_limit()
    rows = db.session.execute(queries.page(user, _filters(), after, limit + 1)).all()
    more, rows = len(rows) > limit, rows[:limit]
    summaries = stars.summaries([v.user_id for v, _p in rows])
    found = [registry.to_json(v, phone) | summaries[v.user_id] for v, phone in rows]
    return jsonify(volunteers=found, next_cursor=str(rows[-1][0].user_id) if more else None)


@bp.get("/api/v1/volunteers/me")
def my_summary():
    """The caller's own profile with hours, stars and progress to the next star."""
    user = require_user()
    volunteer = registry.own_profile(user)
    return jsonify(registry.to_json(volunteer, user.phone) | stars.summaries([user.id])[user.id])


@bp.patch("/api/v1/volunteers/me")
def edit_my_profile():
    """Change one's own skills and availability."""
    user = require_user()
    volunteer = profile.edit(registry.own_profile(user), body(), user)
    return jsonify(registry.to_json(volunteer, user.phone))


@bp.get("/api/v1/volunteers/me/tasks")
def my_tasks():
    """The caller's tasks, open ones first by deadline, one keyset page at a time."""
    user = require_user()
    limit = queries.as_id(request.args.get("limit", str(tasks.PAGE)))
    if limit is None or not 1 <= limit <= MAX_PAGE:
        raise ApiError(422, "bad_page", _("cursor 应为上一页返回的 next_cursor，limit 应为 1–200 的整数。"))
    found, following = tasks.page(user, request.args.get("cursor", ""), limit)
    return jsonify(tasks=[{"kind": t.kind, "id": t.id, "status": t.status} for t in found], next_cursor=following)


@bp.get("/api/v1/volunteers/hours.<any(csv, xlsx):fmt>")
def export_hours(fmt: str):
    """Export the approved hours of the volunteers the caller may see: ?team, committee, town, from, to."""
    user = require_user()
    if user.role not in STAFF:
        raise ApiError(403, "forbidden", _("只有居村委工作人员、街镇或区级可以导出服务时长。"))
    found = sheets.stream(exports.select_rows(queries.visible(user), exports.HourFilter.from_args(
        request.args)))
    return sheets.download(fmt, found, exports.HOURS, stem="volunteer-hours")


@bp.patch("/api/v1/volunteers/<volunteer_id>")
def edit_profile(volunteer_id: str):
    """Change a volunteer's profile: staff within their scope; a volunteer only their own skills and availability."""
    user = require_user()
    volunteer = profile.edit(registry.get_volunteer(volunteer_id, user), body(), user)
    return jsonify(registry.to_json(volunteer, volunteer.user.phone))


@bp.get("/api/v1/volunteers/<volunteer_id>")
def get_volunteer(volunteer_id: str):
    user = require_user()
    volunteer = registry.get_volunteer(volunteer_id, user)
    return jsonify(registry.to_json(volunteer, volunteer.user.phone) | stars.summaries([volunteer.user_id])[
        volunteer.user_id])


@bp.get("/api/v1/volunteers/<volunteer_id>/hours")
def list_hours(volunteer_id: str):
    """A volunteer's ledger, newest first, with each entry's approval."""
    volunteer = registry.get_volunteer(volunteer_id, require_user())
    rows = db.session.execute(queries.ledger(volunteer.user_id)).all()
    return jsonify(entries=[ledger.entry_json(e, d) for e, d in rows])


@bp.post("/api/v1/volunteers/<volunteer_id>/hours")
def add_hours(volunteer_id: str):
    """Record service hours for a volunteer (committee staff or the town): {hours, date} or a time span."""
    user = require_user()
    volunteer = registry.get_volunteer(volunteer_id, user)
    if user.role not in STAFF:
        raise ApiError(403, "forbidden", _("只有居村委工作人员或街镇可以登记服务时长。"))
    entry = ledger.record(volunteer, ledger.parse_entry(body()), user)
    return jsonify(ledger.entry_json(entry, None)), 201


@bp.post("/api/v1/volunteers/hours/<entry_id>/approve")
def approve(entry_id: str):
    return _decide(entry_id, True)


@bp.post("/api/v1/volunteers/hours/<entry_id>/reject")
def reject(entry_id: str):
    return _decide(entry_id, False)


def _decide(entry_id: str, approved: bool):
    user = require_user()
    decision = ledger.decide(entry_id, user, approved, body().get("note") or "")
    entry = db.session.get(ServiceHourEntry, decision.entry_id)
    return jsonify(ledger.entry_json(entry, decision))
