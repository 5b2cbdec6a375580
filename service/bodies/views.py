"""The district admin's page of bodies outside the programme: the registry, a form to add one, disabling one.

Thin views over registry.py, which checks every field exactly as `hazard-snap bodies add` does. The Open311 key is
read from a password field and handed to registry.add(); no answer, not even a refused form, carries it back.
"""
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from service.accounts.auth import actor
from service.bodies import queries, registry
from service.bodies.kinds import CHANNEL_LABELS, KIND_LABELS, SYNC_LABELS
from service.core.errors import ApiError

bp = Blueprint("bodies", __name__, template_folder="templates", url_prefix="/bodies")
DEFAULTS = {"kind": "property", "channel": "email", "sign_hours": "24", "finish_hours": "168", "categories": [],
            "sync_via": "updates"}


class CsrfForm(FlaskForm):
    """Only carries the CSRF token; the fields are read from request.form by the view and checked by registry."""


@bp.before_request
def district_admins_only():
    """Fail closed: every route here is for district admins; someone signed out is sent to sign in first."""
    user = actor()
    if user is None:
        return current_app.login_manager.unauthorized()
    if user.role != "district_admin":
        raise ApiError(403, "forbidden", _("只有区级管理员可以管理外部单位。"))
    return None


def _render(values: dict, error: str | None = None, status: int = 200):
    rows, cursor = queries.page(request.args.get("cursor", ""))
    return render_template("bodies/list.html", rows=rows, next_cursor=cursor, values=values, error=error,
                           form=CsrfForm(), kinds=KIND_LABELS, channels=CHANNEL_LABELS, sync_ways=SYNC_LABELS), status


@bp.get("/")
def body_list():
    """Show every body, a page at a time, and the form to add one."""
    return _render(DEFAULTS)


def _hours(raw: str | None) -> int:
    """A whole number of hours; anything else is 0, which registry.add refuses in words."""
    try:
        return int((raw or "").strip())
    except ValueError:
        return 0


def _outline() -> str | None:
    upload = request.files.get("outline")
    data = upload.read() if upload else b""
    return data.decode("utf-8", errors="replace") if data else None


@bp.post("/")
def body_add():
    """Register a body from the form; a refusal shows the form again with its reason, nothing stored."""
    form = request.form
    fields = ("name", "kind", "channel", "endpoint", "areas", "jurisdiction_id", "sign_hours", "finish_hours",
              "service_codes", "sync_via")
    values = {k: form.get(k, "") for k in fields} | {"categories": form.getlist("categories")}
    if not CsrfForm().validate_on_submit():
        return _render(values, _("页面已过期，请刷新页面后重试。"), 400)
    try:
        body = registry.add(name=values["name"], kind=values["kind"], channel=values["channel"],
                            endpoint=values["endpoint"], categories=values["categories"],
                            area_codes=registry.split(values["areas"]), outline=_outline(),
                            jurisdiction_id=values["jurisdiction_id"], credential=form.get("credential"),
                            sign_hours=_hours(values["sign_hours"]), finish_hours=_hours(values["finish_hours"]),
                            service_codes=values["service_codes"], sync_via=values["sync_via"] or "updates")
    except ApiError as e:
        return _render(values, e.message, e.status)
    flash(_("已登记外部单位“%(name)s”。", name=body.name), "ok")
    return redirect(url_for("bodies.body_list"), code=303)


@bp.post("/<int:body_id>/disable")
def body_disable(body_id: int):
    """Stop suggesting and delivering to a body; its past transfers stay."""
    if not CsrfForm().validate_on_submit():
        flash(_("页面已过期，请刷新页面后重试。"), "error")
        return redirect(url_for("bodies.body_list"), code=303)
    body = registry.disable(body_id)
    flash(_("已停用外部单位“%(name)s”。", name=body.name), "ok")
    return redirect(url_for("bodies.body_list"), code=303)
