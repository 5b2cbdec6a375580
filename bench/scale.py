"""The map, tiles, lists, queues and dashboard statistics at district scale, measured side by side in one run.

Seeds N reports with SQL (random points inside the committees, a year of dates, every status), then times the
service through Flask's test client (no network in the figures) against naive folium (every report a marker in
FastMarkerCluster). Prints sizes, p50/p95 and ratios; asserts nothing about speed.

    .venv/bin/python -m bench.scale --sizes 10000,100000,1000000

Then, with --recurrences (default 20,000) reports linked to earlier verified ones, the dashboard and every section
of GET /api/v1/stats over HTTP through gunicorn (2 workers), beside /healthz in the same run (--no-http skips it).
"""
import argparse
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from bench.assign import database_url, drop_database, load_boundaries
from service import create_app
from service.accounts import auth
from service.areas import boundaries, generations
from service.core import migrate
from service.core.db import db
from service.core.models import Area, Report, User

SEED_SQL = """
WITH c AS (
  SELECT a.id AS cid, a.parent_id AS tid, a.geom,
         greatest(1, round(:n * ST_Area(a.geom) / sum(ST_Area(a.geom)) OVER ()))::int AS k
    FROM area a WHERE a.level = 'committee' AND a.generation = (SELECT max(generation) FROM area
                                                                 WHERE level = 'committee')
), p AS (
  SELECT cid, tid, (ST_Dump(ST_GeneratePoints(geom, k, :seed))).geom AS pt FROM c
)
INSERT INTO report (id, category, risk_level, description, location, submitted_lon, submitted_lat, submitted_crs,
                    location_source, committee_id, town_id, assignment_method, assignment_distance_m, status,
                    created_at, due_at, rectified_at, verified_at, updated_at)
SELECT gen_random_uuid(), category, risk, 'bench', pt, ST_X(pt), ST_Y(pt), 'wgs84', 'device', cid, tid, 'covers', 0,
       status, t, t + interval '7 days',
       CASE WHEN status IN ('rectified', 'verified') THEN t + u * u * interval '14 days' END,
       CASE WHEN status = 'verified' THEN t + u * u * interval '14 days' + v * interval '3 days' END,
       -- the last change: a verified report's verification (what the recurrence figures read), else creation
       least(now(), CASE WHEN status = 'verified' THEN t + u * u * interval '14 days' + v * interval '3 days'
                         WHEN status = 'rectified' THEN t + u * u * interval '14 days' ELSE t END)
  FROM (SELECT cid, tid, pt, random() AS u, random() AS v,
               now() - random() * interval '365 days' AS t,  -- per row (an uncorrelated LATERAL ran once)
               (ARRAY['fire_lane_blocked','exit_blocked','ebike_charging','illegal_wiring','equipment_missing',
                      'combustibles'])[1 + (random()*5)::int] AS category,
               (ARRAY['general','major','suspected_severe'])[1 + (random()*2)::int] AS risk,
               (ARRAY['submitted','accepted','dispatched','rectifying','rectified','verified','verified','verified',
                      'rejected','duplicate'])[1 + (random()*9)::int] AS status
          FROM p) r
 ORDER BY t  -- in arrival order, as a real table is laid out on disk
"""


def seed(app, n: int) -> float:
    start = time.perf_counter()
    with app.app_context():
        # A bench database, as its superuser owner: skip the append-only triggers to start from empty.
        db.session.execute(text("SET session_replication_role = replica"))
        db.session.execute(text("TRUNCATE report, photo, report_event, notification RESTART IDENTITY CASCADE"))
        db.session.execute(text(SEED_SQL), {"n": n, "seed": 7})
        db.session.execute(text("SET session_replication_role = origin"))
        db.session.commit()
    settle(app)
    return time.perf_counter() - start


SETTLED = "report, report_stats, report_stats_town, report_stats_month, report_stats_recurrence"


def settle(app) -> None:
    """VACUUM ANALYZE the table and its cubes, as autovacuum would within minutes of a bulk load: without it the
    figures are timed against tables with no visibility map, unset hint bits and autovacuum running beside them."""
    with app.app_context(), db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM ANALYZE {SETTLED}"))


# k later reports each naming a verified report of the same committee and category as the one it repeats, as intake
# links them (service/sites/linking.py); the report triggers set the verified reports' recurred flag.
RECURRENCES_SQL = """
WITH v AS (SELECT id, committee_id, category, updated_at,
                  row_number() OVER (PARTITION BY committee_id, category ORDER BY random()) AS k
             FROM report WHERE status = 'verified' AND updated_at < now() - interval '1 day'),
     l AS (SELECT id, committee_id, category,
                  row_number() OVER (PARTITION BY committee_id, category ORDER BY random()) AS k
             FROM report WHERE status <> 'verified' AND recurrence_of IS NULL),
     pick AS (SELECT l.id, v.id AS earlier FROM v JOIN l USING (committee_id, category, k) ORDER BY random() LIMIT :n)
UPDATE report r SET recurrence_of = pick.earlier FROM pick WHERE r.id = pick.id
"""


def seed_recurrences(app, n: int) -> tuple[float, int]:
    """Link n reports to earlier verified ones (recurrence_of); return the seconds taken and the recurred count."""
    start = time.perf_counter()
    with app.app_context():
        db.session.execute(text(RECURRENCES_SQL), {"n": n})
        db.session.commit()
    settle(app)  # the visibility map, for the index-only counts
    with app.app_context():
        recurred = db.session.scalar(text("SELECT count(*) FROM report WHERE recurred"))
    return time.perf_counter() - start, recurred


def recurrence_paths(app, tokens: dict, runs: int) -> None:
    """The recurrence section's figures summed from the cube (whole months, the default) beside the same figures
    counted from the rows (the path a period that cuts a month takes, and the only one before the cube),
    checked equal."""
    from unittest import mock

    from service.accounts.auth import user_for_token
    from service.sites import recurrence

    def p50_p95(call) -> tuple[float, float, dict]:
        times, value = [], None
        for _ in range(runs + 1):
            start = time.perf_counter()
            value = call()
            times.append((time.perf_counter() - start) * 1000)
        times = sorted(times[1:])
        return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))], value

    with app.test_request_context():
        for role in ("district_admin", "town_supervisor"):
            user = user_for_token(tokens[role])
            cubed = p50_p95(lambda u=user: recurrence.rates(u))
            with mock.patch.object(recurrence, "_whole_months", lambda first, last: False):
                counted = p50_p95(lambda u=user: recurrence.rates(u))
            assert cubed[2]["total"] == counted[2]["total"], (cubed[2]["total"], counted[2]["total"])
            print(f"  recurrence ({role:<15}) cube p50 {cubed[0]:7.1f} ms  p95 {cubed[1]:7.1f} ms   rows p50 "
                  f"{counted[0]:7.1f} ms -> {counted[0] / cubed[0]:.1f}x faster "
                  f"({cubed[2]['total']['verified']:,} verified, {cubed[2]['total']['recurred']:,} recurred)")


def people(app) -> dict:
    with app.app_context():
        town = db.session.scalar(text("SELECT code FROM area WHERE level = 'town' ORDER BY code LIMIT 1"))
        tokens = {}
        for role, code in (("district_admin", None), ("town_supervisor", town)):
            area = boundaries.latest(code) if code else None
            user = User(name=role, phone=f"1380000{len(tokens):04d}", role=role, area_id=area.id if area else None)
            db.session.add(user)
            db.session.flush()
            tokens[role] = auth.issue_token(user)
        db.session.commit()
        return tokens


def timed(client, url: str, token: str, runs: int) -> tuple[float, float, int]:
    """p50 and p95 in ms, and the body size, of GET url."""
    headers = {"Authorization": f"Bearer {token}"}
    client.get(url, headers=headers)  # warm
    times, size = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.text[:200])
        size = len(response.data)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))], size


def naive_folium(app, limit: int) -> tuple[float, int]:
    """Every report as a marker in FastMarkerCluster: the page the tiles replace."""
    import folium
    from folium.plugins import FastMarkerCluster

    with app.app_context():
        rows = db.session.execute(text("SELECT ST_Y(location), ST_X(location) FROM report LIMIT :n"),
                                  {"n": limit}).all()
    start = time.perf_counter()
    fmap = folium.Map(location=[31.11, 121.38], zoom_start=11)
    FastMarkerCluster([list(r) for r in rows]).add_to(fmap)
    html = fmap.get_root().render()
    return (time.perf_counter() - start) * 1000, len(html.encode())


def tile_urls(z: int, layer: str = "reports") -> list[str]:
    """The tile over central Minhang and its eight neighbours."""
    import math

    lon, lat = 121.40, 31.12
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return [f"/tiles/{layer}/{z}/{x + dx}/{y + dy}.pbf" for dx in (-1, 0, 1) for dy in (-1, 0, 1)]


SECTIONS = ("hazards", "volunteers", "recurrence", "inspections", "campaigns")  # service/dashboard/sections.py


def dashboard_urls(admin: str, sup: str) -> list[tuple[str, str, str]]:
    """The dashboard page and every figure it shows (all sections at once, and each alone), as each supervisor."""
    urls = [("/dashboard (admin)", "/dashboard", admin), ("/dashboard (town supervisor)", "/dashboard", sup),
            ("stats all sections (admin)", "/api/v1/stats", admin),
            ("stats all sections (town sup)", "/api/v1/stats", sup)]
    return urls + [(f"stats section={s} (admin)", f"/api/v1/stats?section={s}", admin) for s in SECTIONS]


def http_timed(session, base: str, url: str, token: str, runs: int) -> tuple[float, float, int]:
    """timed() over HTTP: p50 and p95 in ms, and the body size."""
    headers = {"Authorization": f"Bearer {token}"}
    session.get(base + url, headers=headers)  # warm
    times, size = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        response = session.get(base + url, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.text[:200])
        size = len(response.content)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))], size


def measure_http(url: str, tokens: dict, runs: int) -> None:
    """The dashboard through gunicorn (the project's settings, 2 workers) over HTTP, beside /healthz as the
    baseline of the server's own overhead in the same run."""
    import os

    import requests

    from bench.chaos import Gunicorn

    admin, sup = tokens["district_admin"], tokens["town_supervisor"]
    env = os.environ | {"DATABASE_URL": url, "PHOTO_DIR": tempfile.mkdtemp(), "SECRET_KEY": secrets.token_hex(32),
                        "LOG_LEVEL": "WARNING"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with tempfile.TemporaryDirectory() as tmp:
        server = Gunicorn(env, Path(tmp) / "gunicorn.log", workers=2)
        try:
            with requests.Session() as session:
                base = http_timed(session, server.base, "/healthz", admin, runs)
                print(f"  HTTP /healthz (baseline)         p50 {base[0]:7.1f} ms  p95 {base[1]:7.1f} ms")
                for label, path, token in dashboard_urls(admin, sup):
                    p50, p95, size = http_timed(session, server.base, path, token, runs)
                    print(f"  HTTP {label:<30} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  {size / 1024:7.1f} KB"
                          f"  ({p50 / base[0]:.0f}x /healthz)")
        finally:
            server.stop()


def stats_urls(app, admin: str, sup: str) -> list[tuple[str, str, str]]:
    """The dashboard's hazard figures: from the cubes (district, filtered, one town), and from the rows when the
    dates cut a month (the fallback); the other sections are left out (they are another area's figures)."""
    with app.app_context():
        town = db.session.scalar(text("SELECT code FROM area WHERE level = 'town' ORDER BY code LIMIT 1"))
    stats = "/api/v1/stats?section=hazards"
    since = (date.today() - timedelta(days=12)).isoformat()
    return [("stats (admin)", stats, admin), ("stats (town supervisor)", stats, sup),
            ("stats admin category+risk", f"{stats}&category=ebike_charging&risk=general", admin),
            ("stats admin one town", f"{stats}&town={town}", admin),
            ("stats admin since 12 d (rows)", f"{stats}&since={since}", admin)]


def overdue_counts(app, tokens: dict, runs: int) -> None:
    """The queues' overdue total: running minus not yet due (queries.count_reports) beside a plain COUNT(*)."""
    from service.accounts import scope
    from service.accounts.auth import user_for_token
    from service.reports import deadlines, queries
    from service.reports.filters import ReportFilter

    def plain(user, now) -> int:
        return db.session.scalar(select(func.count()).select_from(Report)
                                 .where(scope.visible(user), deadlines.overdue(now)))

    def p50_p95(call, *args) -> tuple[float, float, int]:
        times = []
        for _ in range(runs + 1):
            start = time.perf_counter()
            value = call(*args)
            times.append((time.perf_counter() - start) * 1000)
        times = sorted(times[1:])  # the first one warms
        return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))], value

    with app.test_request_context():
        for role in ("district_admin", "town_supervisor"):
            user, now = user_for_token(tokens[role]), datetime.now(UTC)
            fast = p50_p95(queries.count_reports, user, ReportFilter(overdue=True), now)
            slow = p50_p95(plain, user, now)
            assert fast[2] == slow[2], (role, fast[2], slow[2])
            print(f"  overdue total ({role:<15}) p50 {fast[0]:7.1f} ms  p95 {fast[1]:7.1f} ms   COUNT(*) p50 "
                  f"{slow[0]:7.1f} ms -> {slow[0] / fast[0]:.1f}x faster ({fast[2]:,} overdue)")


def measure(app, tokens: dict, n: int, runs: int, naive: bool) -> None:
    client = app.test_client()
    admin, sup = tokens["district_admin"], tokens["town_supervisor"]
    page = timed(client, "/map", admin, runs)
    print(f"  /map (admin)                 p50 {page[0]:7.1f} ms  p95 {page[1]:7.1f} ms  {page[2] / 1024:7.1f} KB")
    if naive:
        naive_ms, naive_bytes = naive_folium(app, n)
        print(f"  naive folium, {n} markers     {naive_ms:7.1f} ms            {naive_bytes / 1024:7.1f} KB"
              f"   -> map page {naive_bytes / page[2]:.0f}x smaller, {naive_ms / page[0]:.1f}x faster")
    for z in (10, 13, 16):
        samples = [timed(client, url, admin, max(1, runs // 3)) for url in tile_urls(z)]
        p50 = statistics.median(s[0] for s in samples)
        p95 = max(s[1] for s in samples)
        print(f"  tiles z{z:<2} (9 around centre)    p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")
    for label, url, token in (
        ("list newest 100 (admin)", "/api/v1/reports?limit=100", admin),
        ("list page 2 via cursor", None, admin),
        ("list town, overdue", "/api/v1/reports?limit=100&overdue=1", sup),
        ("committee tile z12 (centre)", tile_urls(12, "committees")[4], admin),
        ("queues (admin)", "/queues", admin),
        ("queues (town supervisor)", "/queues", sup),
        *stats_urls(app, admin, sup),
    ):
        if url is None:
            first = client.get("/api/v1/reports?limit=100", headers={"Authorization": f"Bearer {admin}"}).json
            url = f"/api/v1/reports?limit=100&cursor={first['next']}"
        p50, p95, _ = timed(client, url, token, runs)
        print(f"  {label:<28} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")
    overdue_counts(app, tokens, runs)
    recurrence_paths(app, tokens, runs)


def setup(url: str):
    """A fresh bench database with the boundaries, the app on it, the people's tokens, and the boundaries' source."""
    towns, committees, source = load_boundaries()
    drop_database(url)
    migrate.ensure_database(url)
    migrate.upgrade(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PHOTO_DIR": tempfile.mkdtemp(),
                      "SECRET_KEY": secrets.token_hex(32), "LOG_LEVEL": "WARNING"})  # no access line per request
    with app.app_context():
        for level, items in (("town", towns), ("committee", committees)):
            generations.run(items, level)
        assert db.session.query(Area).count()
    return app, people(app), source


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma list of N (default %(default)s)")
    parser.add_argument("--runs", type=int, default=20, help="timed requests per figure (default %(default)s)")
    parser.add_argument("--recurrences", type=int, default=20_000,
                        help="reports linked to an earlier verified one, after each seed (default %(default)s)")
    parser.add_argument("--http", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the dashboard over HTTP through gunicorn (default on)")
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    url = database_url(args.database_url)
    app, tokens, source = setup(url)
    print(f"boundaries: {source}; python {sys.version.split()[0]}")
    for n in (int(v) for v in args.sizes.split(",")):
        took = seed(app, n)
        with app.app_context():
            real = db.session.scalar(text("SELECT count(*) FROM report"))
        print(f"N = {real:,} reports (seeded in {took:.1f} s)")
        if args.recurrences:
            took, recurred = seed_recurrences(app, args.recurrences)
            print(f"  {recurred:,} verified reports recurred (linked in {took:.1f} s)")
        measure(app, tokens, real, args.runs, naive=n <= 10_000)
        if args.http:
            measure_http(url, tokens, args.runs)


if __name__ == "__main__":
    main()
