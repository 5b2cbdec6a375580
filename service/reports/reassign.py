"""Re-assignment of open reports after a boundary import: set-based, with a `reassign` event per moved report
and one notification per committee that gained or lost reports. Subscribed to the areas' BoundariesChanged.
"""
from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import text

from service.areas import boundaries
from service.areas.assignment import max_distance
from service.core import clock, events
from service.core.db import db
from service.notify import outbox
from service.rules.workflow import CLOSED


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
PENDING = """
    SELECT c.geom FROM boundary_change c
     WHERE c.level = 'committee' AND c.generation = ANY(CAST(:pending AS integer[]))"""  # not yet re-assigned
CHANGED = f"""
    AND r.id = ANY(ARRAY(
        WITH pending AS MATERIALIZED ({PENDING})
        SELECT r.id FROM pending c CROSS JOIN LATERAL (
            SELECT id FROM report WHERE ST_DWithin(location, c.geom, 1e-7)) r
        UNION
        SELECT r.id FROM pending c CROSS JOIN LATERAL (  -- piece by piece through the small partial index
            SELECT id FROM report WHERE assignment_method = 'nearest'
               AND ST_DWithin(location, c.geom, :maxd * 1.5 / (110574.0 * cos(radians(
                              least(greatest(abs(ST_YMin(c.geom)), abs(ST_YMax(c.geom))), 80)))))
            OFFSET 0) r))"""  # OFFSET 0 keeps the subquery whole: no turning it into a scan of all nearest reports

# The bulk form of assign_point's rule (covers / edge by lowest code / nearest), for many reports at once:
# each report is hash-joined to the grid cells of its square (migration 0019) instead of calling
# assign_point once per report (~10 µs of call overhead each, 15 s for 500,000 reports). Reports no
# committee covers are few; they take assign_point itself, which looks for the nearest committee.
# tests/db/test_boundary_generations.py holds both forms to shapely's answer and to each other.
REASSIGN = """
    WITH cand AS (
        SELECT r.id, r.location, r.committee_id, o.code AS old_code, r.assignment_method, r.assignment_distance_m
          FROM report r JOIN area o ON o.id = r.committee_id
         WHERE r.status <> ALL(:closed) AND r.assignment_method <> 'manual' {changed}
    ), hit AS (  -- per report, the committees covering it: the lowest code, and whether there are two
        SELECT k.id, min(k.committee_id) AS old_committee, min(k.old_code) AS old_code,
               min(k.assignment_method) AS old_method, min(k.assignment_distance_m) AS old_distance,
               min(c.code) AS code, min(c.area_id) AS lo, max(c.area_id) AS hi, min(c.parent_id) AS town_id
          FROM cand k LEFT JOIN (
                   SELECT c.cx, c.cy, c.geom, c.area_id, a.code, a.parent_id
                     FROM area_cell c JOIN area a ON a.id = c.area_id
                    WHERE c.generation >= :gen AND c.generation_low <= :gen) c
                 ON c.cx = area_cell_x(k.location) AND c.cy = area_cell_y(k.location)
                AND (c.geom IS NULL OR ST_Covers(c.geom, k.location))
         GROUP BY k.id
    ), fresh AS (
        SELECT h.id, h.old_committee, coalesce(e.id, h.lo) AS committee_id, coalesce(e.parent_id, h.town_id) AS town_id,
               CASE WHEN h.lo <> h.hi THEN 'edge' ELSE 'covers' END AS method, 0.0::float8 AS distance_m
          FROM hit h LEFT JOIN LATERAL (  -- on a shared line: the lowest code's row (rare: a lookup)
                   SELECT a.id, a.parent_id FROM area a
                    WHERE h.lo <> h.hi AND a.code = h.code AND a.level = 'committee'
                      AND a.generation >= :gen AND a.generation_low <= :gen
                   OFFSET 0) e ON true  -- OFFSET 0: kept a per-row lookup, skipped unless h.lo <> h.hi
         WHERE h.code IS NOT NULL
           AND (h.old_code, h.old_method, h.old_distance)
               IS DISTINCT FROM (h.code, CASE WHEN h.lo <> h.hi THEN 'edge' ELSE 'covers' END, 0.0::float8)
        UNION ALL  -- covered by none (few): assign_point looks for the nearest committee
        SELECT h.id, h.old_committee, p.committee_id, p.town_id, p.method, p.distance_m
          FROM hit h JOIN report r ON r.id = h.id CROSS JOIN LATERAL assign_point(r.location, :maxd, :gen) p
               JOIN area n ON n.id = p.committee_id
         WHERE h.code IS NULL
           AND (h.old_code, h.old_method, h.old_distance) IS DISTINCT FROM (n.code, p.method, p.distance_m)
    ), moved AS (
        -- Re-checked on the row as it is when locked: a manual reassign committed meanwhile wins. Joined
        -- to fresh alone (which the planner believes small: one primary-key lookup per report); an added
        -- `r.id = ANY(ARRAY(...))` once made it loop over a materialized scan instead, quadratic in the moves.
        UPDATE report r
           SET committee_id = f.committee_id, town_id = f.town_id, assignment_method = f.method,
               assignment_distance_m = f.distance_m, assigned_generation = :gen, updated_at = :now
          FROM fresh f
         WHERE r.id = f.id AND r.committee_id = f.old_committee AND r.assignment_method <> 'manual'
           AND r.status <> ALL(:closed)  -- nor a report closed meanwhile
     RETURNING r.id, r.status, f.old_committee, f.committee_id
    ), logged AS (
        INSERT INTO report_event (report_id, kind, from_status, to_status, actor_label, note, data)
        SELECT m.id, 'reassign', m.status, m.status, 'system', '',
               jsonb_build_object('from', o.code, 'to', n.code, 'from_name', o.name, 'to_name', n.name,
                                  'reason', 'boundaries', 'generation', :gen)
          FROM moved m JOIN area o ON o.id = m.old_committee JOIN area n ON n.id = m.committee_id
         WHERE o.code <> n.code
     RETURNING id, data
    )
    SELECT data->>'from', data->>'from_name', data->>'to', data->>'to_name', count(*), min(id)
      FROM logged GROUP BY 1, 2, 3, 4 ORDER BY 1, 3
"""
# Judging every open report: first one pass keeps only the reports whose answer may differ, i.e. those that
# a committee of another code covers, that nothing covers, or that were not placed "covers" at 0 m; any
# other report is covered by its own committee's code alone, which is its answer unchanged. The pass has no
# grouping and writes nothing, so it runs as a parallel plan (a statement that updates never does); the full
# rule above then runs on the suspects only.
SUSPECTS = """
    CREATE TEMP TABLE reassign_suspect ON COMMIT DROP AS
    SELECT DISTINCT r.id FROM report r JOIN area o ON o.id = r.committee_id
      LEFT JOIN (SELECT c.cx, c.cy, c.geom, a.code FROM area_cell c JOIN area a ON a.id = c.area_id
                  WHERE c.generation >= :gen AND c.generation_low <= :gen) c
             ON c.cx = area_cell_x(r.location) AND c.cy = area_cell_y(r.location)
            AND (c.geom IS NULL OR ST_Covers(c.geom, r.location))
     WHERE r.status <> ALL(:closed) AND r.assignment_method <> 'manual'
       AND (c.code IS DISTINCT FROM o.code OR r.assignment_method <> 'covers' OR r.assignment_distance_m <> 0)"""
SUSPECTED = "AND r.id = ANY(ARRAY(SELECT id FROM reassign_suspect))"

# Looking piece by piece costs ~40 µs a piece of changed ground; the parallel pass over every open report
# ~1.1 µs a report (2 workers; bench/boundaries.py). When the pieces would cost more (a redraw of most of
# the district), judge every open report.
PIECE_COST_IN_REPORTS = 35


def _judge_every(params: dict) -> bool:
    pieces, open_reports = db.session.execute(text(f"""
        SELECT (SELECT count(*) FROM ({PENDING}) p),
               (SELECT coalesce(sum(n), 0) FROM report_rollup WHERE status <> ALL(:closed))"""), params).one()
    return pieces * PIECE_COST_IN_REPORTS > open_reports


def reassign_open_reports(every: bool = False) -> list[Move]:
    """Re-assign the open reports that the committee generations not yet re-assigned can move.

    `every` re-evaluates every open report instead (chosen also when that is cheaper; a parallel pass first
    keeps the suspects). Set-based: one statement finds, moves and logs (a `reassign` event per report whose
    committee changes; method/distance refinements are not events), then each committee that gained or lost
    reports gets one notification.
    """
    # PostGIS costs geography functions so high that the planner JIT-compiles this statement from about
    # 850 rows on; compiling took a third of the run in bench/assign.py. SET LOCAL ends with the transaction.
    db.session.execute(text("SET LOCAL jit = off"))
    # Reports meet their cells in a hash join: the planner, not knowing how many candidates come, would
    # otherwise sort both sides for a merge join (0.7 s more at 500,000). Both settings end with this statement.
    db.session.execute(text("SET LOCAL work_mem = '256MB'"))  # 500,000 reports hashed and grouped in memory
    db.session.execute(text("SET LOCAL enable_mergejoin = off"))
    pending = db.session.scalars(text("SELECT number FROM boundary_generation"
                                      " WHERE level = 'committee' AND reassigned_at IS NULL")).all()
    params = {"maxd": max_distance(), "closed": sorted(CLOSED), "gen": boundaries.current_generation("committee"),
              "pending": pending, "now": clock.now()}  # the committee generations not yet re-assigned
    every = every or _judge_every(params)
    if every:
        db.session.execute(text(SUSPECTS), params)
    rows = db.session.execute(text(REASSIGN.format(changed=SUSPECTED if every else CHANGED)), params).all()
    if every:
        db.session.execute(text("DROP TABLE reassign_suspect"))
    db.session.execute(text("RESET work_mem; RESET enable_mergejoin"))
    db.session.execute(text("UPDATE boundary_generation SET reassigned_at = :now"
                            " WHERE level = 'committee' AND number = ANY(CAST(:pending AS integer[]))"), params)
    moves = [Move(*row) for row in rows]
    _notify(moves)
    return moves


def reassign_now(every: bool = False) -> list[Move]:
    """reassign_open_reports in a transaction of its own, committed (`hazard-snap reassign`)."""
    moves = reassign_open_reports(every)
    db.session.commit()
    return moves


def boundaries_changed(e: events.BoundariesChanged) -> list[Move]:
    """Re-assign the open reports on the ground an import changed, in the import's transaction."""
    return reassign_open_reports()


def _notify(moves: list[Move]) -> None:
    """One message per committee that gained or lost open reports, not one per report."""
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
