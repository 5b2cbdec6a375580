"""The volunteer's phone pages: /me (hours, stars, reports, tasks), /me/tasks, the certificate and its check."""

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf import FlaskForm

from service.accounts.auth import actor
from service.core import fields, localtime
from service.core.db import db
from service.core.errors import ApiError
from service.reports import moves, queries
from service.reports.filters import ReportFilter
from service.rules.workflow import action_label, moves_for
from service.volunteers import certificate, registry, stars, tasks
from service.volunteers.models import Volunteer

bp = Blueprint("volunteer_pages", __name__, template_folder="templates")
REPORTS_ON_ME, TASKS_ON_ME = 10, 5


class TaskForm(FlaskForm):
    """Only carries the CSRF token; the move is read from request.form by the workflow."""


def _summary(user):
    profile = db.session.get(Volunteer, user.id)
    return profile, stars.summaries([user.id])[user.id] if profile else None


@bp.get("/me")
@login_required
def me():
    """Show a volunteer's hours, stars, progress to the next star, their latest tasks and reports."""
    user = actor()
    profile, summary = _summary(user)
    cursor = request.args.get("reports", "")
    try:
        mine = queries.list_reports(user, ReportFilter(reporter_id=user.id), limit=REPORTS_ON_ME, cursor=cursor)
    except ApiError:
        abort(404)
    todo, _more = tasks.page(user, limit=TASKS_ON_ME)
    return render_template("volunteers/me.html", profile=profile, summary=summary, reports=mine, tasks=todo,
                           next_reports=queries.next_cursor(mine, REPORTS_ON_ME, False),
                           thresholds=stars.thresholds(), form=TaskForm(), actions=_actions)


@bp.get("/me/tasks")
@login_required
def my_tasks():
    """Show the volunteer's tasks, open ones first by deadline, with the moves each allows them."""
    return _tasks_page()


def _tasks_page(error: str | None = None, status: int = 200):
    user = actor()
    try:
        todo, following = tasks.page(user, request.args.get("cursor", ""))
    except ApiError:
        abort(404)
    return render_template("volunteers/tasks.html", tasks=todo, following=following, form=TaskForm(),
                           error=error, actions=_actions), status


def _actions(report) -> list[tuple[str, str]]:
    """The moves the signed-in user may make on a hazard task, with their wording."""
    roles = queries.roles(actor(), report)
    return [(to, action_label(report.status, to, roles)) for to in moves_for(roles, report.status)]


@bp.post("/me/tasks/hazard/<report_id>")
@login_required
def move_hazard(report_id: str):
    """Accept, decline or report rectified a hazard task (one checked transition; after-photo for rectified)."""
    if not TaskForm().validate_on_submit():
        return _tasks_page(_("页面已过期，请刷新页面后重试。"), 400)
    try:
        moves.move(report_id, request.form.get("to", ""), actor(), fields.note(request.form.get("note")),
                   request.files.getlist("photo"), {})
    except ApiError as e:
        if e.status == 404:
            abort(404)
        return _tasks_page(e.message, e.status)
    flash(_("操作成功。"), "ok")
    return redirect(url_for("volunteer_pages.my_tasks"), code=303)


@bp.get("/me/certificate")
@login_required
def my_certificate():
    """Show a printable service certificate with a QR code to its public, signed verification page."""
    user = actor()
    profile, summary = _summary(user)
    if profile is None:
        abort(404)
    issued = localtime.today()
    cert = certificate.Certificate(user.id, registry.mask(profile.real_name), summary["stars"],
                                   certificate.hours_text(summary["approved_hours"]), issued)
    url = certificate.verify_url(certificate.sign(cert))
    return render_template("volunteers/certificate.html", profile=profile, summary=summary, cert=cert, url=url,
                           qr=certificate.qr_svg(url))


@bp.get("/certificates/<token>")
def verify(token: str):
    """Show a certificate to anyone: the ledger's current hours and stars (and the printed ones if they changed),
    "no longer valid" once the account is disabled or erased, or a 404 when the link was not signed as it is."""
    cert = certificate.read(token)
    if cert is None:
        return render_template("volunteers/verify.html", cert=None), 404
    response = make_response(render_template("volunteers/verify.html", cert=cert, now=certificate.status(cert)))
    response.headers["Cache-Control"] = "no-cache"  # revocations and corrections show at once, never a kept copy
    return response
