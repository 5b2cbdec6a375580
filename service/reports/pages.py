"""Pages of reports: the report form, my reports, the committee inbox, town queues, report detail."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf import FlaskForm

from service.accounts.auth import actor
from service.errors import ApiError
from service.maps.tiles import base_layer, report_layers
from service.reports import categories, duplicates, moves, queries
from service.reports.filters import ReportFilter
from service.reports.workflow import ACTION_LABELS, moves_for

bp = Blueprint("reports", __name__, template_folder="templates")
PAGE = 100  # rows per list page; the counts are over the whole table


class MoveForm(FlaskForm):
    """Only carries the CSRF token; the fields are read from request.form by the workflow."""


@bp.get("/report")
def report_form():
    """Show the mobile page to photograph and send a hazard."""
    return render_template("reports/report.html", catalogue=categories.as_json(), layers=report_layers())


@bp.get("/me/reports")
@login_required
def my_reports():
    """Show a volunteer's own reports with their status timeline."""
    user = actor()
    mine = queries.list_reports(user, ReportFilter(reporter_id=user.id), limit=PAGE)
    timelines = {r.id: queries.events_json(r, user) for r in mine}
    return render_template("reports/my_reports.html", reports=mine, timelines=timelines)


@bp.get("/inbox")
@login_required
def inbox():
    """Show a committee's hazards to rectify, overdue first."""
    todo = ReportFilter(statuses=("dispatched", "rectifying"))
    page = queries.list_reports(actor(), todo, limit=PAGE, by_due=True)  # overdue first, then by deadline
    overdue = [r for r in page if queries.is_overdue(r)]
    rest = [r for r in page if not queries.is_overdue(r)]
    late = queries.count_reports(actor(), ReportFilter(statuses=todo.statuses, overdue=True))
    totals = {"overdue": late, "to_rectify": queries.count_reports(actor(), todo) - late}
    return render_template("reports/inbox.html", overdue=overdue, reports=rest, totals=totals,
                           form=MoveForm())


@bp.get("/queues")
@login_required
def queues():
    """Show a supervisor's queues: to accept, to dispatch, to verify, overdue."""
    user = actor()
    wanted = {"to_accept": ReportFilter(statuses=("submitted",)), "to_dispatch": ReportFilter(statuses=("accepted",)),
              "to_verify": ReportFilter(statuses=("rectified",)), "overdue": ReportFilter(overdue=True)}
    lists = {name: queries.list_reports(user, filt, limit=PAGE, by_due=name != "to_accept")
             for name, filt in wanted.items()}
    totals = {name: queries.count_reports(user, filt) for name, filt in wanted.items()}
    return render_template("reports/queues.html", lists=lists, totals=totals)


@bp.get("/reports/<report_id>")
@login_required
def detail(report_id: str):
    """Show one report: before/after photos, its history, a small map and the moves allowed to the user."""
    return _detail(report_id)


def _detail(report_id: str, error: str | None = None, status: int = 200):
    try:
        report = queries.get_report(report_id, actor())
    except ApiError:
        abort(404)
    user = actor()
    allowed = moves_for(user.role, report.status)
    # "duplicate" needs the other report: it is a button on each suggestion, not one in the form.
    actions = [(to, ACTION_LABELS[(report.status, to)]) for to in allowed if to != "duplicate"]
    volunteers = moves.assignees_json(report, user) if "dispatched" in allowed else []
    nearby = duplicates.described(duplicates.nearby_open(report.id, report.category, user))
    verified = duplicates.described(duplicates.recent_verified(report.id, report.category, user))
    return render_template("reports/detail.html", report=report, data=queries.to_json(report, user),
                           events=queries.events_json(report, user), moves=actions, form=MoveForm(), error=error,
                           volunteers=volunteers, tiles=base_layer(), nearby=nearby, verified=verified,
                           may_duplicate="duplicate" in allowed), status


@bp.post("/reports/<report_id>/move")
@login_required
def move(report_id: str):
    """Apply a move from the detail page's form."""
    if not MoveForm().validate_on_submit():
        return _detail(report_id, _("页面已过期，请刷新页面后重试。"), 400)
    try:
        moves.move(report_id, request.form.get("to", ""), actor(), request.form.get("note", "")[:2000],
                      request.files.getlist("photo"), request.form)
    except ApiError as e:
        if e.status == 404:
            abort(404)
        return _detail(report_id, e.message, e.status)
    flash(_("操作成功。"), "ok")
    return redirect(url_for("reports.detail", report_id=report_id), code=303)
