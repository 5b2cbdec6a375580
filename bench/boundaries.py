"""Boundary generations at scale: imports and the re-assignment they cause, beside shapely STRtree bulk assignment.

Over the real towns and the shared committees with N reports (half open), in one run:
  (a) an unchanged re-import of the committee file (read + check + write + reassign),
  (b) one committee split in two (a partial import of its town),
  (c) a ~1 %-of-area edit across a town seam (towns, then committees of the two towns),
  (d) a full redraw (every committee outline changed), and `reassign --all` over every open report,
each timed end to end and for its reassign step, next to Assigner.assign_many over the same points; and the
latency of one assign_point call inside the database. Afterwards every open report's stored committee is
checked against the shapely answer for the boundaries in force.

    .venv/bin/python -m bench.boundaries --reports 1000000
"""
from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from contextlib import contextmanager

import numpy as np
from sqlalchemy import text

from bench.assign import SHARED_DATA, database_url, drop_database
from geo.assign import Assigner
from geo.boundaries import read_boundaries
from service import create_app
from service.areas import generations
from service.core import migrate
from service.core.db import db
from service.reports import reassign
from tests.support import boundary_edits as edits

MAX_M = 200.0
COMMITTEES = SHARED_DATA / "minhang_committees_wgs84.geojson"
TOWNS = SHARED_DATA / "minhang_towns_wgs84.geojson"
LOAD_SQL = """
    INSERT INTO report (id, category, risk_level, description, location, submitted_lon, submitted_lat,
                        submitted_crs, location_source, committee_id, town_id, assignment_method,
                        assignment_distance_m, assigned_generation, status)
    SELECT gen_random_uuid(), 'combustibles', 'general', '', ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), p.lon,
           p.lat, 'wgs84', 'map', a.id, a.parent_id, p.method, 0, 1, CASE WHEN p.i % 2 = 0 THEN 'accepted'
           ELSE 'verified' END
      FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[]), CAST(:codes AS text[]),
                  CAST(:methods AS text[])) WITH ORDINALITY AS p(lon, lat, code, method, i)
      JOIN area a ON a.code = p.code AND a.level = 'committee'"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000, help="reports to load, half of them open")
    parser.add_argument("--database-url", help="scratch database (its name must contain 'bench'), dropped first")
    parser.add_argument("--lookups", type=int, default=5_000, help="single-point lookups timed in the database")
    return parser.parse_args(argv)


class Timer:
    """Collects named durations; wraps the reassign step so its share of an import is known."""

    def __init__(self):
        self.rows: list[tuple[str, int, float]] = []
        self.splits: list[tuple[str, float, float]] = []  # (step, reassign seconds, rewrite seconds)
        self.step = 0.0

    @contextmanager
    def timed(self, name: str, points: int):
        start = time.perf_counter()
        yield
        self.rows.append((name, points, time.perf_counter() - start))

    def wrap_reassign(self):
        original = reassign.reassign_open_reports

        def timed(every: bool = False):
            start = time.perf_counter()
            try:
                return original(every)
            finally:
                self.step = time.perf_counter() - start
        reassign.reassign_open_reports = timed


def load_reports(app, committees, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n reports at random points inside the district (placed by the shapely rule), half open; return them."""
    truth = Assigner(committees, max_distance_m=MAX_M)
    lons, lats = np.empty(0), np.empty(0)
    seed = 0
    while len(lons) < n:
        x, y = edits.random_points(committees, n, seed=seed, margin=0.0)
        found = truth.assign_many(x, y)
        inside = np.array([a is not None and a.method == "covers" for a in found])
        lons, lats, seed = np.concatenate([lons, x[inside]]), np.concatenate([lats, y[inside]]), seed + 1
    lons, lats = lons[:n], lats[:n]
    found = truth.assign_many(lons, lats)
    with app.app_context():
        db.session.execute(text("ALTER TABLE report DISABLE TRIGGER USER"))
        for start in range(0, n, 200_000):
            part = slice(start, start + 200_000)
            db.session.execute(text(LOAD_SQL), {
                "lons": lons[part].tolist(), "lats": lats[part].tolist(),
                "codes": [a.code for a in found[part]], "methods": [a.method for a in found[part]]})
        db.session.execute(text("ALTER TABLE report ENABLE TRIGGER USER"))
        db.session.execute(text("TRUNCATE report_rollup"))
        db.session.execute(text("INSERT INTO report_rollup (committee_id, town_id, status, category, risk_level, n)"
                                " SELECT committee_id, town_id, status, category, risk_level, count(*) FROM report"
                                " GROUP BY 1, 2, 3, 4, 5"))
        db.session.commit()
    with app.app_context(), db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE report"))
    return lons, lats


# The least any re-assignment pays for the reports it moves: the same reports written once more by a bare
# UPDATE (back to their former committees, with the table's indexes, foreign keys and count triggers) and one
# event each, each report looked up by primary key. Only the writing is timed; then it is rolled back.
BACK_SQL = """
    CREATE TEMP TABLE back ON COMMIT DROP AS
    SELECT DISTINCT ON (e.report_id) e.report_id AS id, a.id AS committee_id, a.parent_id AS town_id
      FROM report_event e JOIN area a ON a.code = e.data->>'from' AND a.level = 'committee'
     WHERE e.kind = 'reassign' AND (e.data->>'generation')::int = :gen
     ORDER BY e.report_id, a.generation DESC"""
REWRITE_SQL = """
    WITH written AS (
        UPDATE report r SET committee_id = b.committee_id, town_id = b.town_id, updated_at = now()
          FROM back b WHERE r.id = b.id AND r.id = ANY(ARRAY(SELECT id FROM back))
     RETURNING r.id, r.status)
    INSERT INTO report_event (report_id, kind, from_status, to_status, actor_label, note, data)
    SELECT id, 'reassign', status, status, 'system', '', '{}'::jsonb FROM written"""


def checkpoint(app) -> None:
    """Start a timed write from a fresh checkpoint, as the next statement after one would: each page it
    touches first goes whole into the WAL (a full redraw's step is ~0.7 s slower than with those pages
    written already). Both a step and its rewrite start so, to compare alike. Needs a superuser."""
    with app.app_context(), db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CHECKPOINT"))


def rewrite_floor(app, generation: int) -> tuple[int, float]:
    """Seconds to write the reports moved at `generation` once more (see REWRITE_SQL), and how many."""
    checkpoint(app)
    with app.app_context():
        db.session.execute(text("SET LOCAL jit = off"))
        db.session.execute(text(BACK_SQL), {"gen": generation})
        db.session.execute(text("ANALYZE back"))
        start = time.perf_counter()
        n = db.session.execute(text(REWRITE_SQL)).rowcount
        seconds = time.perf_counter() - start
        db.session.rollback()
    return n, seconds


def run_import(app, timer: Timer, name: str, items, level: str, points: int, **options) -> generations.ImportResult:
    checkpoint(app)
    with app.app_context(), timer.timed(name, points):
        result = generations.run(items, level, **options)
    if level == "committee" and result.generation:
        timer.rows.append((f"  of which the reassign step ({result.moved:,} moved)", points, timer.step))
        n, seconds = rewrite_floor(app, result.generation)
        timer.rows.append((f"  writing those {n:,} again, nothing judged", points, seconds))
        timer.splits.append((name[:3], timer.step, seconds))
    return result


def lookup_latency(app, committees, k: int) -> float:
    """Mean milliseconds of one assign_point call, timed inside the database (no round trips)."""
    lons, lats = edits.random_points(committees, k, seed=99, margin=0.0)
    with app.app_context():
        db.session.execute(text("SET LOCAL jit = off"))
        start = time.perf_counter()
        db.session.execute(text(
            "SELECT count(a.committee_id) FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) p(lon, lat)"
            " LEFT JOIN LATERAL assign_point(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), :m) a ON true"),
            {"lons": lons.tolist(), "lats": lats.tolist(), "m": MAX_M})
        seconds = time.perf_counter() - start
        db.session.rollback()
    return seconds / k * 1000


def check(app, committees) -> int:
    """Open reports whose committee differs from the shapely answer over `committees` (0 when all is well)."""
    with app.app_context():
        rows = db.session.execute(text(
            "SELECT ST_X(r.location), ST_Y(r.location), a.code FROM report r JOIN area a ON a.id = r.committee_id"
            " WHERE r.status = 'accepted'")).all()
    x, y = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    found = Assigner(committees, max_distance_m=MAX_M).assign_many(x, y)
    return sum(1 for r, a in zip(rows, found, strict=True) if a is not None and a.code != r[2])


def main(argv=None) -> None:
    args = parse_args(argv)
    url = database_url(args.database_url)
    drop_database(url)
    migrate.ensure_database(url)
    migrate.upgrade(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PHOTO_DIR": tempfile.mkdtemp(), "ASSIGN_MAX_DISTANCE_M": MAX_M,
                      "SECRET_KEY": secrets.token_hex(32)})
    towns, committees = read_boundaries(TOWNS, level="town"), read_boundaries(COMMITTEES, level="committee")
    with app.app_context():
        generations.run(towns, "town")
        generations.run(committees, "committee")
    lons, lats = load_reports(app, committees, args.reports)
    n, n_open = len(lons), len(lons[::2])
    timer = Timer()
    timer.wrap_reassign()
    assigner = Assigner(committees, max_distance_m=MAX_M)
    with timer.timed("shapely STRtree assign_many, all reports", n):
        assigner.assign_many(lons, lats)
    checkpoint(app)
    with timer.timed("(a) unchanged re-import: read + diff + reassign", n_open):
        with app.app_context():
            result = generations.run(read_boundaries(COMMITTEES, level="committee"), "committee")
    assert result.generation is None and not result.moves, "an unchanged file changed something"
    split, new = edits.split(committees, max(committees, key=lambda b: b.geom.area).code)
    run_import(app, timer, "(b) split one committee (partial import of its town)",
               [b for b in split if b.parent_code == new.parent_code], "committee", n_open, towns=[new.parent_code])
    seam_towns, seam, strip = edits.seam(towns, split, share=0.01)
    pair = sorted({strip.parent_code} | {t.code for t, o in zip(seam_towns, towns, strict=True) if t.geom != o.geom})
    with app.app_context():
        generations.run([t for t in seam_towns if t.code in pair], "town", towns_in_file=True)
    run_import(app, timer, "(c) ~1 % of the area across a town seam", [c for c in seam if c.parent_code in pair],
               "committee", n_open, towns_in_file=True)
    red_towns, red = edits.redraw(towns, committees)
    with app.app_context():
        generations.run(red_towns, "town")
    run_import(app, timer, "(d) full redraw: every committee changed", red, "committee", n_open)
    checkpoint(app)
    with app.app_context(), timer.timed("(d') reassign --all: every open report re-evaluated", n_open):
        reassign.reassign_open_reports(every=True)
        db.session.commit()
    open_assigner = Assigner(red, max_distance_m=MAX_M)
    with timer.timed("shapely STRtree assign_many, open reports", n_open):
        open_assigner.assign_many(lons[::2], lats[::2])
    latency = lookup_latency(app, red, args.lookups)
    wrong = check(app, red)
    print(f"{n:,} reports ({n_open:,} open) over {len(towns)} towns, {len(committees)} committees; max {MAX_M:.0f} m")
    print(f"{'step':<62} {'points':>10} {'seconds':>9} {'points/s':>11}")
    shapely_rate = n / timer.rows[0][2]
    for name, points, seconds in timer.rows:
        rate = points / seconds if seconds else float("inf")
        print(f"{name:<62} {points:>10,} {seconds:>9.3f} {rate:>11,.0f}  {rate / shapely_rate:5.2f}x shapely")
    judged = dict((name, seconds) for name, _points, seconds in timer.rows)
    every, bare = judged["(d') reassign --all: every open report re-evaluated"], \
        judged["shapely STRtree assign_many, open reports"]
    print(f"every open report judged: {every:.3f} s, shapely on the same points {bare:.3f} s: {bare / every:.2f}x")
    for step, seconds, rewrite in timer.splits:
        print(f"{step} reassign step {seconds:.3f} s = writing the moved reports (at least {rewrite:.3f} s, as a bare"
              f" rewrite) + finding and judging the candidates (at most {seconds - rewrite:.3f} s)")
    print(f"single-point assign_point in the database: {latency:.3f} ms mean over {args.lookups:,} points")
    print(f"open reports whose committee differs from shapely after all imports: {wrong}")


if __name__ == "__main__":
    main()
