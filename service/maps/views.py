"""The supervisors' map page."""
from flask import request, url_for
from flask_login import login_required

from service.accounts.auth import actor
from service.core import tiles
from service.maps import bp, page, vector_tiles
from service.reports.filters import ReportFilter
from service.rules.categories import CATEGORIES, RISK_LEVELS
from service.rules.workflow import STATUS_LABELS


def _tile_url(layer: str, filt: ReportFilter) -> str:
    # url_for would percent-encode the {z}/{x}/{y} placeholders Leaflet fills in.
    base = url_for("maps.tile", layer=layer, z=0, x=0, y=0, **filt.query_string())
    return base.replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf", 1)


def map_config(filt: ReportFilter) -> dict:
    """What map.js needs: tile URLs carrying the filter, popup URLs, and the filter form's choices.

    map.js adds `crs=gcj02` to every data URL while a GCJ-02 base map (高德) is shown."""
    return {
        "tiles": {"reports": _tile_url("reports", filt), "committees": _tile_url("committees", filt),
                  "towns": _tile_url("towns", ReportFilter())},
        "heat": url_for("maps.heat", **filt.query_string()),
        "sizes": [list(c) for c in reversed(vector_tiles.SIZE_CLASSES)],
        "committeeList": url_for("reports.queues", committee="CODE"),
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
                           bases=tiles.base_maps(), fit=vector_tiles.scope_bounds(actor()))
    return html, 200, {"Content-Type": "text/html; charset=utf-8"}
