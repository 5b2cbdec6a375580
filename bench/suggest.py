"""Benchmark the dispatch screen's suggestion query (service/orders/suggest.py) at 38,000 volunteers.

Scratch DB with the shared Minhang towns and committees (skipped, saying why, when /work/shared/data is absent);
38,000 volunteers on random committees with random skills (5 % inactive); 4,000 accepted orders holding some of
them busy, half overlapping the window asked about. For each of --queries orders at random points inside the
district it times, side by side: the SQL suggestion (nearest home committee by KNN on idx_area_geom, the
skill, free in the window) and a naive baseline that fetches every volunteer with a busy flag and ranks them in
Python (shapely distance to each committee polygon in a local metric frame). Prints p50/p95 of each (wall time
through the service function, and the server-side execution time of the same statement), the ratio, and how often
both agree on the first 20.

    .venv/bin/python -m bench.suggest [--queries 200] [--naive 30] [--plan]
"""
import argparse
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

import shapely
from shapely.affinity import scale
from shapely.geometry import Point
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from bench.assign import SHARED_DATA, build_app, database_url, drop_database, load_boundaries, make_points
from bench.roster import SKILLS
from service.core.db import db
from service.core.models import User
from service.orders.models import ServiceOrder
from service.orders.suggest import SUGGESTIONS, order_params, query, suggest

BENCH_DB = "hazard_snap_bench_orders"
WINDOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai

SEED_SQL = """
INSERT INTO "user" (name, phone, role, active)
SELECT 'v' || i, '19' || lpad(i::text, 9, '0'), 'volunteer', true FROM generate_series(1, :n) i;
INSERT INTO volunteer (user_id, real_name, committee_code, skills, active)
SELECT u.id, u.name, (CAST(:codes AS text[]))[1 + floor(random() * array_length(CAST(:codes AS text[]), 1))::int],
       (SELECT coalesce(array_agg(s), '{}') FROM unnest(CAST(:skills AS text[])) s WHERE random() < 0.3 AND u.id > 0),
       random() > 0.05
  FROM "user" u WHERE u.role = 'volunteer';
"""
BUSY_SQL = """
WITH o AS (
  INSERT INTO service_order (kind, location, submitted_lon, submitted_lat, submitted_crs, location_source,
    committee_id, town_id, assignment_method, assignment_distance_m, window_start, window_end, contact_phone,
    status, tracking_hash)
  SELECT 'home_check', ST_SetSRID(ST_MakePoint(121.4, 31.1), 4326), 121.4, 31.1, 'wgs84', 'map', :cid, :tid, 'covers',
         0, :start + make_interval(hours => (i % 2) * 48), :start + make_interval(hours => (i % 2) * 48 + 2),
         '13900000000', 'accepted', md5(i::text || 'busy')
    FROM generate_series(1, :n) i RETURNING id)
INSERT INTO service_assignment (order_id, volunteer_id, state)
SELECT o.id, v.ids[1 + floor(random() * array_length(v.ids, 1))::int], 'accepted'
  FROM o CROSS JOIN (SELECT array_agg(user_id) AS ids FROM volunteer) v
ON CONFLICT DO NOTHING
"""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database-url", help=f"scratch DB, dropped and recreated (default: {BENCH_DB})")
    p.add_argument("--volunteers", type=int, default=38_000)
    p.add_argument("--queries", type=int, default=200, help="orders asked about (default %(default)s)")
    p.add_argument("--naive", type=int, default=30, help="orders ranked by the naive baseline (default %(default)s)")
    p.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    p.add_argument("--plan", action="store_true", help="print the suggestion's query plan")
    return p.parse_args(argv)


def seed(app, committees: list, volunteers: int, queries: int) -> list[int]:
    """Volunteers, busy orders, a district admin, and the orders to ask about; their ids."""
    with app.app_context():
        codes = [c.code for c in committees]
        for statement in SEED_SQL.strip().split(";\n"):
            db.session.execute(text(statement), {"n": volunteers, "codes": codes, "skills": SKILLS})
        cid, tid = db.session.execute(text("SELECT id, parent_id FROM area WHERE level = 'committee' LIMIT 1")).one()
        db.session.execute(text(BUSY_SQL), {"n": 4000, "cid": cid, "tid": tid, "start": WINDOW})
        db.session.add(User(name="bench admin", phone="18000000000", role="district_admin"))
        lons, lats = make_points(committees, queries, seed=38)  # mostly inside committees, some in gaps or outside
        ids = []
        for x, y in zip(lons, lats, strict=True):
            ids.append(db.session.scalar(text(
                "INSERT INTO service_order (kind, location, submitted_lon, submitted_lat, submitted_crs,"
                " location_source, committee_id, town_id, assignment_method, assignment_distance_m, window_start,"
                " window_end, contact_phone, status, tracking_hash) VALUES ('home_check',"
                " ST_SetSRID(ST_MakePoint(:x, :y), 4326), :x, :y, 'wgs84', 'map', :cid, :tid, 'covers', 0, :s, :e,"
                " '13900000000', 'submitted', md5(random()::text)) RETURNING id"),
                {"x": float(x), "y": float(y), "cid": cid, "tid": tid, "s": WINDOW, "e": WINDOW + timedelta(hours=2)}))
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        return ids


class Naive:
    """Rank every volunteer in Python: fetch them all with a busy flag, measure to every committee polygon."""

    def __init__(self, committees: list):
        lat0 = statistics.fmean(c.geom.centroid.y for c in committees)
        self.kx, self.ky = 111_320 * math.cos(math.radians(lat0)), 110_574  # metres per degree near Minhang
        self.polygons = {c.code: scale(c.geom, self.kx, self.ky, origin=(0, 0)) for c in committees}

    def rank(self, order: ServiceOrder, lon: float, lat: float, skill: str | None) -> list[int]:
        rows = db.session.execute(text(
            "SELECT v.user_id, v.committee_code, v.skills, EXISTS (SELECT 1 FROM service_assignment b"
            " JOIN service_order h ON h.id = b.order_id WHERE b.volunteer_id = v.user_id"
            " AND b.state IN ('accepted', 'checked_in') AND tstzrange(h.window_start, h.window_end)"
            " && tstzrange(:s, :e)) AS busy FROM volunteer v JOIN \"user\" u ON u.id = v.user_id"
            " WHERE v.active AND u.active"), {"s": order.window_start, "e": order.window_end}).all()
        here = Point(lon * self.kx, lat * self.ky)
        far = {code: shapely.distance(here, poly) for code, poly in self.polygons.items()}
        found = [(far[code], uid) for uid, code, skills, busy in rows
                 if not busy and (skill is None or skill in skills) and code in far]
        return [uid for _d, uid in sorted(found)[:SUGGESTIONS]]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv=None) -> int:
    args = parse_args(argv)
    if not SHARED_DATA.is_dir():
        print(f"skipped: the shared Minhang committees are not at {SHARED_DATA} (only beside the project's clone)")
        return 0
    towns, committees, source = load_boundaries()
    url = args.database_url or str(make_url(database_url(None)).set(database=BENCH_DB).render_as_string(False))
    app = build_app(url, tempfile.mkdtemp(), towns, committees)
    started = time.perf_counter()
    ids = seed(app, committees, args.volunteers, args.queries)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work on the machine inflates "
          "wall times)")
    print(f"boundaries: {source}; {len(committees)} committees, {args.volunteers} volunteers, 4000 busy orders "
          f"(seeded in {time.perf_counter() - started:.1f} s); {len(ids)} orders asked about")
    rng, naive = random.Random(8), Naive(committees)
    fast, slow, server, agree, sizes = [], [], [], 0, []
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.role == "district_admin"))
        orders = db.session.scalars(select(ServiceOrder).where(ServiceOrder.id.in_(ids))).all()
        for order in orders[:10]:
            suggest(order, admin, None)  # warm-up
        for i, order in enumerate(orders):
            skill = rng.choice([None, *SKILLS])
            t = time.perf_counter()
            found = suggest(order, admin, skill)
            fast.append((time.perf_counter() - t) * 1000)
            sizes.append(len(found))
            plan = explain(order, admin, analyze=True, skill=skill)
            server.append(float(re.search(r"Execution Time: ([0-9.]+) ms", plan).group(1)))
            if i < args.naive:
                t = time.perf_counter()
                ranked = naive.rank(order, order.submitted_lon, order.submitted_lat, skill)
                slow.append((time.perf_counter() - t) * 1000)
                agree += [v["id"] for v in found] == ranked
        plan = explain(orders[0], admin, analyze=args.plan)
        uses = "idx_area_geom" in plan
        if args.plan:
            print(plan)
        db.session.rollback()
    print(f"SQL suggestion   p50 {statistics.median(fast):7.1f} ms   p95 {percentile(fast, 0.95):7.1f} ms  "
          f"({len(fast)} orders, {statistics.fmean(sizes):.1f} volunteers each; KNN index used: {uses})")
    print(f"  of which SQL   p50 {statistics.median(server):7.1f} ms   p95 {percentile(server, 0.95):7.1f} ms  "
          "(server-side execution, EXPLAIN ANALYZE of the same statements)")
    print(f"naive in Python  p50 {statistics.median(slow):7.1f} ms   p95 {percentile(slow, 0.95):7.1f} ms  "
          f"({len(slow)} orders)")
    print(f"ratio naive/SQL  p50 {statistics.median(slow) / statistics.median(fast):.1f}x   "
          f"p95 {percentile(slow, 0.95) / percentile(fast, 0.95):.1f}x;  same first {SUGGESTIONS}: {agree}/{len(slow)}")
    with app.app_context():
        db.engine.dispose()
    if not args.keep:
        drop_database(url)
    return 0


def explain(order: ServiceOrder, admin: User, analyze: bool = False, skill: str | None = None) -> str:
    """The plan PostgreSQL picks for one suggestion statement, with its parameters (and timings if analyze)."""
    compiled = query(admin, bool(skill)).compile(dialect=db.engine.dialect)
    verb = "EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN "
    params = compiled.construct_params(order_params(order, skill))
    rows = db.session.connection().exec_driver_sql(verb + str(compiled), params).scalars()
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
