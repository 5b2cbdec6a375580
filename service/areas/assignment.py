"""Named spatial queries that assign points to committees (the rule lives in SQL: assign_point)."""
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import text

from service.db import db
from service.errors import ApiError
from service.reports.workflow import CLOSED


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
    if row is not None and row.town_id is None:
        # Only possible with hand-made data: the import refuses committees whose town is unknown.
        raise ApiError(422, "area_incomplete", _("该居村委缺少所属街镇数据，暂时无法受理，请联系管理员。"))
    return Assignment(*row) if row else None


def reassign_open_reports() -> int:
    """Re-assign every open, not manually placed report to the current boundaries in one statement.

    A report that lands in another committee gets a `reassign` event in the same statement, so the
    history shows why its committee changed; method/distance refinements are not events.
    """
    # PostGIS costs geography functions so high that the planner JIT-compiles this statement from about
    # 850 rows on; compiling took a third of the run in bench/assign.py. SET LOCAL ends with the transaction.
    db.session.execute(text("SET LOCAL jit = off"))
    result = db.session.execute(
        text(
            """
            WITH fresh AS (
                SELECT src.id, src.committee_id AS old_committee, a.*
                  FROM report src CROSS JOIN LATERAL assign_point(src.location, :maxd) a
                 WHERE src.status <> ALL(:closed) AND src.assignment_method <> 'manual'
                   AND (src.committee_id, src.assignment_method, src.assignment_distance_m)
                       IS DISTINCT FROM (a.committee_id, a.method, a.distance_m)
            ), moved AS (
                UPDATE report r
                   SET committee_id = f.committee_id, town_id = f.town_id, assignment_method = f.method,
                       assignment_distance_m = f.distance_m, updated_at = now()
                  FROM fresh f
                 WHERE r.id = f.id
             RETURNING r.id, r.status, f.old_committee, f.committee_id
            ), logged AS (
                INSERT INTO report_event (report_id, kind, from_status, to_status, actor_label, note, data)
                SELECT m.id, 'reassign', m.status, m.status, 'system', '',
                       jsonb_build_object('from', o.code, 'to', n.code, 'from_name', o.name, 'to_name', n.name,
                                          'reason', 'boundaries')
                  FROM moved m JOIN area o ON o.id = m.old_committee JOIN area n ON n.id = m.committee_id
                 WHERE m.old_committee <> m.committee_id
            )
            SELECT count(*) FROM moved
            """
        ),
        {"maxd": max_distance(), "closed": sorted(CLOSED)},
    )
    return result.scalar()
