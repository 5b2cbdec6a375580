"""Pages of reports: the report form, my reports, the committee inbox, town queues, report detail."""
from dataclasses import dataclass, replace

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm

from service.accounts.auth import actor
from service.areas.boundaries import committee_choices
from service.bodies import registry, transfers
from service.core import fields
from service.core.db import db
from service.core.errors import ApiError
from service.core.tiles import base_layer, base_maps
from service.hotline import orders
from service.photos.redact import published
from service.privacy import access
from service.reports import bulk, duplicates, moves, offline, queries, redaction, redaction_requests
from service.reports.filters import ReportFilter
from service.rules import categories
from service.rules.workflow import CLOSED, REGRADE, action_label, moves_for
from service.sites import campaigns, linking

bp = Blueprint("reports", __name__, template_folder="templates")
PAGE = 100  # rows per list page; the counts are over the whole table
OVERVIEW_PAGE = 20  # rows per queue when all four are shown; "next page" goes on in that queue alone


class MoveForm(FlaskForm):
    """Only carries the CSRF token; the fields are read from request.form by the workflow."""


@bp.get("/report")
def report_form():
    """Show the mobile page to photograph and send a hazard."""
    running = campaigns.current()  # themed campaigns: a banner, and their focus categories offered first
    return render_template("reports/report.html", catalogue=campaigns.focus_first(categories.as_json(), running),
                           campaign_banner=campaigns.banner(running), layers=base_maps(),
                           resize=current_app.config["PHONE_RESIZE"], theme=offline.THEME)


@bp.get("/me/reports")
@login_required
def my_reports():
    """Show a volunteer's own reports with their status timeline."""
    user = actor()
    mine = queries.list_reports(user, ReportFilter(reporter_id=user.id), limit=PAGE)
    timelines = queries.timelines(mine, user)
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


# The supervisors' queues: (title, filter, sorted by deadline). Each is paginated and counted in SQL.
QUEUES = {
    "overdue": (_l("已逾期"), ReportFilter(overdue=True), True),
    "to_accept": (_l("待受理"), ReportFilter(statuses=("submitted",)), False),
    "to_dispatch": (_l("待派单"), ReportFilter(statuses=("accepted",)), True),
    "to_verify": (_l("待核查"), ReportFilter(statuses=("rectified",)), True),
    # Handed to a body outside the programme, until it finishes or returns the report (service/bodies).
    "transferred": (_l("已转派"), ReportFilter(statuses=("transferred",)), False),
}


@dataclass
class Queue:
    name: str
    title: str
    rows: list
    total: int
    after: str | None  # the next page's cursor
    actions: list  # bulk (to_status, label) pairs


def _narrowing(args) -> ReportFilter:
    """What the queue page's own filter form narrows every queue by: category, risk, committee, town."""
    asked = ReportFilter.from_args(args)
    return ReportFilter(categories=asked.categories, risks=asked.risks, committee=asked.committee, town=asked.town)


@bp.get("/queues")
@login_required
def queues():
    """Show a supervisor's queues (overdue, to accept, to dispatch, to verify): pages sorted in SQL, overdue and by
    deadline first, counted over the whole table, narrowed by the filter form, with bulk moves."""
    user, narrow = actor(), _narrowing(request.args)
    show = request.args.get("show", "")
    shown = []
    for name, (title, base, by_due) in QUEUES.items():
        if show and name != show or show == "redaction":
            continue
        filt = replace(narrow, statuses=base.statuses, overdue=base.overdue)
        limit = PAGE if show else OVERVIEW_PAGE
        rows = queries.list_reports(user, filt, limit=limit, cursor=request.args.get("after", "") if show else "",
                                    by_due=by_due)
        shown.append(Queue(name, str(title), rows, queries.count_reports(user, filt),
                           queries.next_cursor(rows, limit, by_due),
                           bulk.actions(user, base.statuses[0]) if len(base.statuses) == 1 else []))
    ids = [r.id for q in shown for r in q.rows]
    asked, asked_after = ([], None) if show and show != "redaction" else redaction_requests.queue(
        user, PAGE if show else OVERVIEW_PAGE, request.args.get("after", "") if show else "")
    return render_template("reports/queues.html", queues=[q for q in shown if show != "redaction"], show=show,
                           narrow=narrow.query_string(), asked=asked, asked_after=asked_after,
                           asked_total=redaction_requests.count(user) if show in ("", "redaction") else 0,
                           committees=committee_choices(user), form=MoveForm(),
                           suggested=registry.suggested_for(ids), hotline_orders=orders.orders_of(ids))


@bp.post("/queues/bulk")
@login_required
def bulk_move():
    """Apply one move to the ticked reports of a queue, each as its own checked transition."""
    narrow, show = _narrowing(request.form), request.form.get("show", "")
    back = url_for("reports.queues", show=show if show in QUEUES else None, **narrow.query_string())
    if not MoveForm().validate_on_submit():
        flash(_("页面已过期，请刷新页面后重试。"), "error")
        return redirect(back, code=303)
    ids = request.form.getlist("ids")
    if not ids:
        flash(_("请先勾选要处理的隐患。"), "error")
        return redirect(back, code=303)
    try:
        note = fields.note(request.form.get("note"))
    except ApiError as e:
        flash(e.message, "error")
        return redirect(back, code=303)
    done, refused = bulk.move_many(ids, request.form.get("to", ""), actor(), note)
    if done:
        flash(_("已处理 %(n)d 条。", n=len(done)), "ok")
    for report_id, reason in refused[:5]:
        flash(_("%(id)s 未处理：%(reason)s", id=report_id[:8], reason=reason), "error")
    if len(refused) > 5:
        flash(_("另有 %(n)d 条未处理。", n=len(refused) - 5), "error")
    return redirect(back, code=303)


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
    roles = queries.roles(user, report)
    allowed = moves_for(roles, report.status)
    # "duplicate" needs the other report: it is a button on each suggestion, not one in the form.
    hotline = orders.summary(report.id)
    actions = [(to, _("退回热线") if to == "rejected" and hotline and hotline["returnable"]
                else action_label(report.status, to, roles)) for to in allowed if to != "duplicate"]
    volunteers = moves.assignees_json(report, user) if "dispatched" in allowed else []
    bodies = registry.choices(report) if "transferred" in allowed else []
    transfer = transfers.delivery_state(report.id) if report.status == "transferred" else None
    nearby = duplicates.described(duplicates.nearby_open(report.id, report.category, user))
    verified = duplicates.described(duplicates.recent_verified(report.id, report.category, user))
    linked = linking.for_detail(report, user)  # its key site, and the verified report it repeats (service/sites)
    contact = queries.contact(report, user)
    page = render_template("reports/detail.html", report=report, data=queries.to_json(report, user), contact=contact,
                           events=queries.events_json(report, user), moves=actions, form=MoveForm(), error=error,
                           volunteers=volunteers, bodies=bodies, transfer=transfer, hotline=hotline,
                           tiles=base_layer(),
                           nearby=nearby, verified=verified,
                           may_duplicate="duplicate" in allowed, linked=linked,
                           photo_rows=published(report.photos), manual=redaction.manual_boxes(report.id),
                           asked=redaction_requests.open_for(report.id), may_redact=redaction.may_redact(user),
                           may_unredact=redaction.may_unredact(user),
                           may_regrade=user.role in REGRADE and report.status not in CLOSED)
    access.record(user, "detail", 1 if contact else 0, report_id=report.id)  # who saw the contact (privacy)
    return page, status


@bp.post("/reports/<report_id>/move")
@login_required
def move(report_id: str):
    """Apply a move from the detail page's form."""
    return _act(report_id, lambda: moves.move(report_id, request.form.get("to", ""), actor(),
                                              fields.note(request.form.get("note")), request.files.getlist("photo"),
                                              request.form))


@bp.post("/reports/<report_id>/risk")
@login_required
def regrade(report_id: str):
    """Re-grade the risk level from the detail page's form (supervisors); the deadline is recomputed."""
    return _act(report_id, lambda: moves.regrade(report_id, request.form.get("risk_level", ""), actor(),
                                                 fields.note(request.form.get("note"))))


@bp.post("/reports/<report_id>/photos/<int:photo_id>/redact")
@login_required
def redact_photo(report_id: str, photo_id: int):
    """Cover the regions drawn on a photo (staff within scope): a new public copy and thumbnail, an event."""
    return _act(report_id, lambda: redaction.redact(report_id, photo_id, request.form.get("boxes", ""), actor()),
                _("已保存遮挡，公开照片已更新。"), f"photo-{photo_id}")


@bp.post("/reports/<report_id>/photos/<int:photo_id>/unredact")
@login_required
def unredact_photo(report_id: str, photo_id: int):
    """Take a photo's manual redaction back (district admins): the copy with only its faces blurred, an event."""
    return _act(report_id, lambda: redaction.unredact(report_id, photo_id, actor()),
                _("已撤销手动遮挡，公开照片已恢复为仅模糊人脸的版本。"), f"photo-{photo_id}")


@bp.post("/reports/<report_id>/photos/<int:photo_id>/redaction-request")
@login_required
def ask_redaction(report_id: str, photo_id: int):
    """Ask for a photo to be checked (anyone who may see the report); it lands in the town's queue."""
    said = {}

    def ask():
        _request, said["new"] = redaction_requests.ask(queries.get_report(report_id, actor()), photo_id,
                                                      request.form.get("reason"), actor())
    return _act(report_id, ask, lambda: _("已提交遮挡请求，街镇工作人员会尽快核查这张照片。") if said["new"]
                else _("这张照片已在核查队列中，街镇工作人员会尽快处理。"), f"photo-{photo_id}")


@bp.post("/reports/<report_id>/redaction-requests/<int:request_id>/decline")
@login_required
def decline_redaction(report_id: str, request_id: int):
    """Close a request with nothing to hide (staff within scope); from the queue, back to the queue."""
    if request.form.get("back") == "queues":
        if not MoveForm().validate_on_submit():
            flash(_("页面已过期，请刷新页面后重试。"), "error")
        else:
            try:
                redaction_requests.decline(report_id, request_id, actor())
                flash(_("已处理：这张照片无需遮挡。"), "ok")
            except ApiError as e:
                flash(e.message, "error")
        return redirect(url_for("reports.queues") + "#redaction", code=303)
    return _act(report_id, lambda: redaction_requests.decline(report_id, request_id, actor()),
                _("已处理：这张照片无需遮挡。"))


def _act(report_id: str, action, said=None, anchor: str | None = None):
    """Run one form's action on a report: back to the detail page, or the page again with the refusal."""
    if not MoveForm().validate_on_submit():
        return _detail(report_id, _("页面已过期，请刷新页面后重试。"), 400)
    try:
        action()
    except ApiError as e:
        db.session.rollback()  # nothing of the refused move stays in the session the page is drawn from
        if e.status == 404 and e.code == "report_not_found":
            abort(404)
        return _detail(report_id, e.message, e.status)
    flash(said() if callable(said) else said or _("操作成功。"), "ok")
    return redirect(url_for("reports.detail", report_id=report_id, _anchor=anchor), code=303)
