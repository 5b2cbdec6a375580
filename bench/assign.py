"""Benchmark point-to-committee assignment: service lookups, bulk SQL, shapely STRtree and a naive loop.

Every method assigns the same seeded random points (over the committees' bounding box plus a margin, with 1 %
placed on polygon vertices so the 'edge' branch is exercised) and must agree on committee code and method.
Each measurement is warmed up once, then repeated; the best time is reported. Run `--help` for options.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import Point
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from geo.assign import Assigner
from geo.boundaries import read_boundaries
from geo.demo import demo_district
from service import areas, assignment, create_app, migrate
from service.db import db

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BENCH_DB = "hazard_snap_bench"
PRIVATE_URL = f"postgresql+psycopg://postgres@127.0.0.1:5439/{BENCH_DB}"
MAX_M = 200.0
WRONG_M = -1.0  # assignment_distance_m of the deliberately wrong assignment; no real distance is negative
UNCOVERED = ("-", "uncovered")  # what the covers-only naive loop reports for a point outside every polygon
POINTS_SQL = "unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) WITH ORDINALITY AS p(lon, lat, i)"
SELECT_SQL = f"""
SELECT p.i, a.committee_id, a.method FROM {POINTS_SQL}
CROSS JOIN LATERAL assign_point(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), :maxd) a"""
INSERT_SQL = f"""
INSERT INTO report (id, client_report_id, category, risk_level, description, location, submitted_lon,
                    submitted_lat, submitted_crs, location_source, committee_id, town_id, assignment_method,
                    assignment_distance_m, status)
SELECT gen_random_uuid(), p.i::text, 'combustibles', 'general', 'bench', ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326),
       p.lon, p.lat, 'wgs84', 'map', :cid, :tid, 'covers', :wrong, 'submitted'
FROM {POINTS_SQL}"""
MAKE_WRONG_SQL = """
UPDATE report SET committee_id = :cid, town_id = :tid, assignment_method = 'covers', assignment_distance_m = :wrong"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="scratch database, dropped and recreated (its name must contain "
                        "'bench'); default $BENCH_DATABASE_URL, else $DATABASE_URL with the database renamed "
                        f"to {BENCH_DB}, else {PRIVATE_URL}")
    parser.add_argument("--points", type=int, default=20_000, help="random points (default %(default)s)")
    parser.add_argument("--per-point", type=int, default=2_000,
                        help="points for the service's per-point lookup (default %(default)s)")
    parser.add_argument("--naive", type=int, default=500, help="points for the naive loop (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs after one warm-up; best is reported "
                        "(default %(default)s)")
    parser.add_argument("--seed", type=int, default=20261128, help="random seed (default %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args(argv)
    if min(args.points, args.per_point, args.naive, args.repeat) < 1:
        parser.error("--points, --per-point, --naive and --repeat must be positive")
    return args


def database_url(explicit: str | None) -> str:
    if explicit or os.environ.get("BENCH_DATABASE_URL"):
        return explicit or os.environ["BENCH_DATABASE_URL"]
    if os.environ.get("DATABASE_URL"):
        return make_url(os.environ["DATABASE_URL"]).set(database=BENCH_DB).render_as_string(hide_password=False)
    return PRIVATE_URL


def load_boundaries() -> tuple[list, list, str]:
    """Return towns, committees and a description of where they came from."""
    towns_file = SHARED_DATA / "minhang_towns_wgs84.geojson"
    committees_file = SHARED_DATA / "minhang_committees_wgs84.geojson"
    if towns_file.is_file() and committees_file.is_file():
        towns = read_boundaries(towns_file, level="town")
        return towns, read_boundaries(committees_file, level="committee"), f"shared data in {SHARED_DATA}"
    demo = demo_district()
    source = f"demo district geo.demo.demo_district() (shared data missing: {SHARED_DATA})"
    return [b for b in demo if b.level == "town"], [b for b in demo if b.level == "committee"], source


def admin(url: str, *statements: str) -> None:
    """Run statements on the server's maintenance database, outside a transaction."""
    engine = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def drop_database(url: str) -> None:
    name = make_url(url).database
    if not name or "bench" not in name:
        raise SystemExit(f"refusing to drop database {name!r}: its name lacks 'bench'")
    admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build_app(url: str, photo_dir: str, towns: list, committees: list):
    """Recreate and migrate the bench database, import towns then committees, ANALYZE; return the app."""
    drop_database(url)
    migrate.ensure_database(url)
    migrate.upgrade(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PHOTO_DIR": photo_dir, "ASSIGN_MAX_DISTANCE_M": MAX_M})
    with app.app_context():
        for level, boundaries in (("town", towns), ("committee", committees)):
            areas.import_boundaries(boundaries, level)
            areas.commit_import()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return app


def make_points(committees: list, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points over the bounding box widened by ~400 m, 1 % on polygon vertices, shuffled."""
    rng = np.random.default_rng(seed)
    bounds = np.array([b.geom.bounds for b in committees])
    (minx, miny), (maxx, maxy) = bounds[:, :2].min(axis=0) - 0.004, bounds[:, 2:].max(axis=0) + 0.004
    n_vertex = n // 100
    lons = rng.uniform(minx, maxx, n - n_vertex)
    lats = rng.uniform(miny, maxy, n - n_vertex)
    vertices = [shapely.get_coordinates(committees[i].geom) for i in rng.integers(len(committees), size=n_vertex)]
    picked = np.array([v[rng.integers(len(v))] for v in vertices]).reshape(-1, 2)
    order = rng.permutation(n)
    return np.concatenate([lons, picked[:, 0]])[order], np.concatenate([lats, picked[:, 1]])[order]


def best_of(run, repeat: int, prepare=lambda: None) -> tuple[float, object]:
    """Warm up once, then time `repeat` runs (prepare() before each, untimed); return best seconds, last result."""
    prepare()
    result = run()
    best = float("inf")
    for _ in range(repeat):
        prepare()
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def key(found) -> tuple[str, str] | None:
    return (found.code, found.method) if found else None


def committee_codes() -> dict[int, str]:
    return dict(db.session.execute(text("SELECT id, code FROM area WHERE level = 'committee'")).all())


def service_per_point(app, lons: np.ndarray, lats: np.ndarray, repeat: int) -> tuple[float, list]:
    """service.assignment.assign_point once per point: one SELECT round trip each."""
    with app.app_context():
        codes = committee_codes()

        def run() -> list:
            out = []
            for lon, lat in zip(lons.tolist(), lats.tolist(), strict=True):
                found = assignment.assign_point(lon, lat)
                out.append((codes[found.committee_id], found.method) if found else None)
            db.session.rollback()
            return out

        return best_of(run, repeat)


def sql_select(app, lons: np.ndarray, lats: np.ndarray, repeat: int) -> tuple[float, list]:
    """One SELECT over unnest(lons, lats) CROSS JOIN LATERAL assign_point(...), rows fetched to Python."""
    with app.app_context():
        codes = committee_codes()
        params = {"lons": lons.tolist(), "lats": lats.tolist(), "maxd": MAX_M}

        def run() -> list:
            out: list = [None] * len(lons)
            for i, committee_id, method in db.session.execute(text(SELECT_SQL), params):
                out[i - 1] = (codes[committee_id], method)
            db.session.rollback()
            return out

        return best_of(run, repeat)


def sql_reassign(app, lons: np.ndarray, lats: np.ndarray, repeat: int) -> tuple[float, list, int]:
    """Insert a report per point, then time reassign_open_reports() + commit after making every row wrong."""
    with app.app_context():
        codes = committee_codes()
        cid, tid = db.session.execute(text(
            "SELECT id, parent_id FROM area WHERE level = 'committee' ORDER BY code LIMIT 1")).one()
        wrong = {"cid": cid, "tid": tid, "wrong": WRONG_M}
        db.session.execute(text(INSERT_SQL), {"lons": lons.tolist(), "lats": lats.tolist(), **wrong})
        db.session.commit()

        def prepare() -> None:
            db.session.execute(text(MAKE_WRONG_SQL), wrong)
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE report"))

        def run() -> int:
            rows = assignment.reassign_open_reports()
            db.session.commit()
            return rows

        seconds, rewritten = best_of(run, repeat, prepare)
        out: list = [None] * len(lons)
        for i, committee_id, method, dist in db.session.execute(text(
                "SELECT client_report_id::int, committee_id, assignment_method, assignment_distance_m FROM report")):
            out[i - 1] = None if dist == WRONG_M else (codes[committee_id], method)
        db.session.rollback()
        return seconds, out, rewritten


def naive_loop(committees: list, lons: np.ndarray, lats: np.ndarray, repeat: int) -> tuple[float, list]:
    """For each point, Polygon.covers(Point) on every committee: no index, no prepared geometry."""
    # Fresh copies: Assigner prepares the geometry objects it is given, in place.
    polygons = [(b.code, shapely.from_wkb(shapely.to_wkb(b.geom))) for b in sorted(committees, key=lambda b: b.code)]
    assert not any(shapely.is_prepared(g) for _, g in polygons)

    def run() -> list:
        out = []
        for lon, lat in zip(lons.tolist(), lats.tolist(), strict=True):
            point = Point(lon, lat)
            hits = [code for code, geom in polygons if geom.covers(point)]
            out.append((hits[0], "covers" if len(hits) == 1 else "edge") if hits else UNCOVERED)
        return out

    return best_of(run, repeat)


def disagreements(name: str, got: list, truth: list, covers_only: bool = False) -> list[str]:
    """Compare a method's keys with the STRtree ground truth on the points it assigned."""
    problems = []
    for i, (mine, expected) in enumerate(zip(got, truth, strict=False)):
        if covers_only and (expected is None or expected[1] == "nearest"):
            expected = UNCOVERED
        if mine != expected:
            problems.append(f"{name}: point {i}: got {mine}, expected {expected}")
    return problems


def machine_facts(app) -> list[str]:
    with app.app_context():
        pg, postgis, jit = db.session.execute(text("SELECT version(), postgis_full_version(), current_setting('jit')"))\
            .one()
    pg_short = re.match(r"PostgreSQL [^ ]+", pg)
    parts = dict(re.findall(r'(POSTGIS|GEOS|PROJ)="([^" ]+)', postgis))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else "?"
    return [
        f"nproc: {len(os.sched_getaffinity(0))} (cpu_count {os.cpu_count()}), CPU: {cpu}",
        f"{pg_short.group(0) if pg_short else pg}, PostGIS {parts.get('POSTGIS', '?')} (GEOS {parts.get('GEOS', '?')},"
        f" PROJ {parts.get('PROJ', '?')}), jit={jit}",
        f"Python {platform.python_version()}, shapely {shapely.__version__} (GEOS {shapely.geos_version_string}),"
        f" numpy {np.__version__}",
    ]


def print_table(rows: list[tuple[str, int, float]]) -> None:
    rates = {name: points / seconds for name, points, seconds in rows}
    naive, per_point = rates["naive Python loop (covers)"], rates["service assign_point per point"]
    header = ("method", "points", "seconds", "points/s", "vs naive", "vs per-point")
    lines = [header] + [(name, f"{points:,}", f"{seconds:.4f}", f"{rates[name]:,.0f}",
                         f"{rates[name] / naive:,.1f}x", f"{rates[name] / per_point:,.1f}x")
                        for name, points, seconds in rows]
    widths = [max(len(line[c]) for line in lines) for c in range(len(header))]
    for n, line in enumerate(lines):
        print("  ".join(cell.ljust(w) if c == 0 else cell.rjust(w) for c, (cell, w) in enumerate(zip(line, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def measure(app, committees: list, lons: np.ndarray, lats: np.ndarray, args) -> tuple[list, dict]:
    """Run every method; return table rows and each method's keys (STRtree first, the ground truth)."""
    assigner = Assigner(committees, max_distance_m=MAX_M)
    tree_s, tree = best_of(lambda: [key(a) for a in assigner.assign_many(lons, lats)], args.repeat)
    k, m = min(args.per_point, len(lons)), min(args.naive, len(lons))
    service_s, service = service_per_point(app, lons[:k], lats[:k], args.repeat)
    select_s, select = sql_select(app, lons, lats, args.repeat)
    reassign_s, reassign, rewritten = sql_reassign(app, lons, lats, args.repeat)
    naive_s, naive = naive_loop(committees, lons[:m], lats[:m], args.repeat)
    print(f"reassign_open_reports() rewrote {rewritten:,} of {len(lons):,} reports per run"
          f" (the rest lie over {MAX_M:.0f} m from every committee and keep the wrong assignment)")
    rows = [
        ("service assign_point per point", k, service_s),
        ("SQL reassign_open_reports + commit", len(lons), reassign_s),
        ("SQL SELECT unnest x assign_point", len(lons), select_s),
        ("shapely STRtree Assigner.assign_many", len(lons), tree_s),
        ("naive Python loop (covers)", m, naive_s),
    ]
    return rows, {"strtree": tree, "service": service, "select": select, "reassign": reassign, "naive": naive}


def verify(results: dict) -> bool:
    truth = results["strtree"]
    problems = []
    for name in ("service", "select", "reassign", "naive"):
        found = disagreements(name, results[name], truth, covers_only=name == "naive")
        print(f"agreement {name:>8} vs STRtree: {len(results[name]) - len(found):,} / {len(results[name]):,}")
        problems += found
    for line in problems[:10]:
        print("  DISAGREE", line)
    return not problems


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = database_url(args.database_url)
    towns, committees, source = load_boundaries()
    lons, lats = make_points(committees, args.points, args.seed)
    print(f"boundaries: {len(towns)} towns, {len(committees)} committees from {source}")
    print(f"database: {make_url(url).render_as_string(hide_password=True)}")
    with tempfile.TemporaryDirectory(prefix="bench-photos-") as photos:
        app = build_app(url, photos, towns, committees)
        try:
            rows, results = measure(app, committees, lons, lats, args)
            methods = Counter(r[1] if r else "none" for r in results["strtree"])
            print("ground truth (STRtree): " + ", ".join(f"{m} {n:,}" for m, n in sorted(methods.items())))
            agree = verify(results)
            print(f"\ntimes: best of {args.repeat} after one warm-up (time.perf_counter), max distance {MAX_M:.0f} m")
            print_table(rows)
            print()
            print("\n".join(machine_facts(app)))
        finally:
            with app.app_context():
                db.engine.dispose()
            if not args.keep:
                drop_database(url)
    print(f"bench database {'kept' if args.keep else 'dropped'}; agreement {'OK' if agree else 'FAILED'}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
