"""Sign-in pages: the front door, login and logout."""
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from service.accounts import auth, sessions
from service.accounts.auth import actor

bp = Blueprint("accounts", __name__, template_folder="templates")
HOME = {"volunteer": "reports.my_reports", "committee_staff": "reports.inbox",
        "town_supervisor": "reports.queues", "district_admin": "reports.queues"}


class LoginForm(FlaskForm):
    phone = StringField(validators=[DataRequired(), Length(max=20)])
    password = PasswordField(validators=[DataRequired(), Length(max=200)])


class LogoutForm(FlaskForm):
    """Only carries the CSRF token, so another site cannot sign people out."""


def safe_next(target: str) -> str | None:
    """Return a local path to go back to after login, or None for anything that could leave the site."""
    cleaned = "".join(ch for ch in target if ch.isprintable() and not ch.isspace())
    parts = urlsplit(cleaned)
    if cleaned != target or parts.scheme or parts.netloc or not cleaned.startswith("/") or "\\" in cleaned:
        return None
    return cleaned if not cleaned.startswith("//") else None


def home_url() -> str:
    user = actor()
    return url_for(HOME[user.role]) if user else url_for("reports.report_form")


@bp.get("/")
def index():
    """Send people to their working page: the report form, or their role's home once signed in."""
    return redirect(home_url())


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
            sessions.begin(user)
            login_user(user)
            return redirect(safe_next(request.args.get("next", "")) or home_url())
        else:
            flash(_("手机号或密码不正确。"), "error")
            status = 401
    elif request.method == "POST":
        status = 400
        flash(_("请填写手机号和密码；如页面已过期请刷新后重试。"), "error")
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """Sign out (the form's CSRF token proves the click came from our page)."""
    if LogoutForm().validate_on_submit():
        sessions.end_current()
        logout_user()
    return redirect(url_for("accounts.login"))
