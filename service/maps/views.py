"""The supervisors' map page and its vector tiles."""
from flask import Blueprint, Response, abort, request, url_for
from flask_login import login_required

from service.accounts.auth import actor
from service.maps import page, tiles, vector_tiles
from service.reports.categories import CATEGORIES, RISK_LEVELS
from service.reports.filters import ReportFilter
from service.reports.workflow import STATUS_LABELS

bp = Blueprint("maps", __name__)
TILE_MAX_AGE_S = 30  # short: tiles follow new reports and status changes


def _tile_url(layer: str, filt: ReportFilter) -> str:
    # url_for would percent-encode the {z}/{x}/{y} placeholders Leaflet fills in.
    base = url_for("maps.tile", layer=layer, z=0, x=0, y=0, **filt.query_string())
    return base.replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf", 1)


def map_config(filt: ReportFilter) -> dict:
    """What map.js needs: tile URLs carrying the filter, popup URLs, and the filter form's choices."""
    return {
        "tiles": {"reports": _tile_url("reports", filt), "committees": _tile_url("committees", filt)},
        "detailZoom": vector_tiles.DETAIL_ZOOM,
        "reportApi": url_for("reports_api.get_report", report_id="ID"),
        "reportPage": url_for("reports.detail", report_id="ID"),
        "filter": filt.query_string(),
        "choices": {"status": [[g, page.labels()[g]] for g in ("open", "closed", "all")]
                    + [[s, str(label)] for s, label in STATUS_LABELS.items()],
                    "category": [[c, str(v.name)] for c, v in CATEGORIES.items()],
                    "risk": [[r, str(v)] for r, v in RISK_LEVELS.items()]},
    }


@bp.get("/map")
@login_required
def hazard_map():
    """Show the committees and the reports the user may see, filtered by the URL, opening on their area."""
    filt = ReportFilter.from_args(request.args, default_status="open")
    html = page.render_map(map_config(filt), static_url=lambda p: url_for("static", filename=p),
                           tiles=tiles.base_layer(), fit=vector_tiles.scope_bounds(actor()))
    return html, 200, {"Content-Type": "text/html; charset=utf-8"}


@bp.get("/tiles/<any(reports, committees):layer>/<int:z>/<int:x>/<int:y>.pbf")
@login_required
def tile(layer: str, z: int, x: int, y: int):
    """One Mapbox vector tile of reports or committees, inside the caller's scope and the URL's filter."""
    if not vector_tiles.valid_tile(z, x, y):
        abort(404)
    filt = ReportFilter.from_args(request.args, default_status="open")
    make = vector_tiles.report_tile if layer == "reports" else vector_tiles.committee_tile
    response = Response(make(actor(), filt, z, x, y), mimetype="application/vnd.mapbox-vector-tile")
    response.cache_control.private = True  # scoped: never shared between users by a proxy
    response.cache_control.max_age = TILE_MAX_AGE_S
    response.vary.add("Cookie")
    response.vary.add("Authorization")
    return response
