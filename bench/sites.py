"""What linking a new report to key sites and to recurrences adds to intake, at 20,000 sites and 10^6 reports.

Seeds the reports (bench.scale: a year of dates, every status; a verified report's updated_at is the seeding time,
so every verified report is inside the recurrence window, the query's worst case) and the sites (points and
polygons inside the committees) with SQL, then posts the same small JPEG through Flask's test client, alternating
intake with the linking step and intake with it switched off, at points where reports and sites are dense. Prints
p50/p95 of both, their difference, and the linking step alone; asserts nothing about speed.

    .venv/bin/python -m bench.sites --reports 1000000 --sites 20000 --runs 300
    .venv/bin/python -m bench.sites --reuse --runs 300   # again on the database the first run seeded
"""
import argparse
import io
import logging
import random
import secrets
import statistics
import sys
import tempfile
import time

from flask import Flask
from PIL import Image
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from bench.assign import database_url
from bench.scale import seed, setup
from service import create_app
from service.accounts import auth
from service.core import migrate
from service.core.db import db
from service.core.models import User
from service.reports import intake
from service.sites import linking

BENCH_DB = "hazard_snap_bench_sites"
SITES_SQL = """
WITH c AS (
  SELECT a.id AS cid, a.parent_id AS tid, a.geom,
         greatest(1, round(:n * ST_Area(a.geom) / sum(ST_Area(a.geom)) OVER ()))::int AS k
    FROM area a WHERE a.level = 'committee' AND a.generation = (SELECT max(generation) FROM area
                                                                 WHERE level = 'committee')
), p AS (SELECT cid, tid, (ST_Dump(ST_GeneratePoints(geom, k, :seed))).geom AS pt FROM c)
INSERT INTO site (external_id, kind, name, geom, committee_id, town_id, risk_class)
SELECT 'B-' || row_number() OVER (), (ARRAY['small_shop','small_restaurant','high_rise','old_estate'])[1 + g % 4],
       'site', CASE WHEN g % 5 = 0 THEN ST_Buffer(pt::geography, 30 + g % 50)::geometry ELSE pt END, cid, tid,
       (ARRAY['low','medium','high'])[1 + g % 3]
  FROM (SELECT *, (random() * 1000)::int AS g FROM p) s
"""


def admin_token(app: Flask) -> dict:
    """A fresh token of the district admin an earlier run made."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.role == "district_admin").limit(1))
        token = auth.issue_token(user)
        db.session.commit()
    return {"district_admin": token}


def seed_sites(app: Flask, n: int) -> float:
    start = time.perf_counter()
    with app.app_context():
        db.session.execute(text(SITES_SQL), {"n": n, "seed": 11})
        db.session.commit()
        db.session.execute(text("ANALYZE site"))
        db.session.commit()
    return time.perf_counter() - start


def spots(app: Flask, n: int) -> list[tuple[float, float, str]]:
    """Points a few metres from random verified reports (so recurrences are found) and random sites."""
    with app.app_context():
        rows = db.session.execute(text(
            "(SELECT ST_X(location), ST_Y(location), category FROM report WHERE status = 'verified'"
            "  ORDER BY random() LIMIT :n)"
            " UNION ALL (SELECT ST_X(c), ST_Y(c), 'ebike_charging' FROM site, ST_PointOnSurface(geom) c"
            "  ORDER BY random() LIMIT :n)"), {"n": n}).all()
    rng = random.Random(5)
    rng.shuffle(rows)
    return [(x + rng.uniform(-1e-4, 1e-4), y + rng.uniform(-1e-4, 1e-4), c) for x, y, c in rows]


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((640, 480), 40).convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def measure(app: Flask, token: str, runs: int) -> None:
    logging.getLogger("service.access").setLevel(logging.WARNING)  # one log line per post would drown the table
    client, photo, points = app.test_client(), jpeg(), spots(app, runs)
    real_link, step, floor = linking.at_intake, [], []

    def timed_link(*args):
        start = time.perf_counter()
        db.session.execute(text("SELECT 1"))  # the floor: one round trip from the same place, same moment
        floor.append(time.perf_counter() - start)
        start = time.perf_counter()
        try:
            return real_link(*args)
        finally:
            step.append(time.perf_counter() - start)

    times = {"with linking": [], "without": []}
    found = {"site": 0, "recurrence": 0}
    for i in range(2 * runs):
        lon, lat, category = points[(i // 2) % len(points)]
        variant = "with linking" if i % 2 == 0 else "without"  # alternating: both see the same load
        intake.linking.at_intake = timed_link if variant == "with linking" else (lambda *args: [])
        start = time.perf_counter()
        r = client.post("/api/v1/reports", headers={"Authorization": f"Bearer {token}"},
                        data={"category": category, "lon": str(lon), "lat": str(lat),
                              "photo": (io.BytesIO(photo), "p.jpg", "image/jpeg")})
        times[variant].append(time.perf_counter() - start)
        assert r.status_code == 201, r.text
        if variant == "with linking":
            found["site"] += r.get_json()["site_id"] is not None
            found["recurrence"] += r.get_json()["recurrence_of"] is not None
    intake.linking.at_intake = real_link
    ms = {k: [v * 1000 for v in vals] for k, vals in times.items()}
    step_ms = [v * 1000 for v in step]
    print(f"{'intake (test client, 640x480 JPEG)':<36} {'p50 ms':>8} {'p95 ms':>8}")
    for name, vals in ms.items():
        print(f"{name:<36} {statistics.median(vals):8.2f} {percentile(vals, 95):8.2f}")
    d50 = statistics.median(ms["with linking"]) - statistics.median(ms["without"])
    d95 = percentile(ms["with linking"], 95) - percentile(ms["without"], 95)
    ratio = percentile(ms["with linking"], 95) / percentile(ms["without"], 95)
    print(f"{'difference':<36} {d50:8.2f} {d95:8.2f}   ratio of p95 {ratio:.3f}")
    print(f"{'linking step alone':<36} {statistics.median(step_ms):8.2f} {percentile(step_ms, 95):8.2f}"
          f"   (goal: p95 <= 5 ms)")
    floor_ms = [v * 1000 for v in floor]
    print(f"{'SELECT 1 just before it':<36} {statistics.median(floor_ms):8.2f} {percentile(floor_ms, 95):8.2f}"
          f"   (a round trip on this machine now)")
    print(f"linked to a site: {found['site']}/{runs}; marked recurrence: {found['recurrence']}/{runs}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--sites", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=300, help="posts per variant (default %(default)s)")
    parser.add_argument("--database-url", help=f"scratch database, dropped and recreated (default {BENCH_DB})")
    parser.add_argument("--reuse", action="store_true", help="measure on the database an earlier run seeded")
    args = parser.parse_args(argv)
    url = args.database_url or make_url(database_url(None)).set(database=BENCH_DB).render_as_string(False)
    if args.reuse:  # the bench database of an earlier run, seeded already
        migrate.upgrade(url)  # the schema may have moved on since
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PHOTO_DIR": tempfile.mkdtemp(),
                          "SECRET_KEY": secrets.token_hex(32)})
        tokens, source, took, took_sites = admin_token(app), "the earlier run's", 0.0, 0.0
    else:
        app, tokens, source = setup(url)
        took, took_sites = seed(app, args.reports), 0.0
        took_sites = seed_sites(app, args.sites)
    print(f"boundaries: {source}; python {sys.version.split()[0]}")
    with app.app_context():
        counts = db.session.execute(text("SELECT (SELECT count(*) FROM report), (SELECT count(*) FROM report"
                                         " WHERE status = 'verified'), (SELECT count(*) FROM site)")).one()
    print(f"{counts[0]:,} reports ({counts[1]:,} verified, all inside the window; {took:.0f} s), "
          f"{counts[2]:,} sites ({took_sites:.1f} s)")
    measure(app, tokens["district_admin"], args.runs)


if __name__ == "__main__":
    main()
