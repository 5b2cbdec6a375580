"""Key sites, campaigns and recurrence: thin views over the domain modules of this package."""
from datetime import date

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf import FlaskForm

from service.accounts.auth import actor
from service.errors import ApiError
from service.jsonbody import json_body
from service.reports.api import csrf_for_cookie_sessions, require_user
from service.reports.filters import ReportFilter
from service.sites import campaigns, inspections, queries, recurrence, registry
from service.sites.kinds import RISK_CLASSES, SITE_KINDS

bp = Blueprint("sites", __name__, template_folder="templates")  # pages
api = Blueprint("sites_api", __name__)  # JSON: bearer clients need no CSRF token
api.before_request(csrf_for_cookie_sessions)


def _page(rows: list, key) -> tuple[list, str | None]:
    more = len(rows) > queries.PAGE
    rows = rows[:queries.PAGE]
    return rows, (queries.encode(*key(rows[-1])) if more else None)


def _body() -> dict:
    body = json_body() if request.is_json else None  # capped in size and depth, NUL refused
    if not isinstance(body, dict):
        raise ApiError(400, "bad_body", _("请求体应为 JSON 对象，请检查后重试。"))
    return body


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
                           inspected=queries.last_inspection(site),
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


def _staff():
    user = require_user()
    if user.role not in registry.STAFF:
        raise ApiError(403, "forbidden", _("活动与统计仅对居村委、街镇和区级工作人员开放。"))
    return user


def _campaign_key(c):
    return c.starts_on.isoformat(), c.id


def _campaign_page(cursor: str) -> tuple[list, str | None]:
    after = None
    if cursor:
        key = queries.decode(cursor)
        try:
            after = (date.fromisoformat(key[0]).isoformat(), int(key[1]))
        except ValueError:
            raise ApiError(422, "bad_cursor", _("翻页参数无效，请从第一页重新开始。")) from None
    return _page(campaigns.page(after), _campaign_key)


@api.get("/api/v1/campaigns/current")
def current_campaigns():
    """The campaigns running today, for the report page and apps (public: guidance for everyone)."""
    return jsonify(campaigns=[campaigns.to_json(c) for c in campaigns.current()])


@api.get("/api/v1/campaigns")
def list_campaigns():
    """All campaigns, the latest first, one keyset page at a time (staff)."""
    _staff()
    rows, cursor = _campaign_page(request.args.get("cursor", ""))
    return jsonify(campaigns=[campaigns.to_json(c) for c in rows], next_cursor=cursor)


@api.post("/api/v1/campaigns")
def create_campaign():
    """Define a campaign: {title, starts_on, ends_on, focus_categories, focus_site_kinds, target_towns, guidance}."""
    user, body = require_user(), _body()
    return jsonify(campaigns.to_json(campaigns.create(body, user))), 201


@api.post("/api/v1/campaigns/<campaign_id>/end")
def end_campaign(campaign_id: str):
    """End a campaign now; no report changes."""
    return jsonify(campaigns.to_json(campaigns.end(campaign_id, require_user())))


@api.get("/api/v1/campaigns/<campaign_id>/results")
def campaign_results(campaign_id: str):
    """A campaign's results in the caller's scope."""
    user = _staff()
    return jsonify(campaigns.results(campaigns.get(campaign_id), user))


class CampaignForm(FlaskForm):
    """Only carries the CSRF token; the fields are read from request.form by campaigns.create."""


@bp.get("/campaigns")
@login_required
def campaign_list():
    """Show the campaigns with their results, and to admins the form to define one."""
    user = actor()
    if user.role not in registry.STAFF:
        abort(404)
    rows, cursor = _campaign_page(request.args.get("cursor", ""))
    return render_template("sites/campaigns.html", rows=[campaigns.results(c, user) for c in rows],
                           next_cursor=cursor, form=CampaignForm(), kinds=SITE_KINDS, towns=campaigns.town_choices())


@bp.post("/campaigns")
@login_required
def campaign_create():
    """Define a campaign from the page's form."""
    if not CampaignForm().validate_on_submit():
        flash(_("页面已过期，请刷新页面后重试。"), "error")
        return redirect(url_for("sites.campaign_list"), code=303)
    form = request.form
    body = {"title": form.get("title", ""), "starts_on": form.get("starts_on"), "ends_on": form.get("ends_on"),
            "guidance": form.get("guidance", ""), "focus_categories": form.getlist("focus_categories"),
            "focus_site_kinds": form.getlist("focus_site_kinds"), "target_towns": form.getlist("target_towns")}
    try:
        campaigns.create(body, actor())
    except ApiError as e:
        flash(e.message, "error")
        return redirect(url_for("sites.campaign_list"), code=303)
    flash(_("活动已创建。"), "ok")
    return redirect(url_for("sites.campaign_list"), code=303)


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
    user, body = require_user(), _body()
    rnd = inspections.plan(body, user)
    planned = inspections.of_round(rnd.id)
    return jsonify(id=rnd.id, inspections=[_inspection_json(i) for i in planned]), 201


@api.get("/api/v1/inspections/mine")
def my_inspections():
    """The caller's unfinished inspections of rounds under way."""
    return jsonify(inspections=[_inspection_json(i) for i in inspections.mine(require_user())])


@api.post("/api/v1/inspections/<inspection_id>/check-in")
def check_in(inspection_id: str):
    """Check in at the site: {lon, lat, crs} (JSON or form); farther than the limit is a 422."""
    body = _body() if request.is_json else request.form
    return jsonify(_inspection_json(inspections.check_in(inspection_id, body, require_user())))


@api.post("/api/v1/inspections/<inspection_id>")
def finish_inspection(inspection_id: str):
    """Record the results (multipart: item_<code> = ok|hazard|na, note_<code>, photo_<code> for hazards)."""
    found = inspections.finish(inspection_id, request.form, request.files, require_user())
    return jsonify(_inspection_json(found))


@api.get("/api/v1/inspection-coverage")
def inspection_coverage():
    """Per site and in total: inspections due in the month (month=YYYY-MM), done on time, late, overdue."""
    user = _staff()
    raw = request.args.get("month") or campaigns.today().strftime("%Y-%m")
    try:
        month = date.fromisoformat(raw + "-01")
    except ValueError:
        raise ApiError(422, "bad_month", _("月份格式应为 YYYY-MM，例如 2026-11。")) from None
    return jsonify(inspections.coverage(user, month))


@bp.get("/inspections")
@login_required
def inspection_list():
    """Show the inspector's inspections to do, on the phone."""
    return render_template("sites/inspections.html", rows=inspections.mine(actor()))


class PlanForm(FlaskForm):
    """Only carries the CSRF token; the fields are read from request.form."""


def _lines(raw: str) -> list[str]:
    return [v.strip() for v in raw.replace("，", ",").replace(",", "\n").splitlines() if v.strip()]


@bp.route("/inspections/plan", methods=["GET", "POST"])
@login_required
def plan_page():
    """Supervisors plan a round: title, period, site ids and inspectors' phones, one per line."""
    if actor().role not in inspections.PLANNERS:
        abort(404)
    form = PlanForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            flash(_("页面已过期，请刷新页面后重试。"), "error")
            return redirect(url_for("sites.plan_page"), code=303)
        data = request.form
        try:
            rnd = inspections.plan({"title": data.get("title", ""), "starts_on": data.get("starts_on"),
                                    "ends_on": data.get("ends_on"), "sites": _lines(data.get("sites", "")),
                                    "inspectors": inspections.inspector_ids(_lines(data.get("inspectors", "")))},
                                   actor())
        except ApiError as e:
            flash(e.message, "error")
            return render_template("sites/plan.html", form=form, values=data), e.status
        flash(_("已安排巡查：%(n)d 处场所。", n=len(inspections.of_round(rnd.id))), "ok")
        return redirect(url_for("sites.plan_page"), code=303)
    return render_template("sites/plan.html", form=form, values={})


@bp.get("/inspections/<inspection_id>")
@login_required
def inspection_page(inspection_id: str):
    """The inspector's phone page: check in on the spot, then the site kind's checklist."""
    try:
        found = inspections.get_own(inspection_id, actor())
    except ApiError:
        abort(404)
    return render_template("sites/inspection.html", i=found, items=inspections.checklist(found.site.kind))
