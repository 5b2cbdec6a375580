"""The JSON API of key sites, recurrence, campaigns and inspections under /api/v1: thin views."""
from datetime import date

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from service.core import localtime
from service.core.errors import ApiError
from service.reports.filters import ReportFilter
from service.rules.roles import STAFF
from service.sites import campaigns, inspections, queries, recurrence, registry
from service.web.guards import csrf_for_cookie_sessions, require_user
from service.web.jsonbody import body

api = Blueprint("sites_api", __name__)  # bearer clients need no CSRF token; cookie sessions are checked
api.before_request(csrf_for_cookie_sessions)


@api.get("/api/v1/sites")
def list_sites():
    """List the sites the caller may see, by name, one keyset page at a time."""
    kind = request.args.get("kind", "")
    rows, cursor = queries.sites_page(require_user(), request.args.get("cursor", ""), kind)
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
    sent = body()
    report = registry.relink(report_id, sent.get("site"), user, sent.get("note") or "")
    return jsonify(id=str(report.id), site=sent.get("site"))


@api.get("/api/v1/recurrence")
def recurrence_figures():
    """Recurrence and on-time rates of the reports verified between since and until (local days), in scope."""
    user = require_user()
    filt = ReportFilter.from_args(request.args)
    category = filt.categories[0] if len(filt.categories) == 1 else None
    return jsonify(recurrence=recurrence.rates(user, filt.since, filt.until, category))


def _staff():
    user = require_user()
    if user.role not in STAFF:
        raise ApiError(403, "forbidden", _("活动与统计仅对居村委、街镇和区级工作人员开放。"))
    return user


@api.get("/api/v1/campaigns/current")
def current_campaigns():
    """The campaigns running today, for the report page and apps (public: guidance for everyone)."""
    return jsonify(campaigns=[campaigns.to_json(c) for c in campaigns.current()])


@api.get("/api/v1/campaigns")
def list_campaigns():
    """All campaigns, the latest first, one keyset page at a time (staff)."""
    _staff()
    rows, cursor = campaigns.page(request.args.get("cursor", ""))
    return jsonify(campaigns=[campaigns.to_json(c) for c in rows], next_cursor=cursor)


@api.post("/api/v1/campaigns")
def create_campaign():
    """Define a campaign: {title, starts_on, ends_on, focus_categories, focus_site_kinds, target_towns, guidance}."""
    user = require_user()
    return jsonify(campaigns.to_json(campaigns.create(body(), user))), 201


@api.post("/api/v1/campaigns/<campaign_id>/end")
def end_campaign(campaign_id: str):
    """End a campaign now; no report changes."""
    return jsonify(campaigns.to_json(campaigns.end(campaign_id, require_user())))


@api.get("/api/v1/campaigns/<campaign_id>/results")
def campaign_results(campaign_id: str):
    """A campaign's results in the caller's scope."""
    user = _staff()
    return jsonify(campaigns.results(campaigns.get(campaign_id), user))


def _inspection_json(i) -> dict:
    return {"id": i.id, "round": i.round_id, "site": {"id": i.site_id, "external_id": i.site.external_id,
                                                      "name": i.site.name},
            "inspector_id": i.inspector_id, "checked_in_at": i.checked_in_at and i.checked_in_at.isoformat(),
            "checkin_distance_m": i.checkin_distance_m and round(i.checkin_distance_m, 1), "results": i.results,
            "finished_at": i.finished_at and i.finished_at.isoformat(),
            "checklist": [{"code": c, "label": label} for c, label in inspections.checklist(i.site.kind)]}


@api.post("/api/v1/inspection-rounds")
def plan_round():
    """Plan a round: {title, starts_on, ends_on, sites: [external ids], inspectors: [user ids]}."""
    user = require_user()
    rnd = inspections.plan(body(), user)
    planned = inspections.of_round(rnd.id)
    return jsonify(id=rnd.id, inspections=[_inspection_json(i) for i in planned]), 201


@api.get("/api/v1/inspections/mine")
def my_inspections():
    """The caller's unfinished inspections of rounds under way."""
    return jsonify(inspections=[_inspection_json(i) for i in inspections.mine(require_user())])


@api.post("/api/v1/inspections/<inspection_id>/check-in")
def check_in(inspection_id: str):
    """Check in at the site: {lon, lat, crs} (JSON or form); farther than the limit is a 422."""
    user = require_user()
    return jsonify(_inspection_json(inspections.check_in(inspection_id, body(), user)))


@api.post("/api/v1/inspections/<inspection_id>")
def finish_inspection(inspection_id: str):
    """Record the results (multipart: item_<code> = ok|hazard|na, note_<code>, photo_<code> for hazards)."""
    found = inspections.finish(inspection_id, request.form, request.files, require_user())
    return jsonify(_inspection_json(found))


@api.get("/api/v1/inspection-coverage")
def inspection_coverage():
    """Per site and in total: inspections due in the month (month=YYYY-MM), done on time, late, overdue."""
    user = _staff()
    raw = request.args.get("month") or localtime.today().strftime("%Y-%m")
    try:
        month = date.fromisoformat(raw + "-01")
    except ValueError:
        raise ApiError(422, "bad_month", _("月份格式应为 YYYY-MM，例如 2026-11。")) from None
    return jsonify(inspections.coverage(user, month))
