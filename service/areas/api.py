"""The areas API: boundaries as GeoJSON, and which committee covers a point, now or at a past date."""
from datetime import date, datetime, time

from flask import jsonify, request
from flask_babel import gettext as _

from service.areas import assignment, boundaries, bp
from service.core import localtime
from service.core.db import db
from service.core.errors import ApiError
from service.core.models import Area
from service.reports import location


@bp.get("/api/v1/areas")
def list_areas():
    """Return the current boundaries of one level as GeoJSON."""
    level = request.args.get("level", "committee")
    if level not in boundaries.LEVELS:
        raise ApiError(422, "bad_level", _("level 只能是 district、town 或 committee。"))
    return jsonify(boundaries.feature_collection(level))


def _moment(raw: str) -> datetime:
    """An ISO date or date-time; a date means the end of that local day, a naive time is local."""
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time.max, tzinfo=localtime.zone())
        return localtime.attach(datetime.fromisoformat(raw))
    except ValueError:
        raise ApiError(422, "bad_at", _("at 须为日期或时间，例如 2026-01-31 或 2026-01-31T08:00。")) from None


@bp.get("/api/v1/areas/lookup")
def lookup_area():
    """Tell which committee and town cover a point, now or (?at=) under the boundaries in force then."""
    loc = location.parse_location(request.args, photo=None)
    generation = None
    if raw := (request.args.get("at") or "").strip():
        generation = boundaries.generation_at("committee", _moment(raw))
        if generation is None:
            raise ApiError(404, "no_generation", _("该时间之前还没有导入居村委边界，请换一个较晚的时间。"))
    found = assignment.assign_point(loc.lon, loc.lat, generation)
    if found is None:
        raise ApiError(422, "outside_area", _("该位置不在服务范围内，请确认坐标。"))
    committee, town = db.session.get(Area, found.committee_id), db.session.get(Area, found.town_id)
    return jsonify(
        location={"lon": round(loc.lon, 7), "lat": round(loc.lat, 7)},
        committee={"code": committee.code, "name": committee.name, "kind": committee.kind},
        town={"code": town.code, "name": town.name},
        assignment={"method": found.method, "distance_m": round(found.distance_m, 2), "generation": found.generation},
    )
