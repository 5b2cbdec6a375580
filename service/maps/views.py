"""The supervisors' map page."""
from flask import Blueprint, url_for
from flask_login import login_required

from service import localtime
from service.accounts.auth import actor
from service.areas import boundaries
from service.maps import page, tiles
from service.reports import queries
from service.reports.workflow import STATUS_LABELS

bp = Blueprint("maps", __name__)
MAP_REPORT_LIMIT = 2000  # until the bbox/cluster endpoint exists, the map shows the newest N


@bp.get("/map")
@login_required
def hazard_map():
    """Show committee boundaries and the reports the user may see, coloured by status."""
    rows = []
    for r in queries.list_reports(actor(), limit=MAP_REPORT_LIMIT):
        data = queries.to_json(r, actor())
        rows.append({
            "id": data["id"], "lon": data["location"]["lon"], "lat": data["location"]["lat"],
            "status": r.status, "status_label": str(STATUS_LABELS[r.status]),
            "category_label": data["category_name"], "description": r.description,
            "committee_name": r.committee.name, "created_local": localtime.show(r.created_at),
            "thumb_url": data["thumbnails"][0] if data["thumbnails"] else None,
            "detail_url": url_for("reports.detail", report_id=data["id"]),
        })
    html = page.render_map(
        boundaries.feature_collection("committee"), rows,
        static_url=lambda p: url_for("static", filename=p), tiles=tiles.base_layer(),
    )
    return html, 200, {"Content-Type": "text/html; charset=utf-8"}
