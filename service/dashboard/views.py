"""The dashboard page: the figures of GET /api/v1/stats as charts and tables (service/dashboard/sections.py)."""

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from service.accounts.auth import actor
from service.core.db import db
from service.core.models import Area
from service.dashboard import bp, hazards, monthly_render, sections


@bp.get("/dashboard")
@login_required
def page():
    """Show the dashboard: figures per town or committee, charts, and links to the filtered list and map."""
    filt, data = sections.figures(actor())
    towns = {}
    if actor().role == "district_admin":  # the newest generation's name of each town
        towns = dict(db.session.execute(select(Area.code, Area.name).where(Area.level == "town")
                                        .order_by(Area.code, Area.generation)).all())
    area = actor().area
    return render_template("dashboard/dashboard.html", data=data, filt=filt, towns=towns,
                           links=hazards.links(filt), sections=sections.SECTIONS,
                           scope_name=area.name if area is not None else _("全区"))


@bp.get("/dashboard/monthly.<any(pdf, xlsx):fmt>")
@login_required
def monthly_report(fmt: str):
    """The monthly report (月度通报) of ?month=YYYY-MM (and &town=CODE) in the caller's scope, as PDF or XLSX."""
    return monthly_render.respond(actor(), request.args, fmt)
