"""Pages of key sites, campaigns and inspections: thin views over the domain modules of this package."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf import FlaskForm

from service.accounts.auth import actor
from service.core.errors import ApiError
from service.rules.roles import STAFF
from service.sites import campaigns, inspections, queries, registry
from service.sites.kinds import RISK_CLASSES, SITE_KINDS

bp = Blueprint("sites", __name__, template_folder="templates")


@bp.get("/sites")
@login_required
def site_list():
    """Show the key sites in the user's scope, by name, one page at a time."""
    kind = request.args.get("kind", "") if request.args.get("kind", "") in SITE_KINDS else ""
    rows, cursor = queries.sites_page(actor(), request.args.get("cursor", ""), kind)
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
    rows, cursor = queries.reports_page(site, user, request.args.get("cursor", ""))
    return render_template("sites/site.html", site=site, figures=queries.figures(site, user), reports=rows,
                           inspected=queries.last_inspection(site),
                           next_cursor=cursor, kinds=SITE_KINDS, risk_classes=RISK_CLASSES)


class CampaignForm(FlaskForm):
    """Only carries the CSRF token; the fields are read from request.form by campaigns.create."""


@bp.get("/campaigns")
@login_required
def campaign_list():
    """Show the campaigns with their results, and to admins the form to define one."""
    user = actor()
    if user.role not in STAFF:
        abort(404)
    rows, cursor = campaigns.page(request.args.get("cursor", ""))
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
        data, planner = request.form, actor()
        try:
            rnd = inspections.plan({"title": data.get("title", ""), "starts_on": data.get("starts_on"),
                                    "ends_on": data.get("ends_on"), "sites": _lines(data.get("sites", "")),
                                    "inspectors": inspections.inspector_ids(_lines(data.get("inspectors", "")),
                                                                            planner)}, planner)
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
