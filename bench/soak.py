"""Soak: a weekday's mixed load for as long as asked, with a primary failover and a rolling upgrade on a schedule.

Through gunicorn (4 workers, service/ops/gunicorn_conf.py) and PgBouncer (transaction mode) on a primary with a
synchronous standby (bench/soak_rig.py), on a database seeded with --reports rows (bench.scale's seed) and
migrated to the revision before the newest; clients keep sending uploads of 1-3 photos (retried by
client_report_id), supervisors' lists, tiles, heat and stats, the workflow with after-photos, and residents'
tracking pages, while `notify --loop` and `escalate` (each minute) run beside it. Every --tick seconds it prints
p50/p95/p99 per kind, errors by status, each worker's RSS, PostgreSQL connections and the outbox depth.

Faults: at --failover-at the primary crashes, the standby is promoted and PgBouncer re-pointed; at --upgrade-at
the newest revision (0037, expand-only) is applied under load and the workers replaced one by one. It passes when
no acknowledged report is lost or doubled, no answer is a 5xx other than a 503 during a fault, no lock on report
is waited for 1 s or more during the upgrade, and (for runs of 12 minutes and more) worker RSS stays within
±10 % from minute 5 and the last 5 minutes' p95 within 1.5x of minutes 2-6. Asserts nothing itself.

    .venv/bin/python -m bench.soak --minutes 30 --reports 1000000
"""
import argparse
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import psycopg
import requests

from bench import chaos, scale, soak_rig
from bench.soak_verdict import Faults, errors_logged, passed, verdict
from service import create_app
from service.accounts import auth
from service.areas import boundaries
from service.core.db import db
from service.core.models import User

BEFORE = "0036"  # the revision the soak starts at; the upgrade brings it to head (0037)
MIX = {"upload": 3, "track": 2, "list": 2, "tile": 2, "heat": 1, "stats": 1, "move": 1}
STEPS = (("accepted", "admin"), ("dispatched", "admin"), ("rectifying", "staff"), ("rectified", "staff"),
         ("verified", "admin"))
HEAT = "/map/heat.json?bbox=121.36,31.08,121.44,31.14&z=13"


@dataclass
class Sample:
    started: float
    ended: float
    kind: str
    status: int | None  # None: no answer


class Load:
    """The clients' shared state: the samples, the acknowledged reports, their receipts and workflow stages."""

    def __init__(self, base: str, tokens: dict, points: list, until: float):
        self.base, self.tokens, self.points, self.until = base, tokens, points, until
        self.samples: list[Sample] = []
        self.acked: dict[str, str] = {}
        self.tracking: list[str] = []
        self.movable: deque = deque()
        self.lock = threading.Lock()

    def send(self, http: requests.Session, kind: str, method: str, path: str, **kw) -> requests.Response | None:
        started = time.monotonic()
        try:
            r = http.request(method, self.base + path, timeout=60, **kw)
        except requests.RequestException:
            r = None
        self.samples.append(Sample(started, time.monotonic(), kind, r.status_code if r is not None else None))
        return r

    def upload(self, http: requests.Session, n: int) -> None:
        code, lon, lat = random.choice(self.points)
        client_id, wait = f"soak-{n}-{secrets.token_hex(4)}", 0.2
        photos = [("photo", (f"{n}-{i}.jpg", chaos.photo(n * 10 + i), "image/jpeg"))
                  for i in range(random.randint(1, 3))]
        form = {"category": "ebike_charging", "description": f"浸泡测试 {n}", "lon": str(lon), "lat": str(lat),
                "client_report_id": client_id}
        while time.monotonic() < self.until + 120:  # a report acknowledged late still counts
            r = self.send(http, "upload", "POST", "/api/v1/reports", data=form, files=photos)
            if r is not None and r.status_code in (200, 201):
                body = r.json()
                with self.lock:
                    self.acked[client_id] = body["id"]
                    if body.get("receipt"):
                        self.tracking.append(body["receipt"]["tracking_url"].split("://", 1)[1].split("/", 1)[1])
                    self.movable.append((body["id"], 0, code))
                return
            if r is not None and r.status_code < 500:
                return  # refused: counted as a 4xx, never acknowledged
            time.sleep(wait)
            wait = min(wait * 2, chaos.RETRY_CAP_S)

    def move(self, http: requests.Session) -> None:
        with self.lock:
            if not self.movable:
                return
            rid, step, code = self.movable.popleft()
        to, who = STEPS[step]
        headers = {"Authorization": f"Bearer {self.tokens['admin' if who == 'admin' else code]}"}
        if to == "rectified":
            r = self.send(http, "move", "POST", f"/api/v1/reports/{rid}/transitions", headers=headers,
                          data={"to": to, "note": "已整改"},
                          files=[("photo", ("after.jpg", chaos.photo(-step), "image/jpeg"))])
        else:
            r = self.send(http, "move", "POST", f"/api/v1/reports/{rid}/transitions", headers=headers,
                          json={"to": to, "note": f"浸泡 {to}"})
        done = r is not None and r.status_code == 200
        if step + 1 < len(STEPS) or not done:
            with self.lock:
                self.movable.append((rid, step + (1 if done else 0), code))

    def client(self, n: int, think_s: float) -> None:
        http, admin = requests.Session(), {"Authorization": f"Bearer {self.tokens['admin']}"}
        kinds, weights = list(MIX), list(MIX.values())
        i = 0
        while time.monotonic() < self.until:
            kind, i = random.choices(kinds, weights)[0], i + 1
            if kind == "upload" or (kind == "track" and not self.tracking) or (kind == "move" and not self.movable):
                self.upload(http, n * 1_000_000 + i)
            elif kind == "track":
                self.send(http, kind, "GET", "/" + random.choice(self.tracking))
            elif kind == "move":
                self.move(http)
            else:
                path = {"list": "/api/v1/reports?limit=50", "stats": "/api/v1/stats", "heat": HEAT,
                        "tile": random.choice(scale.tile_urls(random.choice((12, 14))))}[kind]
                self.send(http, kind, "GET", path, headers=admin)
            time.sleep(random.uniform(0, 2 * think_s))


def people(app, codes: list[str]) -> dict:
    """A district admin's token, and a committee staff member's for each committee the uploads land in."""
    with app.app_context():
        admin = User(name="区管理员", phone="13900000000", role="district_admin")
        db.session.add(admin)
        staff = {}
        for i, code in enumerate(codes, 1):
            staff[code] = User(name=f"居委 {code}", phone=f"139{i:08d}", role="committee_staff",
                               area_id=boundaries.latest(code).id)
            db.session.add(staff[code])
        db.session.flush()
        tokens = {"admin": auth.issue_token(admin)} | {code: auth.issue_token(u) for code, u in staff.items()}
        db.session.commit()
        return tokens


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def rss_mb(server: chaos.Gunicorn) -> list[int]:
    found = []
    for pid in sorted(server.workers()):
        try:
            line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS"))
        except (OSError, StopIteration):
            continue
        found.append(int(line.split()[1]) // 1024)
    return found


def database_figures(pair: soak_rig.Pair) -> tuple[str, str]:
    try:
        with psycopg.connect(soak_rig.plain(pair.owner_url()), connect_timeout=2) as conn:
            conns = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                                 ).fetchone()[0]
            depth = conn.execute("SELECT count(*) FROM notification WHERE status = 'pending'").fetchone()[0]
            return str(conns), str(depth)
    except psycopg.Error:
        return "-", "-"


def minute_row(n: int, window: list[Sample], rss: list[int], pg: tuple[str, str]) -> dict:
    kinds = {}
    for kind in MIX:
        ms = [(s.ended - s.started) * 1000 for s in window if s.kind == kind and s.status and s.status < 500]
        if ms:
            kinds[kind] = (len(ms), statistics.median(ms), percentile(ms, 0.95), percentile(ms, 0.99))
    errors: dict = {}
    for s in window:
        if s.status is None or s.status >= 400:
            errors[s.status or "cut"] = errors.get(s.status or "cut", 0) + 1
    shown = "  ".join(f"{k} {v[0]} {v[1]:.0f}/{v[2]:.0f}/{v[3]:.0f}" for k, v in kinds.items())
    print(f"{n:>4} | {shown} | errors {errors or '-'} | rss MB {rss} | pg {pg[0]} | outbox {pg[1]}", flush=True)
    return {"tick": n, "kinds": kinds, "errors": errors, "rss": rss}


def background(env: dict, until: float, log: Path) -> list:
    """notify --loop beside the load (started again should it exit), and escalate once a minute."""
    procs = []

    def notify() -> None:
        while time.monotonic() < until:
            with open(log, "a") as out:
                proc = subprocess.Popen([str(chaos.HAZARD_SNAP), "notify", "--loop", "--interval", "5"], env=env,
                                        stdout=out, stderr=subprocess.STDOUT)
            procs.append(proc)
            while proc.poll() is None and time.monotonic() < until:
                time.sleep(1)
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)

    def escalate() -> None:
        while time.monotonic() < until:
            with open(log, "a") as out:
                subprocess.run([str(chaos.HAZARD_SNAP), "escalate"], env=env, stdout=out, stderr=subprocess.STDOUT,
                               timeout=300)
            time.sleep(60)

    threads = [threading.Thread(target=f, daemon=True) for f in (notify, escalate)]
    for t in threads:
        t.start()
    return procs


def run(minutes: float, reports: int, clients: int, think_s: float, tick_s: float, failover_at: float | None,
        upgrade_at: float | None) -> dict:
    work = Path(tempfile.mkdtemp(prefix="hazard-soak-"))
    pair, bouncer, server = soak_rig.Pair(work), None, None
    try:
        pair.primary.pg("start")
        owner, app_url = pair.primary.urls()
        env, _points = chaos.prepare(owner, app_url, work / "photos", revision=BEFORE)
        app = create_app({"SQLALCHEMY_DATABASE_URI": owner, "PHOTO_DIR": str(work / "photos"),
                          "SECRET_KEY": secrets.token_hex(32), "LOG_LEVEL": "WARNING"})
        seeded = scale.seed(app, reports)
        with psycopg.connect(soak_rig.plain(owner)) as conn:
            points = conn.execute("SELECT code, ST_X(p), ST_Y(p) FROM (SELECT code, ST_PointOnSurface(geom) p "
                                  "FROM area WHERE level = 'committee' ORDER BY code LIMIT 20) s").fetchall()
        tokens = people(app, [code for code, _x, _y in points])
        # The seeded backlog escalated and told first, as a district's cron has done all along: the load then
        # meets a steady outbox, not a year of overdue reports escalated in its first minute.
        chaos.cli(env, "escalate")
        chaos.cli(env, "notify")
        pair.start_standby()
        bouncer = soak_rig.Bouncer(work / "pgbouncer", owner)
        env = env | {"DATABASE_URL": bouncer.url(app_url), "DATABASE_OWNER_URL": bouncer.url(owner),
                     "DATABASE_POOLED": "1"}
        server = chaos.Gunicorn(env, work / "gunicorn.log")
        print(f"soak: {reports:,} reports seeded in {seeded:.0f} s; {clients} clients for {minutes} min through "
              f"gunicorn (4 workers) and PgBouncer; failover at {failover_at} s, upgrade at {upgrade_at} s", flush=True)
        started = time.monotonic()
        until = started + minutes * 60
        load = Load(server.base, tokens, points, until)
        faults = Faults(started, failover_at, upgrade_at, pair, bouncer, env, server)
        procs = background(env, until, work / "background.log")
        threads = [threading.Thread(target=load.client, args=(n, think_s), daemon=True) for n in range(clients)]
        for t in [*threads, faults]:
            t.start()
        rows, tick = [], 1
        print("tick | kind n p50/p95/p99 ms | errors | worker RSS | pg connections | outbox", flush=True)
        while time.monotonic() < until:
            time.sleep(max(0.0, started + tick * tick_s - time.monotonic()))
            end = started + tick * tick_s
            window = [s for s in load.samples if end - tick_s <= s.ended < end]
            rows.append(minute_row(tick, window, rss_mb(server), database_figures(pair)))
            tick += 1
        for t in [*threads, faults]:
            t.join(timeout=300)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        result = verdict(load, faults, rows, pair.owner_url(), minutes, MIX)
        result["passed"] = passed(result)
        for key, value in result.items():
            print(f"  {key}: {value}", flush=True)
        if result["unexpected_5xx"]:  # the server's word on them, before its log goes with the work directory
            print(errors_logged(work / "gunicorn.log"))
        return result
    finally:
        if server:
            server.stop()
        if bouncer:
            bouncer.stop()
        pair.stop()
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--reports", type=int, default=1_000_000, help="rows seeded first (default %(default)s)")
    p.add_argument("--clients", type=int, default=12)
    p.add_argument("--think", type=float, default=0.3, help="mean seconds a client waits between requests")
    p.add_argument("--tick", type=float, default=60, help="seconds per printed row (default a minute)")
    p.add_argument("--failover-at", type=float, help="seconds into the run (default 40 %% of it)")
    p.add_argument("--upgrade-at", type=float, help="seconds into the run (default 60 %% of it)")
    p.add_argument("--no-faults", action="store_true")
    args = p.parse_args(argv)
    total = args.minutes * 60
    failover = None if args.no_faults else (args.failover_at if args.failover_at is not None else 0.4 * total)
    upgrade = None if args.no_faults else (args.upgrade_at if args.upgrade_at is not None else 0.6 * total)
    result = run(args.minutes, args.reports, args.clients, args.think, args.tick, failover, upgrade)
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
