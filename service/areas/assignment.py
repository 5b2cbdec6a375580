"""Named spatial queries that assign points to committees (the rule lives in SQL: assign_point)."""
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
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
        raise ApiError(422, "area_incomplete", _("该居村委缺少所属街镇数据，暂时无法受理，请联系管理员。"))
    return Assignment(*row) if row else None


@dataclass(frozen=True)
class Move:
    """Open reports that a boundary change moved from one committee to another."""

    from_code: str
    from_name: str
    to_code: str
    to_name: str
    n: int
    first_event_id: int


# Which open reports can a boundary change move? A report covered before and after by the same codes
# lies outside every code's changed ground (the symmetric difference of its old and new geometry); a
# report placed by the `nearest` fallback can change when changed ground comes within the fallback
# distance. So only reports on the changed pieces (within 1e-7 degrees, ~1 cm, for points on an old edge)
# and `nearest` reports within the fallback band of them (ix_report_nearest_location) are looked at. The
# band in degrees is widened the way assign_point widens its pre-filter, from the piece's farthest latitude.
# An array, not a join: the planner cannot know how few the candidates are, and a join chose to sort every
# report (0.6 s at 10^6); = ANY(ARRAY(...)) looks each one up by primary key.
CHANGED = """
    AND r.id = ANY(ARRAY(
        WITH pending AS MATERIALIZED (
            SELECT c.geom FROM boundary_change c JOIN boundary_generation g
                ON g.level = c.level AND g.number = c.generation AND g.reassigned_at IS NULL
             WHERE c.level = 'committee')
        SELECT r.id FROM pending c CROSS JOIN LATERAL (
            SELECT id FROM report WHERE ST_DWithin(location, c.geom, 1e-7)) r
        UNION
        SELECT r.id FROM pending c CROSS JOIN LATERAL (  -- piece by piece through the small partial index
            SELECT id FROM report WHERE assignment_method = 'nearest'
               AND ST_DWithin(location, c.geom, :maxd * 1.5 / (110574.0 * cos(radians(
                              least(greatest(abs(ST_YMin(c.geom)), abs(ST_YMax(c.geom))), 80)))))
            OFFSET 0) r))"""  # OFFSET 0 keeps the subquery whole: no turning it into a scan of all nearest reports

REASSIGN = """
    WITH fresh AS (
        SELECT r.id, r.committee_id AS old_committee, a.*
          FROM report r JOIN area o ON o.id = r.committee_id
               CROSS JOIN LATERAL assign_point(r.location, :maxd) a JOIN area n ON n.id = a.committee_id
         WHERE r.status <> ALL(:closed) AND r.assignment_method <> 'manual' {changed}
           AND (o.code, r.assignment_method, r.assignment_distance_m) IS DISTINCT FROM (n.code, a.method, a.distance_m)
    ), moved AS (
        -- Re-checked on the row as it is when locked: a manual reassign committed meanwhile wins.
        UPDATE report r
           SET committee_id = f.committee_id, town_id = f.town_id, assignment_method = f.method,
               assignment_distance_m = f.distance_m, assigned_generation = f.generation, updated_at = now()
          FROM fresh f
         WHERE r.id = f.id AND r.committee_id = f.old_committee AND r.assignment_method <> 'manual'
     RETURNING r.id, r.status, f.old_committee, f.committee_id, f.generation
    ), logged AS (
        INSERT INTO report_event (report_id, kind, from_status, to_status, actor_label, note, data)
        SELECT m.id, 'reassign', m.status, m.status, 'system', '',
               jsonb_build_object('from', o.code, 'to', n.code, 'from_name', o.name, 'to_name', n.name,
                                  'reason', 'boundaries', 'generation', m.generation)
          FROM moved m JOIN area o ON o.id = m.old_committee JOIN area n ON n.id = m.committee_id
         WHERE o.code <> n.code
     RETURNING id, data
    )
    SELECT data->>'from', data->>'from_name', data->>'to', data->>'to_name', count(*), min(id)
      FROM logged GROUP BY 1, 2, 3, 4 ORDER BY 1, 3
"""


def reassign_open_reports(every: bool = False) -> list[Move]:
    """Re-assign the open reports that the committee generations not yet re-assigned can move.

    `every` re-evaluates every open report instead. Set-based: one statement finds, moves and logs
    (a `reassign` event per report whose committee changes; method/distance refinements are not
    events), then each committee that gained or lost reports gets one notification.
    """
    # PostGIS costs geography functions so high that the planner JIT-compiles this statement from about
    # 850 rows on; compiling took a third of the run in bench/assign.py. SET LOCAL ends with the transaction.
    db.session.execute(text("SET LOCAL jit = off"))
    sql = REASSIGN.format(changed="" if every else CHANGED)
    rows = db.session.execute(text(sql), {"maxd": max_distance(), "closed": sorted(CLOSED)}).all()
    db.session.execute(text("UPDATE boundary_generation SET reassigned_at = now()"
                            " WHERE level = 'committee' AND reassigned_at IS NULL"))
    moves = [Move(*row) for row in rows]
    _notify(moves)
    return moves


def _notify(moves: list[Move]) -> None:
    """One message per committee that gained or lost open reports, not one per report."""
    from service.notify import outbox

    tally: dict[str, list] = {}  # code -> [name, in, out, first event]
    for m in moves:
        for code, name, n_in, n_out in ((m.to_code, m.to_name, m.n, 0), (m.from_code, m.from_name, 0, m.n)):
            row = tally.setdefault(code, [name, 0, 0, m.first_event_id])
            row[1], row[2], row[3] = row[1] + n_in, row[2] + n_out, min(row[3], m.first_event_id)
    with force_locale("zh_CN"):  # staff read Chinese, whatever language the importing admin chose
        subject = _("边界调整：未办结隐患改派")
        for code, (name, n_in, n_out, first) in sorted(tally.items()):
            body = _("【火患随手拍】%(subject)s\n%(name)s：转入 %(n_in)s 条、转出 %(n_out)s 条未办结隐患，"
                     "请在督办工作台查看。", subject=subject, name=name, n_in=n_in, n_out=n_out)
            outbox.enqueue_worded(outbox.area_contacts([code]), subject, body, {"committee": code},
                                  event_id=first)
