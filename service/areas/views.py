"""The areas API: current boundaries and which committee covers a point."""
from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from service.areas import assignment, boundaries
from service.db import db
from service.errors import ApiError
from service.models import Area
from service.reports import location

bp = Blueprint("areas", __name__)


@bp.get("/api/v1/areas")
def list_areas():
    """Return the current boundaries of one level as GeoJSON."""
    level = request.args.get("level", "committee")
    if level not in boundaries.LEVELS:
        raise ApiError(422, "bad_level", _("level 只能是 district、town 或 committee。"))
    return jsonify(boundaries.feature_collection(level))


@bp.get("/api/v1/areas/lookup")
def lookup_area():
    """Tell which committee and town cover a point."""
    loc = location.parse_location(request.args, photo=None)
    found = assignment.assign_point(loc.lon, loc.lat)
    if found is None:
        raise ApiError(422, "outside_area", _("该位置不在服务范围内，请确认坐标。"))
    committee, town = db.session.get(Area, found.committee_id), db.session.get(Area, found.town_id)
    return jsonify(
        location={"lon": round(loc.lon, 7), "lat": round(loc.lat, 7)},
        committee={"code": committee.code, "name": committee.name, "kind": committee.kind},
        town={"code": town.code, "name": town.name},
        assignment={"method": found.method, "distance_m": round(found.distance_m, 2)},
    )
