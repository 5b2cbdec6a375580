"""Benchmark photo intake: 12-MP JPEG uploads through gunicorn + Flask + PostGIS against the bare Pillow pipeline.

Scratch DB, phone-like JPEGs with EXIF GPS, gunicorn with 2 workers under 1/4/16 upload threads; bare Pillow and
process_photo in a Pool(2), the server's parallelism. The bare pipeline blurs faces with the same detector
(service/photos/faces.py), so the ratio measures the service's own cost. Goal: >= 0.85x the bare rate."""
import argparse
import contextlib
import io
import itertools
import math
import multiprocessing
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import gunicorn
import pillow_heif
import requests
from PIL import Image, ImageChops, ImageDraw, ImageOps, features
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from geo.exif import build_gps_exif
from service.core import migrate
from service.photos import faces
from service.photos.pipeline import PUBLIC_MAX, THUMB_MAX, process_photo

ROOT = Path(__file__).resolve().parents[1]
BENCH_DB = "hazard_snap_bench_intake"
PRIVATE_URL = f"postgresql+psycopg://postgres@127.0.0.1:5439/{BENCH_DB}"
SECRET = {"SECRET_KEY": secrets.token_hex(32)}  # the app refuses to start without a real key
GOAL = 0.85
SIZE = (4000, 3000)
POINTS_SQL = ("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM area WHERE level='committee' "
              "ORDER BY code LIMIT 20) s")
CONFIGS = {"sync": ["--workers", "2"], "gthread": ["--workers", "2", "--worker-class", "gthread", "--threads", "4"]}
_IMAGES: list[bytes] = []  # the JPEGs, in each Pool worker (filled by its initializer)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", PRIVATE_URL), help="scratch "
                   "DB, dropped and recreated; name must contain 'bench' (default $BENCH_DATABASE_URL or %(default)s)")
    p.add_argument("--duration", type=float, default=12.0, help="seconds of uploads per level (default %(default)s)")
    p.add_argument("--requests", type=int, default=0, help="at most this many uploads per level (0: no cap)")
    p.add_argument("--concurrency", default="1,4,16", help="client thread counts (default %(default)s)")
    p.add_argument("--images", type=int, default=10, help="distinct 4000x3000 JPEGs, 1-20 (default %(default)s)")
    p.add_argument("--passes", type=int, default=4, help="Pool(2) passes over the images (default %(default)s)")
    p.add_argument("--configs", default="sync,gthread", help="gunicorn configurations (default %(default)s)")
    p.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = p.parse_args(argv)
    args.levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    if not (args.levels and min(args.levels) >= 1 and 1 <= args.images <= 20 and args.passes >= 1
            and args.duration > 0 and args.requests >= 0 and args.configs and set(args.configs) <= set(CONFIGS)):
        p.error(f"bad option values; --configs is a list among {', '.join(CONFIGS)}")
    return args


def drop_database(url: str) -> None:
    if "bench" not in (name := make_url(url).database or ""):
        raise SystemExit(f"refusing to drop database {name!r}: its name lacks 'bench'")
    engine = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def setup_database(url: str) -> tuple[list[tuple[float, float]], str]:
    """Recreate, migrate and load the demo district; return interior points of 20 committees and the PG version."""
    drop_database(url)
    migrate.ensure_database(url)
    migrate.upgrade(url)
    subprocess.run([str(ROOT / ".venv" / "bin" / "hazard-snap"), "demo-data"],
                   env=os.environ | SECRET | {"DATABASE_URL": url}, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    engine = create_engine(url)
    with engine.connect() as conn:
        points = [tuple(r) for r in conn.execute(text(POINTS_SQL))]
        version = conn.scalar(text("SELECT version()"))
    engine.dispose()
    return points, " ".join(version.split()[:2])


def synth_photo(job: tuple[Path, int, float, float]) -> Path:
    """Write a photo-like 4000x3000 JPEG q90 (gradients, blotchy and fine noise, shapes) with EXIF GPS and time."""
    path, seed, lon, lat = job
    rnd = random.Random(seed)
    chans = []
    for c in range(3):
        grad = Image.linear_gradient("L").rotate(rnd.uniform(0, 360)).resize(SIZE)
        blotch = Image.effect_noise((SIZE[0] // 16, SIZE[1] // 16), 48).resize(SIZE, Image.Resampling.BICUBIC)
        tint = Image.new("L", SIZE, 140 + 40 * c + rnd.randrange(-20, 20))
        chans.append(ImageChops.add(ImageChops.multiply(grad, tint), blotch, 1.2, -60))
    img = Image.merge("RGB", chans)
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x, y, w, h = rnd.randrange(SIZE[0]), rnd.randrange(SIZE[1]), rnd.randrange(50, 900), rnd.randrange(50, 700)
        shape = draw.ellipse if rnd.random() < 0.5 else draw.rectangle
        shape((x, y, x + w, y + h), fill=tuple(rnd.randrange(256) for _ in range(3)))
    img = Image.blend(img, Image.effect_noise(SIZE, 20).convert("RGB"), 0.25)
    taken = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None, microsecond=0)
    img.save(path, "JPEG", quality=90, exif=build_gps_exif(lon, lat, taken))
    return path


def bare_pillow(data: bytes) -> None:
    """The derived copies with Pillow and the detector only: open, draft, exif_transpose, 2048 px, faces blurred
    (as BLUR_FACES=1 does), q85, 320 px q80."""
    img = Image.open(io.BytesIO(data))
    img.draft("RGB", (PUBLIC_MAX // 2, PUBLIC_MAX // 2))  # the same decode scale as the service
    public = ImageOps.exif_transpose(img)
    public.thumbnail((PUBLIC_MAX, PUBLIC_MAX), Image.Resampling.LANCZOS)
    faces.blur_all(public)
    thumb = public.copy()
    thumb.thumbnail((THUMB_MAX, THUMB_MAX), Image.Resampling.LANCZOS)
    # The service's encoder parameters; no exif/icc/xmp given, so no metadata.
    public.save(io.BytesIO(), "JPEG", quality=85, optimize=False, progressive=True)
    thumb.save(io.BytesIO(), "JPEG", quality=80, optimize=False, progressive=True)


def pool_task(job: tuple[str, int]) -> float:
    """Run one image through bare Pillow or process_photo in a Pool worker; return its CPU seconds."""
    kind, i = job
    start = time.process_time()
    bare_pillow(_IMAGES[i]) if kind == "bare" else process_photo(_IMAGES[i], 64_000_000)
    return time.process_time() - start


def pool_rate(kind: str, images: list[bytes], passes: int) -> tuple:
    """Every image `passes` times in a Pool(2) after a warm-up; return a table row."""
    jobs = [(kind, i) for _ in range(passes) for i in range(len(images))]
    with multiprocessing.Pool(2, initializer=_IMAGES.extend, initargs=(images,)) as pool:
        pool.map(pool_task, jobs[:2], chunksize=1)
        start = time.perf_counter()
        cpu = sum(pool.map(pool_task, jobs, chunksize=1))
        seconds, nan = time.perf_counter() - start, math.nan
    name = "bare Pillow Pool(2)" if kind == "bare" else "process_photo Pool(2)"
    return name, 2, len(jobs), seconds, nan, nan, cpu / len(jobs), nan, nan, "-", 0


def cpu_seconds(master: int, db: str) -> list[float]:
    """CPU seconds so far of gunicorn's workers, PostgreSQL backends on the bench DB and this process (clients)."""
    out = [0.0, 0.0, time.process_time()]
    for d in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            f = (d / "stat").read_text().rsplit(")", 1)[1].split()
            pg = (d / "cmdline").read_bytes().startswith(f"postgres: postgres {db} ".encode())
            if int(f[1]) == master or pg:
                out[int(pg)] += (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    return out


def start_server(config: str, url: str, photo_dir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """Start gunicorn on a free loopback port; return it and its base URL once /healthz answers 200."""
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), *CONFIGS[config], "--bind", f"127.0.0.1:{port}",
           "--error-logfile", str(log), "service:create_app()"]
    # The public per-IP limits (burst and hourly) would refuse a benchmark from one loopback address.
    env = os.environ | SECRET | {"DATABASE_URL": url, "PHOTO_DIR": str(photo_dir),
                                 "PUBLIC_REPORTS_PER_HOUR": "1000000000", "PUBLIC_REPORTS_PER_MINUTE": "1000000000"}
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(requests.RequestException):
            if requests.get(base + "/healthz", timeout=10).status_code == 200:
                return proc, base
        time.sleep(0.2)
    stop_server(proc)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise RuntimeError(f"gunicorn ({config}) did not answer /healthz 200 within 60 s:\n{tail}")


def stop_server(proc: subprocess.Popen) -> int:
    proc.terminate()  # gunicorn's graceful stop; the arbiter waits for its workers
    with contextlib.suppress(subprocess.TimeoutExpired):
        return proc.wait(timeout=30)
    proc.kill()
    return proc.wait()


def upload_level(base: str, images: list[bytes], threads: int, duration: float, cap: int) -> dict:
    """Upload from `threads` keep-alive sessions until the duration (or cap) is used up; collect latencies."""
    counter, deadline = itertools.count(), time.perf_counter() + duration  # next(), .append, .add: atomic (GIL)
    out = {"latencies": [], "errors": [], "committees": set()}

    def client() -> None:
        with requests.Session() as session:
            while (i := next(counter)) < (cap or float("inf")) and time.perf_counter() < deadline:
                tag, data = f"bench upload {i} {time.time_ns()}".encode(), images[i % len(images)]
                body = data[:2] + b"\xff\xfe" + (len(tag) + 2).to_bytes(2, "big") + tag + data[2:]  # COM: own sha256
                t0 = time.perf_counter()
                try:
                    r = session.post(base + "/api/v1/reports", data={"category": "other"},
                                     files={"photo": (f"IMG_{i:05d}.jpg", body, "image/jpeg")}, timeout=120)
                    problem = None if r.status_code == 201 else f"HTTP {r.status_code}: {r.text[:300]}"
                    code = (r.json().get("committee") or {}).get("code") if not problem else None
                except requests.RequestException as e:
                    problem = f"{type(e).__name__}: {e}"
                if problem:
                    out["errors"].append(problem)
                else:
                    out["latencies"].append(time.perf_counter() - t0)
                    out["committees"].add(code)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: client(), range(threads)))
    out["seconds"] = time.perf_counter() - (deadline - duration)
    return out


def run_config(config: str, url: str, tmp: Path, images: list[bytes], args) -> tuple[list[tuple], list[str]]:
    """Serve with one gunicorn configuration and upload at every concurrency level; return rows and errors."""
    proc, base = start_server(config, url, tmp / "photos", tmp / f"gunicorn-{config}.log")
    rows, errors = [], []
    try:
        warm = upload_level(base, images, 2, 60, 4)  # warm-up: imports, DB pools, page cache (untimed)
        errors += [f"{config} warm-up: {e}" for e in warm["errors"]]
        for c in args.levels:
            cpu = cpu_seconds(proc.pid, make_url(url).database)
            res = upload_level(base, images, c, args.duration, args.requests)
            cpu = [a - b for a, b in zip(cpu_seconds(proc.pid, make_url(url).database), cpu, strict=True)]
            n, lat = len(res["latencies"]), sorted(res["latencies"]) or [math.nan]
            p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
            rows.append((f"gunicorn {config}", c, n, res["seconds"], statistics.median(lat), p95,
                         *(x / max(n, 1) for x in cpu), len(res["committees"]), len(res["errors"])))
            errors += [f"{config} C={c}: {e}" for e in res["errors"]]
    finally:
        stop_server(proc)
    return rows, errors


def print_table(rows: list[tuple], bare: tuple) -> None:
    ms = lambda x: "-" if math.isnan(x) else f"{x * 1000:.0f}"  # noqa: E731
    lines = [("configuration", "C", "uploads", "seconds", "uploads/s", "p50 ms", "p95 ms", "CPU ms/upload: worker",
              "PG", "client", "committees", "errors", "vs bare rate", "vs bare CPU")]
    for name, c, n, secs, p50, p95, worker, pg, client, comm, errs in rows:
        lines.append((name, str(c), str(n), f"{secs:.2f}", f"{n / secs:.2f}", ms(p50), ms(p95), ms(worker), ms(pg),
                      ms(client), str(comm), str(errs), f"{n / secs / (bare[2] / bare[3]):.2f}x",
                      f"{bare[6] / (worker + (0 if math.isnan(pg) else pg)):.2f}x"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    lines.insert(1, tuple("-" * w for w in widths))
    for line in lines:
        print("  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(line, widths, strict=True))))


def machine_facts(pg: str) -> list[str]:
    cpu = re.search(r"^model name\s*: (.*)$", Path("/proc/cpuinfo").read_text(), re.M)
    return [f"nproc {len(os.sched_getaffinity(0))} ({cpu.group(1) if cpu else '?'}), "
            f"Python {sys.version.split()[0]}, {pg}, gunicorn {gunicorn.__version__}, load avg {os.getloadavg()}",
            f"Pillow {Image.__version__} (libjpeg-turbo: {features.check_feature('libjpeg_turbo')}, "
            f"{features.version_feature('libjpeg_turbo')}), pillow-heif {pillow_heif.__version__}",
            "note: the client threads run on the same cores as the 2 gunicorn workers and PostgreSQL (loopback); "
            "wall-clock rates suffer from any other load, the CPU ms columns much less"]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows, errors, failed = [], [], []
    try:
        points, pg = setup_database(args.database_url)
        with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
            jobs = [(Path(tmp) / f"photo{i:02d}.jpg", i, *points[i * len(points) // args.images])
                    for i in range(args.images)]
            with multiprocessing.Pool(2) as pool:
                images = [p.read_bytes() for p in pool.map(synth_photo, jobs, chunksize=1)]
            print(f"{make_url(args.database_url).database} recreated with demo data; {len(images)} 4000x3000 JPEGs "
                  f"q90 with EXIF GPS, {min(map(len, images)) / 2**20:.1f}-{max(map(len, images)) / 2**20:.1f} MB each")
            bare, service = (pool_rate(kind, images, args.passes) for kind in ("bare", "service"))
            for config in args.configs:
                try:
                    got, errs = run_config(config, args.database_url, Path(tmp), images, args)
                    rows, errors = rows + got, errors + errs
                except RuntimeError as e:
                    failed.append(str(e))
            bare = max(bare, pool_rate("bare", images, args.passes), key=lambda r: r[2] / r[3])  # again, after
    finally:
        if not args.keep:
            drop_database(args.database_url)
    print(f"\nuploads per level: {args.duration:g} s" + (f" or {args.requests} uploads" if args.requests else "")
          + f"; goal: uploads/s >= {GOAL}x the bare Pillow Pool(2) rate, the better of a run before and one after "
          "the servers (C: client threads; Pool rows: processes)")
    print_table([bare, service, *rows], bare)
    if rows:
        best = max(rows, key=lambda r: r[2] / r[3])
        ratio = best[2] / best[3] / (bare[2] / bare[3])
        print(f"best: {best[0]} C={best[1]} at {ratio:.2f}x bare Pillow: goal {'met' if ratio >= GOAL else 'NOT met'}")
    print(f"bare Pillow kept {bare[2] / bare[3] * bare[6] / 2:.0%} of 2 cores busy (far below 100 %: other load)")
    print("\n".join(["", *machine_facts(pg), *(f"ERROR {e}" for e in errors[:10] + failed)]))
    print(f"bench database {'kept' if args.keep else 'dropped'}; failed: {len(errors)} uploads, {len(failed)} servers")
    return 2 if failed else 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
