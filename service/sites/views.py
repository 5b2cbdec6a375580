"""Key sites, campaigns and recurrence: thin views over the domain modules of this package."""
from flask import Blueprint, abort, jsonify, render_template, request
from flask_login import login_required

from service.accounts.auth import actor
from service.errors import ApiError
from service.jsonbody import json_body
from service.reports.api import csrf_for_cookie_sessions, require_user
from service.reports.filters import ReportFilter
from service.sites import queries, recurrence, registry
from service.sites.kinds import RISK_CLASSES, SITE_KINDS

bp = Blueprint("sites", __name__, template_folder="templates")  # pages
api = Blueprint("sites_api", __name__)  # JSON: bearer clients need no CSRF token
api.before_request(csrf_for_cookie_sessions)


def _page(rows: list, key) -> tuple[list, str | None]:
    more = len(rows) > queries.PAGE
    rows = rows[:queries.PAGE]
    return rows, (queries.encode(*key(rows[-1])) if more else None)


def _site_key(s):
    return s.name, s.id


def _report_key(r):
    return r.created_at.isoformat(), r.id


@bp.get("/sites")
@login_required
def site_list():
    """Show the key sites in the user's scope, by name, one page at a time."""
    kind = request.args.get("kind", "") if request.args.get("kind", "") in SITE_KINDS else ""
    rows, cursor = _page(queries.sites_page(actor(), request.args.get("cursor", ""), kind), _site_key)
    return render_template("sites/list.html", sites=rows, next_cursor=cursor, kind=kind, kinds=SITE_KINDS)


@bp.get("/sites/<site_id>")
@login_required
def site_page(site_id: str):
    """Show one site: its facts, its open and overdue reports and its hazard history."""
    user = actor()
    try:
        site = registry.get_site(site_id, user)
    except ApiError:
        abort(404)
    rows, cursor = _page(queries.reports_page(site, user, request.args.get("cursor", "")), _report_key)
    return render_template("sites/site.html", site=site, figures=queries.figures(site, user), reports=rows,
                           next_cursor=cursor, kinds=SITE_KINDS, risk_classes=RISK_CLASSES)


@api.get("/api/v1/sites")
def list_sites():
    """List the sites the caller may see, by name, one keyset page at a time."""
    kind = request.args.get("kind", "")
    rows, cursor = _page(queries.sites_page(require_user(), request.args.get("cursor", ""), kind), _site_key)
    return jsonify(sites=[registry.to_json(s) for s in rows], next_cursor=cursor)


@api.get("/api/v1/sites/<site_id>")
def get_site(site_id: str):
    """One site with its report figures in the caller's scope."""
    user = require_user()
    site = registry.get_site(site_id, user)
    return jsonify(registry.to_json(site) | {"figures": queries.figures(site, user)})


@api.post("/api/v1/reports/<report_id>/site")
def relink_site(report_id: str):
    """Correct the site a report is linked to: {"site": external id, or null to unlink, "note": "..."}."""
    user = require_user()
    body = json_body() if request.is_json else None
    if not isinstance(body, dict) or not isinstance(body.get("site"), str | None) \
            or not isinstance(body.get("note", ""), str):
        raise ApiError(400, "bad_body", str(registry.RELINK_HELP))
    report = registry.relink(report_id, body.get("site"), user, body.get("note", "")[:2000])
    return jsonify(id=str(report.id), site=body.get("site"))


@api.get("/api/v1/recurrence")
def recurrence_figures():
    """Recurrence and on-time rates of the reports verified between since and until (local days), in scope."""
    user = require_user()
    filt = ReportFilter.from_args(request.args)
    category = filt.categories[0] if len(filt.categories) == 1 else None
    return jsonify(recurrence=recurrence.rates(user, filt.since, filt.until, category))
