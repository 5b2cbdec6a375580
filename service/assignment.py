"""Named spatial queries that assign points to committees (the rule lives in SQL: assign_point)."""
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import text

from .db import db
from .workflow import CLOSED


@dataclass(frozen=True)
class Assignment:
    committee_id: int
    town_id: int
    method: str
    distance_m: float


def max_distance() -> float:
    return float(current_app.config["ASSIGN_MAX_DISTANCE_M"])


def assign_point(lon: float, lat: float) -> Assignment | None:
    """Return the committee and town responsible for a WGS-84 point, or None when outside the area."""
    row = db.session.execute(
        text("SELECT * FROM assign_point(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :maxd)"),
        {"lon": lon, "lat": lat, "maxd": max_distance()},
    ).first()
    return Assignment(*row) if row else None


def reassign_open_reports() -> int:
    """Re-assign every open, not manually placed report to the current boundaries in one statement."""
    # PostGIS costs geography functions so high that the planner JIT-compiles this statement from about
    # 850 rows on; compiling took a third of the run in bench/assign.py. SET LOCAL ends with the transaction.
    db.session.execute(text("SET LOCAL jit = off"))
    result = db.session.execute(
        text(
            """
            UPDATE report r
               SET committee_id = a.committee_id, town_id = a.town_id,
                   assignment_method = a.method, assignment_distance_m = a.distance_m, updated_at = now()
              FROM report src CROSS JOIN LATERAL assign_point(src.location, :maxd) a
             WHERE r.id = src.id AND src.status <> ALL(:closed) AND src.assignment_method <> 'manual'
               AND (r.committee_id, r.assignment_method, r.assignment_distance_m)
                   IS DISTINCT FROM (a.committee_id, a.method, a.distance_m)
            """
        ),
        {"maxd": max_distance(), "closed": sorted(CLOSED)},
    )
    return result.rowcount
