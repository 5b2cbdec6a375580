"""The map's data: vector tiles of reports, committees and towns, and the heat layer's points, each scoped to the
caller and filtered by the page's URL."""
from flask import Response, abort, jsonify, request
from flask_babel import gettext as _
from flask_login import login_required

from service.accounts.auth import actor
from service.core.errors import ApiError
from service.maps import bp, vector_tiles
from service.reports.filters import ReportFilter, parse_bbox

TILE_MAX_AGE_S = 30  # short: tiles follow new reports and status changes


def _drawn_crs() -> str:
    """The system the caller's base map draws in (`crs=gcj02` for 高德 tiles); anything else is refused."""
    crs = request.args.get("crs", "wgs84")
    if crs not in vector_tiles.DRAWN_CRS:
        raise ApiError(400, "bad_crs", _("crs 只能是 wgs84 或 gcj02。"))
    return crs


def _private(response: Response) -> Response:
    response.cache_control.private = True  # scoped: never shared between users by a proxy
    response.cache_control.max_age = TILE_MAX_AGE_S
    response.vary.add("Cookie")
    response.vary.add("Authorization")
    return response


@bp.get("/tiles/<any(reports, committees, towns):layer>/<int:z>/<int:x>/<int:y>.pbf")
@login_required
def tile(layer: str, z: int, x: int, y: int):
    """One Mapbox vector tile of reports, committees or town outlines, inside the caller's scope and filter."""
    if not vector_tiles.valid_tile(z, x, y):
        abort(404)
    crs = _drawn_crs()
    if layer == "towns":
        body = vector_tiles.town_tile(actor(), z, x, y, crs)
    else:
        filt = ReportFilter.from_args(request.args, default_status="open")
        make = vector_tiles.report_tile if layer == "reports" else vector_tiles.committee_tile
        body = make(actor(), filt, z, x, y, crs)
    return _private(Response(body, mimetype="application/vnd.mapbox-vector-tile"))


@bp.get("/map/heat.json")
@login_required
def heat():
    """The heat layer's weighted points for one view (`bbox`, `z`), counted on the server, scoped and filtered."""
    args = request.args.copy()
    args.pop("bbox", None)  # the view, not a filter: a filter's bbox would deny the rollup (the rows at any zoom)
    filt = ReportFilter.from_args(args, default_status="open")
    z = request.args.get("z", type=int)
    if not request.args.get("bbox") or z is None or not 0 <= z <= vector_tiles.MAX_ZOOM:
        raise ApiError(400, "bad_view", _("请提供视图范围 bbox 和缩放级别 z（0–22）。"))
    bbox = parse_bbox(request.args["bbox"])
    if not vector_tiles.heat_span_ok(bbox, z):
        raise ApiError(422, "view_too_large", _("视图范围过大，请放大地图后再看热力图。"))
    points = vector_tiles.heat_points(actor(), filt, bbox, z, _drawn_crs())
    return _private(jsonify({"points": points, "max": max((p[2] for p in points), default=0)}))
