"""The supervisors' map at district scale over HTTP: heat.json and the tiles at each zoom, through gunicorn (2 workers),
beside /healthz measured in the same run; then, optionally, what Chromium draws at each zoom (symbols, overlapping
pairs, symbols cut at a tile edge) on the same server.

Seeds N reports with bench/scale.py's SQL over the shared Minhang boundaries (the demo district without them).
Prints p50/p95 and ratios; asserts nothing about speed.

    .venv/bin/python -m bench.map --n 1000000 --keep          # seed, measure, keep the database for another run
    .venv/bin/python -m bench.map --reuse --browser           # measure again on the kept database, and draw
    .venv/bin/python -m bench.map --reuse --drop              # ... then drop it
"""
import argparse
import math
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.assign import drop_database
from bench.chaos import Gunicorn
from bench.scale import seed, setup
from service import create_app
from service.accounts import auth
from service.core.db import db
from service.core.models import User

ROOT = Path(__file__).resolve().parents[1]
CENTRE = (121.42, 31.08)  # (lon, lat) of Minhang's middle
VIEW_PX = (1000, 700)  # the browser window the views are cut for
ZOOMS = (10, 11, 12, 13, 14)


def cluster_url() -> str:
    """The project's private cluster (.ci/postgis.sh url), on a database whose name says bench."""
    env = os.environ | {"HAZARD_DB_NAME": os.environ.get("HAZARD_DB_NAME", "hazard_snap_bench")}
    url = subprocess.run([str(ROOT / ".ci/postgis.sh"), "url"], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    if "bench" not in url.split("?")[0].rsplit("/", 1)[-1]:
        raise SystemExit("HAZARD_DB_NAME must name a bench database (bench_...)")
    return url


def people(app) -> dict:
    """A district admin and a town supervisor, with fresh phones so a kept database takes another run."""
    with app.app_context():
        town = db.session.scalar(text("SELECT id FROM area WHERE level = 'town' ORDER BY code DESC LIMIT 1"))
        tokens = {}
        for role, area in (("district_admin", None), ("town_supervisor", town)):
            user = User(name=role, phone=f"139{secrets.randbelow(10**8):08d}", role=role, area_id=area)
            db.session.add(user)
            db.session.flush()
            tokens[role] = auth.issue_token(user)
        db.session.commit()
    return tokens


def view_bbox(z: int, lon: float = CENTRE[0], lat: float = CENTRE[1]) -> str:
    """The lon/lat box a VIEW_PX window shows at zoom z around (lon, lat)."""
    scale = 256 * 2**z
    x = (lon + 180) / 360 * scale
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * scale

    def lonlat(px: float, py: float) -> tuple[float, float]:
        return px / scale * 360 - 180, math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * py / scale))))

    west, north = lonlat(x - VIEW_PX[0] / 2, y - VIEW_PX[1] / 2)
    east, south = lonlat(x + VIEW_PX[0] / 2, y + VIEW_PX[1] / 2)
    return f"{west:.6f},{south:.6f},{east:.6f},{north:.6f}"


def tile_urls(z: int, layer: str) -> list[str]:
    n = 2**z
    x = int((CENTRE[0] + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(CENTRE[1]))) / math.pi) / 2 * n)
    return [f"/tiles/{layer}/{z}/{x + dx}/{y + dy}.pbf" for dx in (-1, 0, 1) for dy in (-1, 0, 1)]


def timed(session, base: str, urls: list[str], token: str, runs: int) -> tuple[float, float, int]:
    """p50, p95 (ms) and the largest body over `runs` rounds of GET on each url, after one warming round."""
    headers = {"Authorization": f"Bearer {token}"}
    times, size = [], 0
    for round_ in range(runs + 1):
        for url in urls:
            start = time.perf_counter()
            response = session.get(base + url, headers=headers)
            took = (time.perf_counter() - start) * 1000
            assert response.status_code == 200, (url, response.status_code, response.text[:200])
            if round_:
                times.append(took)
                size = max(size, len(response.content))
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))], size


def measure_http(base: str, tokens: dict, runs: int) -> None:
    admin, sup = tokens["district_admin"], tokens["town_supervisor"]
    with requests.Session() as session:
        healthz = timed(session, base, ["/healthz"], admin, runs)
        print(f"  /healthz (baseline)                 p50 {healthz[0]:7.1f} ms  p95 {healthz[1]:7.1f} ms")
        rows = []
        for z in ZOOMS:
            for who, token in (("admin", admin), ("town sup", sup)):
                for label, extra in (("open", ""), ("overdue", "&overdue=1")):
                    rows.append((f"heat.json z{z} {label} ({who})",
                                 [f"/map/heat.json?status=open{extra}&z={z}&bbox={view_bbox(z)}"], token))
        for z in (10, 12, 14, 16):
            for layer in ("reports", "committees"):
                rows.append((f"tiles/{layer} z{z} (9 tiles)", [u + "?status=open" for u in tile_urls(z, layer)],
                             admin))
        for label, urls, token in rows:
            p50, p95, size = timed(session, base, urls, token, runs)
            print(f"  {label:<35} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  {size / 1024:6.1f} KB"
                  f"  ({p50 / healthz[0]:.0f}x /healthz)")


def measure_browser(base: str, token: str, shots: Path | None = None) -> None:
    """Chromium on the running server: what the map draws from the opening view to z16."""
    from playwright.sync_api import sync_playwright

    from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
    from tests.support.map_drawing import drawn_at

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": VIEW_PX[0], "height": VIEW_PX[1]},
                                      extra_http_headers={"Authorization": f"Bearer {token}"})
        context.route("**/*", lambda route: route.continue_() if "127.0.0.1" in route.request.url
                      else route.abort("internetdisconnected"))
        page = context.new_page()
        page.goto(base + "/map", wait_until="load")
        for z, found in drawn_at(page, zooms=(None, 12, 13, 14, 15, 16)):
            print(f"  Chromium z{z:<2}: {found.symbols:4d} symbols drawn ({found.clusters} clusters), "
                  f"{found.overlapping:3d} overlapping another by > 1/4 of its area ({found.share:.1%}, "
                  f"{found.pairs} pairs), {found.cut} cut at a tile edge")
            if shots:
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / f"map_z{z}.png"))
        browser.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="reports to seed (default %(default)s)")
    parser.add_argument("--runs", type=int, default=20, help="timed rounds per figure (default %(default)s)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="the bench database as its owner (default: the project's cluster, database named by "
                             "HAZARD_DB_NAME, else hazard_snap_bench)")
    parser.add_argument("--reuse", action="store_true", help="measure the database a --keep run left")
    parser.add_argument("--keep", action="store_true", help="do not drop the database afterwards")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end (after --reuse)")
    parser.add_argument("--browser", action="store_true", help="also measure what Chromium draws")
    parser.add_argument("--shots", type=Path, help="with --browser: save a screenshot per zoom in this directory")
    args = parser.parse_args(argv)
    url = args.database_url or cluster_url()
    if args.reuse:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PHOTO_DIR": tempfile.mkdtemp(),
                          "SECRET_KEY": secrets.token_hex(32)})
        source = "kept database"
    else:
        app, _, source = setup(url)
        took = seed(app, args.n)
        print(f"seeded in {took:.1f} s")
    tokens = people(app)
    with app.app_context():
        real = db.session.scalar(text("SELECT count(*) FROM report"))
    print(f"boundaries: {source}; N = {real:,} reports; python {sys.version.split()[0]}")
    env = os.environ | {"DATABASE_URL": url, "PHOTO_DIR": tempfile.mkdtemp(), "SECRET_KEY": secrets.token_hex(32),
                        "LOG_LEVEL": "WARNING"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with tempfile.TemporaryDirectory() as tmp:
        server = Gunicorn(env, Path(tmp) / "gunicorn.log", workers=2)
        try:
            measure_http(server.base, tokens, args.runs)
            if args.browser:
                measure_browser(server.base, tokens["district_admin"], args.shots)
        finally:
            server.stop()
    if (args.drop or not args.keep) and not (args.reuse and not args.drop):
        drop_database(url)
        print(f"dropped {make_url(url).database}")


if __name__ == "__main__":
    main()
