"""Named spatial queries that assign points to committees (the rule lives in SQL: assign_point)."""
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import text

from service.core.db import db
from service.core.errors import Invalid

# How a report came to its committee, as the detail page says it.
METHODS = {"covers": _l("位于该居村委辖区内"), "edge": _l("位于两个居村委的交界上，按代码较小者"),
           "nearest": _l("在所有辖区之外，归最近的居村委"), "manual": _l("由督办人员指定")}


@dataclass(frozen=True)
class Assignment:
    committee_id: int
    town_id: int
    method: str
    distance_m: float
    generation: int


def max_distance() -> float:
    return float(current_app.config["ASSIGN_MAX_DISTANCE_M"])


def assign_point(lon: float, lat: float, generation: int | None = None) -> Assignment | None:
    """Return the committee and town responsible for a WGS-84 point, or None when outside the area.

    `generation` answers for a past committee generation instead of the one in force.
    """
    row = db.session.execute(
        text("SELECT * FROM assign_point(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :maxd, :gen)"),
        {"lon": lon, "lat": lat, "maxd": max_distance(), "gen": generation},
    ).first()
    if row is not None and row.town_id is None:
        # Only possible with hand-made data: the import refuses committees whose town is unknown.
        raise Invalid("area_incomplete", _("该居村委缺少所属街镇数据，暂时无法受理，请联系管理员。"))
    return Assignment(*row) if row else None
