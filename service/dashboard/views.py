"""The dashboard page and GET /api/v1/stats: the same figures, as charts and tables or as JSON."""
from datetime import UTC, datetime

from flask import Blueprint, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from service.accounts.auth import actor
from service.core.db import db
from service.core.errors import ApiError
from service.core.models import Area, User
from service.reports.filters import ReportFilter
from service.rules.roles import STAFF

from . import hazards, sections

bp = Blueprint("dashboard", __name__, template_folder="templates")


def _figures(user: User | None, only: str = "") -> tuple[ReportFilter, dict]:
    if user is None:
        raise ApiError(401, "login_required", _("请先登录，或在 Authorization 头中提供 Bearer 令牌。"))
    if user.role not in STAFF:
        raise ApiError(403, "forbidden", _("统计仅对居村委、街镇和区级工作人员开放。"))
    filt = ReportFilter.from_args(request.args, default_status="all")
    return filt, sections.build(user, filt, datetime.now(UTC), only)


@bp.get("/api/v1/stats")
def stats():
    """Every dashboard figure as JSON (or only the sections named in ?section=), under the list's filters and the
    caller's scope."""
    return jsonify(_figures(actor(), request.args.get("section", ""))[1])


@bp.get("/dashboard")
@login_required
def page():
    """Show the dashboard: figures per town or committee, charts, and links to the filtered list and map."""
    filt, data = _figures(actor())
    towns = {}
    if actor().role == "district_admin":  # the newest generation's name of each town
        towns = dict(db.session.execute(select(Area.code, Area.name).where(Area.level == "town")
                                        .order_by(Area.code, Area.generation)).all())
    return render_template("dashboard/dashboard.html", data=data, filt=filt, towns=towns,
                           links=hazards.links(filt), sections=sections.SECTIONS)
