"""The native JSON API, /api/v1: health, categories, areas, reports and their transitions."""
import hmac

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import text

from . import areas, assignment, categories, duplicates, intake, location, reports
from .db import db
from .errors import ApiError
from .models import Area

bp = Blueprint("api", __name__)


@bp.get("/healthz")
def healthz():
    """Report whether the app and its database answer."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any DB failure means unhealthy, whatever the driver raised
        db.session.rollback()
        return jsonify(status="degraded", db="down"), 503
    return jsonify(status="ok", db="ok")


@bp.get("/api/v1/categories")
def list_categories():
    return jsonify(categories.as_json())


@bp.get("/api/v1/areas")
def list_areas():
    """Return the current boundaries of one level as GeoJSON."""
    level = request.args.get("level", "committee")
    if level not in areas.LEVELS:
        raise ApiError(422, "bad_level", _("level 只能是 district、town 或 committee。"))
    return jsonify(areas.feature_collection(level))


@bp.get("/api/v1/areas/lookup")
def lookup_area():
    """Tell which committee and town cover a point."""
    loc = location.parse_location(request.args, photo=None)
    found = assignment.assign_point(loc.lon, loc.lat)
    if found is None:
        raise ApiError(422, "outside_area", _("该位置不在服务范围内，请确认坐标。"))
    committee, town = db.session.get(Area, found.committee_id), db.session.get(Area, found.town_id)
    return jsonify(
        location={"lon": round(loc.lon, 7), "lat": round(loc.lat, 7)},
        committee={"code": committee.code, "name": committee.name, "kind": committee.kind},
        town={"code": town.code, "name": town.name},
        assignment={"method": found.method, "distance_m": round(found.distance_m, 2)},
    )


@bp.post("/api/v1/reports")
def create_report():
    """Take in a hazard report (multipart: photo, category, description, lon, lat, crs...)."""
    report, created = intake.create_report(request.form, request.files.getlist("photo"))
    return jsonify(_with_duplicates(report)), 201 if created else 200


@bp.get("/api/v1/reports/<report_id>")
def get_report(report_id: str):
    return jsonify(_with_duplicates(reports.get_report(report_id)))


def _with_duplicates(report) -> dict:
    return reports.to_json(report) | {"possible_duplicates": duplicates.nearby_open(report.id, report.category)}


@bp.get("/api/v1/reports")
def list_reports():
    """List reports filtered by status, committee, town and bbox."""
    args = request.args
    try:
        limit = int(args.get("limit", 100))
    except ValueError as e:
        raise ApiError(422, "bad_limit", _("limit 必须是整数。")) from e
    found = reports.list_reports(args.get("status", ""), args.get("committee", ""), args.get("town", ""),
                                 args.get("bbox", ""), limit)
    return jsonify(reports=[reports.to_json(r) for r in found], count=len(found))


@bp.post("/api/v1/reports/<report_id>/transitions")
def transition(report_id: str):
    """Move a report to another status (admin token until accounts exist)."""
    _require_admin()
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("to"), str):
        raise ApiError(400, "bad_body", _("请求体应为 JSON：{\"to\": 目标状态, \"note\": 备注}。"))
    note = body.get("note") or ""
    if not isinstance(note, str) or len(note) > 2000:
        raise ApiError(422, "bad_note", _("备注必须是不超过 2000 字的文本。"))
    report = reports.transition(report_id, body["to"], note, actor_label="admin-token")
    return jsonify(reports.to_json(report))


def _require_admin() -> None:
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not sent or not hmac.compare_digest(sent.encode(), current_app.config["ADMIN_TOKEN"].encode()):
        raise ApiError(401, "unauthorized", _("需要管理员令牌：请在 Authorization 头中提供 Bearer 令牌。"))
