"""Chaos proof: concurrent clients upload through gunicorn (4 workers), retrying by client_report_id, while
PostgreSQL is restarted (fast shutdown, then start) and one gunicorn worker is killed with -9. Afterwards:
every acknowledged report exists exactly once, no report lacks its photos, no photo file lacks its row, the
sweep has nothing to roll forward, and the outbox holds every notification exactly once.

It runs on a scratch cluster of its own (.ci/postgis.sh with another directory and port), never the shared one.
Full form: `.venv/bin/python -m bench.chaos --clients 200 --uploads 3`; tests/system/test_chaos.py runs a short one.
"""
import argparse
import io
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
from PIL import Image, ImageDraw

from service.photos.storage import LocalStorage

ROOT = Path(__file__).resolve().parents[1]
HAZARD_SNAP = Path(sys.executable).parent / "hazard-snap"
GUNICORN = Path(sys.executable).parent / "gunicorn"
CONTACT = "town-{code}@example.test"
RETRY_CAP_S = 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A scratch PostGIS cluster of this run's own, managed by the project's script."""

    def __init__(self, directory: Path):
        self.env = os.environ | {"HAZARD_PG_DIR": str(directory), "HAZARD_PG_PORT": str(free_port()),
                                 "HAZARD_DB_NAME": "hazard_snap_chaos"}

    def pg(self, command: str) -> str:
        done = subprocess.run([str(ROOT / ".ci/postgis.sh"), command], env=self.env, capture_output=True,
                              text=True)
        if done.returncode:
            raise RuntimeError(f"postgis.sh {command} failed:\n{done.stdout}{done.stderr}")
        return done.stdout.strip()

    def urls(self) -> tuple[str, str]:
        return self.pg("url"), self.pg("app-url")

    def restart(self, pause_s: float) -> None:
        self.pg("stop")  # pg_ctl -m fast: sessions are cut, open transactions roll back
        time.sleep(pause_s)
        self.pg("start")


def cli(env: dict, *args: str) -> str:
    done = subprocess.run([str(HAZARD_SNAP), *args], env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"hazard-snap {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def prepare(owner_url: str, app_url: str, photo_dir: Path,
            revision: str = "head") -> tuple[dict, list[tuple[float, float]]]:
    """Migrate (to `revision`), load the demo district, give every town an e-mail contact; return the app's env
    and points."""
    env = os.environ | {"DATABASE_OWNER_URL": owner_url, "DATABASE_URL": app_url, "PHOTO_DIR": str(photo_dir),
                        "SECRET_KEY": secrets.token_hex(32), "PUBLIC_REPORTS_PER_HOUR": "1000000000",
                        "PUBLIC_REPORTS_PER_MINUTE": "1000000000", "LOG_LEVEL": "WARNING"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cli(env, "db", "upgrade", "--revision", revision)
    cli(env | {"DATABASE_URL": owner_url}, "demo-data", "--if-empty")
    with psycopg.connect(owner_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("INSERT INTO area_contact (area_id, channel, target) SELECT id, 'email', "
                     "replace(%s, '{code}', code) FROM area WHERE level = 'town'", (CONTACT,))
        points = conn.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM area "
                              "WHERE level = 'committee' ORDER BY code LIMIT 50) s").fetchall()
    return env, points


class Gunicorn:
    """The app under gunicorn with the project's settings (service/ops/gunicorn_conf.py) and 4 workers."""

    def __init__(self, env: dict, log: Path, workers: int = 4, port: int | None = None):
        self.base = f"http://127.0.0.1:{port or free_port()}"
        with open(log, "w") as out:
            self.proc = subprocess.Popen(
                [str(GUNICORN), "-c", "service/ops/gunicorn_conf.py", "--workers", str(workers), "--timeout", "120",
                 "--bind", self.base.removeprefix("http://"), "service:create_app()"],
                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)

    def _answers(self) -> bool:
        try:
            return requests.get(self.base + "/healthz", timeout=30).status_code == 200
        except requests.RequestException:
            return False

    def workers(self) -> set[int]:
        return {int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()}

    def kill_worker(self) -> int:
        victim = random.choice(sorted(self.workers()))
        os.kill(victim, signal.SIGKILL)
        return victim

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)


@dataclass
class Attempt:
    started: float
    seconds: float
    status: int | None  # None: no answer (connection cut, timeout)
    error: str = ""  # the error code of a refusal (e.g. db_unavailable)


@dataclass
class Upload:
    client_report_id: str
    report_id: str | None = None
    attempts: list[Attempt] = field(default_factory=list)


def photo(seed: int) -> bytes:
    rng = random.Random(seed)
    img = Image.new("RGB", (640, 480), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, y = rng.randrange(600), rng.randrange(440)
        draw.rectangle((x, y, x + rng.randrange(10, 120), y + rng.randrange(10, 120)),
                       fill=tuple(rng.randrange(256) for _ in range(3)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def error_code(r: requests.Response) -> str:
    if r.ok:
        return ""
    try:
        return r.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return "not-json"


def upload(base: str, point, seed: int, give_up_at: float) -> Upload:
    """Send one report until the server acknowledges it, retrying the same client_report_id and content."""
    done, data, wait = Upload(f"chaos-{seed}-{secrets.token_hex(4)}"), photo(seed), 0.2
    form = {"category": "combustibles", "description": f"混沌测试 {seed}", "lon": str(point[0]),
            "lat": str(point[1]), "client_report_id": done.client_report_id}
    while time.monotonic() < give_up_at:
        started = time.monotonic()
        try:
            r = requests.post(base + "/api/v1/reports", data=form, timeout=60,
                              files=[("photo", (f"{seed}.jpg", data, "image/jpeg"))])
            status, error = r.status_code, error_code(r)
        except requests.RequestException:
            status, error = None, "cut"
        done.attempts.append(Attempt(started, time.monotonic() - started, status, error))
        if status in (200, 201):
            done.report_id = r.json()["id"]
            return done
        if status is not None and status < 500:
            return done  # refused: a bug in this bench or the service, reported as unacknowledged
        time.sleep(wait)
        wait = min(wait * 2, RETRY_CAP_S)
    return done


@dataclass
class Fault:
    started: float = 0.0
    ended: float = 0.0
    killed: int = 0
    replaced: bool = False
    probe_status: int | None = None


def inject(server: Gunicorn, cluster: Cluster, acked: threading.Semaphore, after: int, pause_s: float,
           probe_point) -> Fault:
    """Once `after` uploads are acknowledged: kill a worker with -9, restart PostgreSQL, probe while it is down."""
    for _ in range(after):
        acked.acquire()
    fault = Fault(started=time.monotonic())
    fault.killed = server.kill_worker()
    cluster.pg("stop")
    try:  # proof that the outage is real: an upload now cannot be stored
        fault.probe_status = requests.post(server.base + "/api/v1/reports", timeout=60,
                                           data={"category": "combustibles", "lon": probe_point[0],
                                                 "lat": probe_point[1]},
                                           files=[("photo", ("p.jpg", photo(-1), "image/jpeg"))]).status_code
    except requests.RequestException:
        fault.probe_status = None
    time.sleep(pause_s)
    cluster.pg("start")
    fault.ended = time.monotonic()
    deadline = time.monotonic() + 60
    while not fault.replaced and time.monotonic() < deadline:
        workers = server.workers()
        fault.replaced = fault.killed not in workers and len(workers) == 4
        time.sleep(0.2)
    return fault


def check(owner_url: str, env: dict, uploads: list[Upload]) -> dict:
    """Count every way the run could have lost or doubled something (all should be 0), and what exists."""
    acked = {u.client_report_id: u.report_id for u in uploads if u.report_id}
    with psycopg.connect(owner_url.replace("+psycopg", "")) as conn:
        stored = conn.execute("SELECT client_report_id, id::text FROM report").fetchall()
        keys = {k for row in conn.execute("SELECT original_key, public_key, thumb_key FROM photo") for k in row}
        q = {
            "reports_without_photos": "SELECT count(*) FROM report r WHERE NOT EXISTS "
                                      "(SELECT 1 FROM photo p WHERE p.report_id = r.id)",
            "reports_without_one_submit_event": "SELECT count(*) FROM report r WHERE (SELECT count(*) FROM "
                                                "report_event e WHERE e.report_id = r.id AND e.from_status IS NULL)"
                                                " <> 1",
            "submit_events_without_their_notification": "SELECT count(*) FROM report_event e WHERE e.from_status "
                                                        "IS NULL AND NOT EXISTS (SELECT 1 FROM notification n "
                                                        "WHERE n.event_id = e.id)",
            "notifications_doubled": "SELECT count(*) FROM (SELECT 1 FROM notification GROUP BY event_id, target "
                                     "HAVING count(*) > 1) d",
            "notifications": "SELECT count(*) FROM notification",
        }
        found = {name: conn.execute(sql).fetchone()[0] for name, sql in q.items()}
    by_client: dict[str, list[str]] = {}
    for client_id, report_id in stored:
        by_client.setdefault(client_id, []).append(report_id)
    entries = list(LocalStorage(env["PHOTO_DIR"]).entries())
    published = {e.key for e in entries if not e.staged}
    sweep = cli(env, "photos", "sweep", "--older-than", "0").strip().splitlines()[-1]
    again = cli(env, "photos", "sweep", "--older-than", "0").strip().splitlines()[-1]
    return {
        "acknowledged": len(acked), "reports": len(stored), **{k: found.pop(k) for k in ("notifications",)},
        "acknowledged_missing_or_doubled": sum(by_client.get(c, []) != [r] for c, r in acked.items()),
        "reports_never_acknowledged": sum(1 for c in by_client if c not in acked),
        **found,
        "photo_rows_without_file": len(keys - published),
        "photo_files_without_row": len(published - keys),
        "staged_leftovers": sum(e.staged for e in entries),
        "sweep": sweep, "sweep_again": again,
    }


def percentiles(attempts: list[Attempt]) -> str:
    if not attempts:
        return "n=0"
    ms = sorted(a.seconds * 1000 for a in attempts)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    codes: dict = {}
    for a in attempts:
        key = f"{a.status or ''}{' ' if a.status and a.error else ''}{a.error}"
        codes[key] = codes.get(key, 0) + 1
    shown = " ".join(f"{k}:{v}" for k, v in sorted(codes.items(), key=str))
    return f"n={len(ms)} p50={statistics.median(ms):.0f} ms p95={p95:.0f} ms [{shown}]"


def run(clients: int, uploads_each: int, pause_s: float = 2.0) -> dict:
    """Run the whole proof; print and return the counts, the fault and the latencies by phase.

    Its cluster, photos and logs live in a directory of its own (not pytest's tmp_path, which a concurrent
    pytest session may prune), removed afterwards.
    """
    workdir = Path(tempfile.mkdtemp(prefix="hazard-chaos-"))
    try:
        return _run(clients, uploads_each, pause_s, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run(clients: int, uploads_each: int, pause_s: float, workdir: Path) -> dict:
    cluster = Cluster(workdir / "pg")
    cluster.pg("start")
    server = None
    try:
        env, points = prepare(*cluster.urls(), workdir / "photos")
        server = Gunicorn(env, workdir / "gunicorn.log")
        acked, give_up_at = threading.Semaphore(0), time.monotonic() + 600

        def client(n: int) -> list[Upload]:
            done = []
            for i in range(uploads_each):
                done.append(upload(server.base, points[(n + i) % len(points)], n * 1000 + i, give_up_at))
                if done[-1].report_id:
                    acked.release()
            return done

        started = time.monotonic()
        with ThreadPoolExecutor(clients + 1) as pool:
            faulting = pool.submit(inject, server, cluster, acked, max(1, clients * uploads_each // 3), pause_s,
                                   points[0])
            results = [u for f in [pool.submit(client, n) for n in range(clients)] for u in f.result()]
            for _ in range(clients * uploads_each):
                acked.release()  # in case too few were acknowledged for the fault to start
            fault = faulting.result()
        elapsed = time.monotonic() - started
        server.stop()
        server = None
        counts = check(cluster.urls()[0], env, results)
    finally:
        if server:
            server.stop()
        cluster.pg("stop")
    attempts = [a for u in results for a in u.attempts]
    phases = {"before": [a for a in attempts if a.started < fault.started],
              "during": [a for a in attempts if fault.started <= a.started < fault.ended],
              "after": [a for a in attempts if a.started >= fault.ended]}
    result = {"counts": counts, "fault": fault, "elapsed_s": elapsed, "phases": phases,
              "unexpected_5xx": sum(1 for a in attempts if a.status and a.status >= 500 and a.status != 503),
              "refused_4xx": sum(1 for a in attempts if a.status and 400 <= a.status < 500)}
    report(clients, uploads_each, result)
    if result["unexpected_5xx"]:  # what the server said about them, before its log goes with the work directory
        lines = (workdir / "gunicorn.log").read_text(errors="replace").splitlines()
        print("\n".join(line[:2000] for line in lines if "ERROR" in line or "Error" in line or "Traceback" in line))
    return result


def report(clients: int, uploads_each: int, result: dict) -> None:
    fault = result["fault"]
    print(f"chaos: {clients} clients x {uploads_each} uploads through gunicorn (4 workers) in "
          f"{result['elapsed_s']:.1f} s; worker {fault.killed} killed -9 (replaced: {fault.replaced}); PostgreSQL "
          f"fast-stopped and started, down {fault.ended - fault.started:.1f} s (an upload then: {fault.probe_status})")
    for name, phase in result["phases"].items():
        print(f"  {name:6} {percentiles(phase)}")
    print(f"  answers 5xx other than 503: {result['unexpected_5xx']}; 4xx: {result['refused_4xx']}")
    for name, value in result["counts"].items():
        print(f"  {name}: {value}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=200)
    p.add_argument("--uploads", type=int, default=3, help="uploads per client (default %(default)s)")
    p.add_argument("--pause", type=float, default=2.0, help="seconds PostgreSQL stays down (default %(default)s)")
    args = p.parse_args(argv)
    result = run(args.clients, args.uploads, args.pause)
    bad = {k: v for k, v in result["counts"].items() if isinstance(v, int) and v and k not in (
        "acknowledged", "reports", "notifications", "staged_leftovers")}
    return 1 if bad or result["unexpected_5xx"] or result["counts"]["acknowledged"] < args.clients * args.uploads \
        else 0


if __name__ == "__main__":
    sys.exit(main())
