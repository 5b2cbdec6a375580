"""Benchmark point-to-committee assignment: service lookups, bulk SQL, shapely STRtree and a naive loop.

All methods assign the same seeded points and must agree with the STRtree ground truth on (code, method).
"""
import argparse
import os
import platform
import re
import secrets
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
from service import create_app
from service.areas import assignment, generations
from service.core import migrate
from service.core.db import db
from service.reports import reassign

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BENCH_DB = "hazard_snap_bench"
PRIVATE_URL = f"postgresql+psycopg://postgres@127.0.0.1:5439/{BENCH_DB}"
MAX_M = 200.0
WRONG_M = -1.0  # assignment_distance_m of the deliberately wrong assignment; no real distance is negative
UNCOVERED = ("-", "uncovered")  # what the covers-only naive loop reports for a point outside every polygon
TRUTH = "shapely STRtree Assigner.assign_many"
POINTS_SQL = "unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) WITH ORDINALITY AS p(lon, lat, i)"
SELECT_SQL = f"""SELECT p.i, a.committee_id, a.method FROM {POINTS_SQL}
CROSS JOIN LATERAL assign_point(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), :maxd) a"""
INSERT_SQL = f"""INSERT INTO report (id, client_report_id, category, risk_level, description, location, submitted_lon,
 submitted_lat, submitted_crs, location_source, committee_id, town_id, assignment_method, assignment_distance_m, status)
SELECT gen_random_uuid(), p.i::text, 'combustibles', 'general', 'bench', ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326),
  p.lon, p.lat, 'wgs84', 'map', :cid, :tid, 'covers', :wrong, 'submitted' FROM {POINTS_SQL}"""
# One committee, 'covers', distance -1: every report that has an assignment really gets rewritten.
MAKE_WRONG_SQL = "UPDATE report SET committee_id=:cid, town_id=:tid, assignment_method='covers', " \
                 "assignment_distance_m=:wrong"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="scratch database, dropped and recreated (its name must contain "
                        "'bench'); default $BENCH_DATABASE_URL, else $DATABASE_URL with the database renamed "
                        f"to {BENCH_DB}, else {PRIVATE_URL}")
    for flag, default, what in (("--points", 20_000, "random points"), ("--seed", 20261128, "random seed"),
                                ("--per-point", 2_000, "points for the service's per-point lookup"),
                                ("--naive", 2_000, "points for the naive loop"),
                                ("--repeat", 3, "timed runs after one warm-up, best reported")):
        parser.add_argument(flag, type=int, default=default, help=f"{what} (default %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args(argv)
    if min(args.points, args.per_point, args.naive, args.repeat) < 1:
        parser.error("--points, --per-point, --naive and --repeat must be positive")
    return args


def database_url(explicit: str | None) -> str:
    if explicit or os.environ.get("BENCH_DATABASE_URL"):
        return explicit or os.environ["BENCH_DATABASE_URL"]
    base = os.environ.get("DATABASE_OWNER_URL") or os.environ.get("DATABASE_URL")  # creating a DB needs the owner
    if base:
        return make_url(base).set(database=BENCH_DB).render_as_string(hide_password=False)
    return PRIVATE_URL


def load_boundaries() -> tuple[list, list, str]:
    """Return towns, committees and where they came from: the shared Minhang data, else the demo district."""
    files = {level: SHARED_DATA / f"minhang_{level}s_wgs84.geojson" for level in ("town", "committee")}
    if all(f.is_file() for f in files.values()):
        towns, committees = (read_boundaries(f, level=level) for level, f in files.items())
        return towns, committees, f"shared data in {SHARED_DATA}"
    demo = demo_district()
    source = f"the DEMO district geo.demo.demo_district(), because {SHARED_DATA} is missing"
    return [b for b in demo if b.level == "town"], [b for b in demo if b.level == "committee"], source


def drop_database(url: str) -> None:
    name = make_url(url).database
    if not name or "bench" not in name:
        raise SystemExit(f"refusing to drop database {name!r}: its name lacks 'bench'")
    engine = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def build_app(url: str, photo_dir: str, towns: list, committees: list):
    """Recreate and migrate the bench database, import towns then committees, ANALYZE; return the app."""
    drop_database(url)
    migrate.ensure_database(url)
    migrate.upgrade(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PHOTO_DIR": photo_dir, "ASSIGN_MAX_DISTANCE_M": MAX_M,
                      "SECRET_KEY": secrets.token_hex(32)})  # never serves: any real key will do
    with app.app_context():
        for level, items in (("town", towns), ("committee", committees)):
            generations.run(items, level)
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return app


def make_points(committees: list, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded points: 85 % inside some committee, 14 % uniform over the bounding box widened by ~400 m (most of
    those outside), 1 % on polygon vertices (shared edges); shuffled."""
    rng = np.random.default_rng(seed)
    bounds = np.array([b.geom.bounds for b in committees])
    low, high = bounds[:, :2].min(axis=0) - 0.004, bounds[:, 2:].max(axis=0) + 0.004
    tree = shapely.STRtree([b.geom for b in committees])
    n_vertex, n_inside = n // 100, n * 85 // 100
    inside = np.empty((0, 2))
    while len(inside) < n_inside:
        box = rng.uniform(low, high, size=(2 * n, 2))
        inside = np.concatenate([inside, box[np.unique(tree.query(shapely.points(box), predicate="intersects")[0])]])
    rings = [shapely.get_coordinates(committees[i].geom) for i in rng.integers(len(committees), size=n_vertex)]
    picked = np.array([ring[rng.integers(len(ring))] for ring in rings]).reshape(-1, 2)
    points = np.concatenate([inside[:n_inside], rng.uniform(low, high, size=(n - n_inside - n_vertex, 2)), picked])
    return tuple(np.ascontiguousarray(points[rng.permutation(n)].T))


def best_of(run, repeat: int, prepare=lambda: None) -> tuple[float, object]:
    """Warm up once, then time `repeat` runs (prepare() before each, untimed); return best seconds, last result."""
    prepare()
    result, best = run(), float("inf")
    for _ in range(repeat):
        prepare()
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def service_per_point(codes: dict, lons: np.ndarray, lats: np.ndarray, repeat: int) -> tuple[float, list]:
    """service.assignment.assign_point once per point: one SELECT round trip each."""
    def run() -> list:
        found = [assignment.assign_point(lon, lat) for lon, lat in zip(lons.tolist(), lats.tolist(), strict=True)]
        db.session.rollback()
        return [(codes[f.committee_id], f.method) if f else None for f in found]

    return best_of(run, repeat)


def sql_select(codes: dict, lons: np.ndarray, lats: np.ndarray, repeat: int, jit: bool) -> tuple[float, list]:
    """One SELECT over unnest(lons, lats) CROSS JOIN LATERAL assign_point(...), rows fetched to Python."""
    params = {"lons": lons.tolist(), "lats": lats.tolist(), "maxd": MAX_M}

    def run() -> list:
        out: list = [None] * len(lons)
        if not jit:
            db.session.execute(text("SET LOCAL jit = off"))
        for i, committee_id, method in db.session.execute(text(SELECT_SQL), params):
            out[i - 1] = (codes[committee_id], method)
        db.session.rollback()
        return out

    return best_of(run, repeat)


def sql_reassign(codes: dict, wrong: dict, n: int, repeat: int, jit: bool) -> tuple[float, list, int]:
    """Time reassign_open_reports() + commit; before each run, MAKE_WRONG_SQL and VACUUM ANALYZE (untimed)."""
    def prepare() -> None:
        db.session.execute(text(MAKE_WRONG_SQL), wrong)
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE report"))

    def run() -> int:
        if not jit:
            db.session.execute(text("SET LOCAL jit = off"))
        moved = sum(m.n for m in reassign.reassign_open_reports(every=True))
        db.session.commit()
        return moved

    seconds, rewritten = best_of(run, repeat, prepare)
    out: list = [None] * n
    for i, committee_id, method, dist in db.session.execute(text(
            "SELECT client_report_id::int, committee_id, assignment_method, assignment_distance_m FROM report")):
        out[i - 1] = None if dist == WRONG_M else (codes[committee_id], method)
    db.session.rollback()
    return seconds, out, rewritten


def strtree(committees: list, lons: np.ndarray, lats: np.ndarray, repeat: int) -> tuple[float, list]:
    """Assigner.assign_many: one vectorised STRtree query for all points (the tree is built once, untimed)."""
    assigner = Assigner(committees, max_distance_m=MAX_M)
    return best_of(lambda: [(a.code, a.method) if a else None for a in assigner.assign_many(lons, lats)], repeat)


def naive_loop(committees: list, lons: np.ndarray, lats: np.ndarray, repeat: int) -> tuple[float, list]:
    """For each point, Polygon.covers(Point) on every committee in code order: no index, no prepared geometry."""
    # Fresh copies: Assigner prepares the geometry objects it is given, in place.
    polygons = [(b.code, shapely.from_wkb(shapely.to_wkb(b.geom))) for b in sorted(committees, key=lambda b: b.code)]
    assert not any(shapely.is_prepared(g) for _, g in polygons)

    def run() -> list:
        out = []
        for point in map(Point, lons.tolist(), lats.tolist()):
            hits = [code for code, geom in polygons if geom.covers(point)]
            out.append((hits[0], "covers" if len(hits) == 1 else "edge") if hits else UNCOVERED)
        return out

    return best_of(run, repeat)


def measure(app, committees: list, lons: np.ndarray, lats: np.ndarray, args) -> tuple[list, dict]:
    """Run every method; return table rows (name, points, seconds; per-point first, naive last) and keys by name."""
    k, m, n, r = min(args.per_point, len(lons)), min(args.naive, len(lons)), len(lons), args.repeat
    with app.app_context():
        codes = dict(db.session.execute(text("SELECT id, code FROM area WHERE level = 'committee'")).all())
        timed = {"service assign_point, one per point": (k, service_per_point(codes, lons[:k], lats[:k], r))}
        # One open report per point (client_report_id = 1-based index), all wrongly assigned (see MAKE_WRONG_SQL).
        cid, tid = db.session.execute(text(
            "SELECT id, parent_id FROM area WHERE level = 'committee' ORDER BY code LIMIT 1")).one()
        wrong = {"cid": cid, "tid": tid, "wrong": WRONG_M}
        db.session.execute(text(INSERT_SQL), {"lons": lons.tolist(), "lats": lats.tolist(), **wrong})
        for jit in (True, False):
            suffix = "" if jit else ", SET LOCAL jit=off"
            seconds, keys, rewritten = sql_reassign(codes, wrong, n, r, jit)
            timed["SQL reassign_open_reports()+commit" + suffix] = (n, (seconds, keys))
            timed["SQL SELECT unnest x assign_point" + suffix] = (n, sql_select(codes, lons, lats, r, jit))
    timed[TRUTH] = (n, strtree(committees, lons, lats, r))
    timed[f"naive loop: covers() on {len(committees)} polygons"] = (m, naive_loop(committees, lons[:m], lats[:m], r))
    print(f"reassign_open_reports(every=True) moved {rewritten:,} of {n:,} reports per run (the rest lie over"
          f" {MAX_M:.0f} m from every committee and keep the wrong assignment)")
    return [(name, points, run[0]) for name, (points, run) in timed.items()], {n: v[1][1] for n, v in timed.items()}


def verify(results: dict) -> bool:
    """Compare each method's keys with the ground truth on the points it assigned (a prefix of all points)."""
    methods = Counter(t[1] if t else "none" for t in results[TRUTH])
    print("ground truth (STRtree): " + ", ".join(f"{m} {c:,}" for m, c in sorted(methods.items())))
    problems = []
    for name, got in results.items():
        covers_only = name.startswith("naive")  # it reports UNCOVERED for 'nearest' and unassigned points
        truth = [UNCOVERED if covers_only and (t is None or t[1] == "nearest") else t for t in results[TRUTH]]
        pairs = enumerate(zip(got, truth[:len(got)], strict=True))
        found = [f"{name}: point {i}: got {a}, expected {b}" for i, (a, b) in pairs if a != b]
        print(f"  agree with STRtree: {len(got) - len(found):>6,} / {len(got):<6,} {name}")
        problems += found
    for line in problems[:10]:
        print("  DISAGREE", line)
    return not problems


def print_table(rows: list[tuple[str, int, float]]) -> None:
    rates = [points / seconds for _, points, seconds in rows]
    per_point, naive = rates[0], rates[-1]
    lines = [("method", "points", "seconds", "points/s", "vs naive", "vs per-point")]
    lines += [(name, f"{points:,}", f"{seconds:.4f}", f"{rate:,.0f}", f"{rate / naive:,.2f}x",
               f"{rate / per_point:,.2f}x") for (name, points, seconds), rate in zip(rows, rates, strict=True)]
    widths = [max(len(line[c]) for line in lines) for c in range(len(lines[0]))]
    lines.insert(1, tuple("-" * w for w in widths))
    for line in lines:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))))


def machine_facts(app) -> list[str]:
    with app.app_context():
        pg, postgis, jit = db.session.execute(text(
            "SELECT version(), postgis_full_version(), current_setting('jit')")).one()
    parts = dict(re.findall(r'(POSTGIS|GEOS|PROJ)="([^" ]+)', postgis))
    cpu = re.search(r"^model name\s*: (.*)$", Path("/proc/cpuinfo").read_text(), re.M)
    return [f"nproc: {len(os.sched_getaffinity(0))}, CPU: {cpu.group(1) if cpu else platform.processor()}",
            f"{' '.join(pg.split()[:2])}, PostGIS {parts.get('POSTGIS')} (GEOS {parts.get('GEOS')}, "
            f"PROJ {parts.get('PROJ')}), server default jit={jit}",
            f"Python {platform.python_version()}, shapely {shapely.__version__} (GEOS {shapely.geos_version_string})"]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = database_url(args.database_url)
    towns, committees, source = load_boundaries()
    lons, lats = make_points(committees, args.points, args.seed)
    print(f"boundaries: {len(towns)} towns, {len(committees)} committees from {source}")
    print(f"database: {make_url(url).render_as_string(hide_password=True)} (recreated)")
    with tempfile.TemporaryDirectory(prefix="bench-photos-") as photos:
        app = build_app(url, photos, towns, committees)
        try:
            rows, results = measure(app, committees, lons, lats, args)
            agree = verify(results)
            print(f"\nbest of {args.repeat} timed runs after one warm-up (time.perf_counter), max distance "
                  f"{MAX_M:.0f} m; each reassign run starts from wrong assignments after VACUUM ANALYZE (untimed)")
            print_table(rows)
            print("\n" + "\n".join(machine_facts(app)))
        finally:
            with app.app_context():
                db.engine.dispose()
            if not args.keep:
                drop_database(url)
    print(f"bench database {'kept' if args.keep else 'dropped'}; agreement {'OK' if agree else 'FAILED'}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
