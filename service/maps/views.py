"""Pages people open in a browser: the mobile report form and the supervisors' map."""
from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import login_required

from service.accounts.auth import actor
from service.areas import boundaries
from service.maps import page
from service.reports import categories, queries
from service.reports.workflow import STATUS_LABELS

bp = Blueprint("pages", __name__)
MAP_REPORT_LIMIT = 2000  # until the bbox/cluster endpoint exists, the map shows the newest N


@bp.get("/")
def index():
    """Send people to their working page: the report form, or their role's home once signed in."""
    from service.reports.pages import home_url

    return redirect(home_url())


@bp.get("/report")
def report_form():
    """Show the mobile page to photograph and send a hazard."""
    return render_template("report.html", catalogue=categories.as_json())


@bp.get("/map")
@login_required
def hazard_map():
    """Show committee boundaries and the reports the user may see, coloured by status."""
    localtime = current_app.jinja_env.filters["localtime"]
    rows = []
    for r in queries.list_reports(actor(), limit=MAP_REPORT_LIMIT):
        data = queries.to_json(r, actor())
        rows.append({
            "id": data["id"], "lon": data["location"]["lon"], "lat": data["location"]["lat"],
            "status": r.status, "status_label": str(STATUS_LABELS[r.status]),
            "category_label": data["category_name"], "description": r.description,
            "committee_name": r.committee.name, "created_local": localtime(r.created_at),
            "thumb_url": data["thumbnails"][0] if data["thumbnails"] else None,
            "detail_url": url_for("tracking.detail", report_id=data["id"]),
        })
    html = page.render_map(
        boundaries.feature_collection("committee"), rows,
        static_url=lambda p: url_for("static", filename=p), tiles_url=current_app.config["MAP_TILES_URL"],
    )
    return html, 200, {"Content-Type": "text/html; charset=utf-8"}
