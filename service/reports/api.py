"""The native JSON API for reports, /api/v1: categories, reports, exports, transitions and overdue lists."""

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _

from service.accounts import scope
from service.accounts.auth import actor, client_addr
from service.core.errors import ApiError
from service.privacy import access
from service.receipts import receipts
from service.reports import attempts, copy_export, duplicates, exports, intake, moves, queries
from service.reports.filters import ReportFilter
from service.rules import categories
from service.web.guards import csrf_for_cookie_sessions, require_user
from service.web.jsonbody import body

bp = Blueprint("reports_api", __name__)


bp.before_request(csrf_for_cookie_sessions)


@bp.get("/api/v1/categories")
def list_categories():
    return jsonify(categories.as_json())


def _public_report_allowed() -> None:
    if not current_app.config["PUBLIC_REPORTS"]:
        raise ApiError(401, "login_required", _("请先登录后再上报。"))
    attempts.admit(client_addr())


@bp.post("/api/v1/reports")
def create_report():
    """Take in a hazard report (multipart: photo, category, description, lon, lat, crs...)."""
    user = actor()
    client_id = (request.form.get("client_report_id") or "").strip()[:64]
    if user is None and not intake.known_client_id(None, client_id):  # a retry is never rate-limited
        _public_report_allowed()
    report, created = intake.create_report(request.form, request.files.getlist("photo"),
                                           reporter_id=user.id if user else None, reporter_ip=client_addr())
    shown = _shown(report, user)
    if user is None and (receipt := receipts.ensure(report)):  # a resend gets the same receipt again
        shown["receipt"] = receipt
    return jsonify(shown), 201 if created else 200


@bp.get("/api/v1/reports/<report_id>")
def get_report(report_id: str):
    return jsonify(_detail(queries.get_report(report_id, actor())))


def _shown(report, user) -> dict:
    """The report as this user may see it: duplicates only among reports in their own scope."""
    return queries.to_json(report, user) | {
        "possible_duplicates": duplicates.nearby_open(report.id, report.category, user)}


def _detail(report) -> dict:
    user = actor()
    return _shown(report, user) | {"events": queries.events_json(report, user)}


@bp.get("/api/v1/reports")
def list_reports():
    """List the caller's visible reports, one keyset page at a time, with the total over the whole table."""
    user, args = require_user(), request.args
    try:
        limit = int(args.get("limit", 100))
    except ValueError as e:
        raise ApiError(422, "bad_limit", _("limit 必须是整数。")) from e
    filt = ReportFilter.from_args(args)
    found = queries.list_reports(user, filt, limit, cursor=args.get("cursor", ""))
    return jsonify(reports=queries.serialize(found, user), count=len(found),
                   total=queries.count_reports(user, filt), next=queries.next_cursor(found, limit, filt.overdue))


# A fixed suffix on the collection, not a path segment: /api/v1/reports/<report_id> never sees these.
@bp.get("/api/v1/reports.<any(csv, geojson, xlsx):fmt>")
def export_reports(fmt: str):
    """Export the caller's visible reports that match the list's filters, streamed as CSV, GeoJSON or XLSX, with
    the residents' contacts the caller may read; an export that holds any is in the access log first."""
    user = require_user()
    filt, visible, contacts = ReportFilter.from_args(request.args), scope.visible(user), scope.report_contact(user)
    access.record(user, "export", exports.contacts_shown(visible, filt, contacts),
                  filter={"format": fmt, **filt.query_string()})
    return exports.download(fmt, copy_export.reports(visible, filt, contacts))


@bp.post("/api/v1/reports/<report_id>/transitions")
def transition(report_id: str):
    """Move a report to another status: JSON {to, note, ...} or multipart with after-photos."""
    user = require_user()
    sent = body()
    report = moves.move(report_id, sent["to"], user, sent.get("note") or "", request.files.getlist("photo"), sent)
    return jsonify(_detail(report))


@bp.get("/api/v1/reports/<report_id>/assignees")
def assignees(report_id: str):
    """List the volunteers this report may be dispatched to (ids to send as assignee_id)."""
    user = require_user()
    report = queries.get_report(report_id, user)
    return jsonify(assignees=moves.assignees_json(report, user))


@bp.post("/api/v1/reports/<report_id>/risk")
def regrade(report_id: str):
    """Re-grade a report's risk level and recompute its deadline (supervisors, within their scope)."""
    user = require_user()
    sent = body()
    report = moves.regrade(report_id, sent.get("risk_level"), user, sent.get("note") or "")
    return jsonify(_detail(report))


@bp.post("/api/v1/reports/<report_id>/reassign")
def reassign(report_id: str):
    """Put a report under another committee (supervisors, within their scope)."""
    user = require_user()
    sent = body()
    report = moves.reassign(report_id, sent["committee"], user, sent.get("note") or "")
    return jsonify(_detail(report))
