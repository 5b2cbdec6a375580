"""Pages of the rectification workflow: login, my reports, committee inbox, town queues, report detail."""
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from service.accounts import auth
from service.accounts.auth import actor
from service.errors import ApiError
from service.reports import moves, queries
from service.reports.workflow import ACTION_LABELS, moves_for

bp = Blueprint("tracking", __name__)
HOME = {"volunteer": "tracking.my_reports", "committee_staff": "tracking.inbox",
        "town_supervisor": "tracking.queues", "district_admin": "tracking.queues"}


class LoginForm(FlaskForm):
    phone = StringField(validators=[DataRequired(), Length(max=20)])
    password = PasswordField(validators=[DataRequired(), Length(max=200)])


class MoveForm(FlaskForm):
    """Only carries the CSRF token; the fields are read from request.form by the workflow."""


def safe_next(target: str) -> str | None:
    """Return a local path to go back to after login, or None for anything that could leave the site."""
    cleaned = "".join(ch for ch in target if ch.isprintable() and not ch.isspace())
    parts = urlsplit(cleaned)
    if cleaned != target or parts.scheme or parts.netloc or not cleaned.startswith("/") or "\\" in cleaned:
        return None
    return cleaned if not cleaned.startswith("//") else None


def home_url() -> str:
    user = actor()
    return url_for(HOME[user.role]) if user else url_for("pages.report_form")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with phone number and password."""
    form, status = LoginForm(), 200
    if form.validate_on_submit():
        phone = form.phone.data.strip()
        if auth.login_throttled(phone):
            flash(_("登录失败次数过多，请 15 分钟后再试。"), "error")
            status = 429
        elif (user := auth.authenticate(phone, form.password.data)) is not None:
            login_user(user)
            return redirect(safe_next(request.args.get("next", "")) or home_url())
        else:
            flash(_("手机号或密码不正确。"), "error")
            status = 401
    elif request.method == "POST":
        status = 400
        flash(_("请填写手机号和密码；如页面已过期请刷新后重试。"), "error")
    return render_template("login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    if MoveForm().validate_on_submit():
        logout_user()
    return redirect(url_for("tracking.login"))


@bp.get("/me/reports")
@login_required
def my_reports():
    """Show a volunteer's own reports with their status timeline."""
    user = actor()
    mine = [r for r in queries.list_reports(user, limit=200) if r.reporter_id == user.id]
    timelines = {r.id: queries.events_json(r, user) for r in mine}
    return render_template("my_reports.html", reports=mine, timelines=timelines)


@bp.get("/inbox")
@login_required
def inbox():
    """Show a committee's hazards to rectify, overdue first."""
    todo = queries.list_reports(actor(), status="dispatched,rectifying", limit=500)
    overdue = sorted((r for r in todo if queries.is_overdue(r)), key=lambda r: r.due_at)
    rest = [r for r in todo if not queries.is_overdue(r)]
    return render_template("inbox.html", overdue=overdue, reports=rest, form=MoveForm())


@bp.get("/queues")
@login_required
def queues():
    """Show a supervisor's queues: to accept, to dispatch, to verify, overdue."""
    user = actor()
    lists = {name: queries.list_reports(user, status=status, limit=500)
             for name, status in (("to_accept", "submitted"), ("to_dispatch", "accepted"),
                                  ("to_verify", "rectified"))}
    lists["overdue"] = queries.list_reports(user, overdue=True, limit=500)
    return render_template("queues.html", lists=lists)


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
    actions = [(to, ACTION_LABELS[(report.status, to)]) for to in moves_for(user.role, report.status)]
    volunteers = moves.assignees_json(report, user) if any(to == "dispatched" for to, _label in actions) else []
    return render_template("detail.html", report=report, data=queries.to_json(report, user),
                           events=queries.events_json(report, user), moves=actions, form=MoveForm(), error=error,
                           volunteers=volunteers), status


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
    return redirect(url_for("tracking.detail", report_id=report_id), code=303)
