"""Benchmark hostile uploads: CPU seconds and peak memory per request, service against bare Pillow.

Each row is measured in a fresh process: "bare Pillow" decodes the file the way intake did before (open,
load, shrink, encode; no checks, no ceilings); "service" sends it through the Flask app to POST
/api/v1/reports on a scratch PostGIS database, photo sandbox included. CPU counts the request's process and
every process it started (the decode zygote and its children); peak memory is the largest of them.
"cheap checks off" rows switch the header checks off so the file meets the CPU and memory ceilings.
Then a burst against gunicorn (2 workers, sync and gthread): concurrent uploads of three scan bombs each,
while /healthz is polled; the figure is its slowest answer."""
import argparse
import contextlib
import io
import os
import pickle
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.assign import drop_database  # noqa: E402
from service import create_app  # noqa: E402
from service.core import migrate  # noqa: E402
from service.photos import decode as photo_decode  # noqa: E402
from service.photos import pipeline as photos  # noqa: E402
from service.photos import sandbox  # noqa: E402
from tests.support import bombs  # noqa: E402
from tests.support.images import encode, scene  # noqa: E402

BENCH_DB = "hazard_snap_bench_hostile"
LOOSE = {"MAX_PIXELS_PER_BYTE": 10**9, "MAX_JPEG_SCANS": 10**6, "MAX_PHOTO_FRAMES": 10**6}
LOOSE_ROWS = ("progressive JPEG, 2000 scans", "lossless WebP 16000x4000", "1-bit PNG 8000x8000")
BARE_TIMEOUT_S = 120


def files() -> dict[str, bytes]:
    return {
        "12 MP phone JPEG": encode(scene(7, (4000, 3000)), "JPEG", quality=88),
        "progressive JPEG, 2000 scans": bombs.progressive_scan_bomb(),
        "lossless WebP 16000x4000": bombs.webp_pixel_bomb(),
        "1-bit PNG 8000x8000": bombs.png_1bit_bomb(),
        "HEIC with 100 images": bombs.heic_many_images(),
        "MPO with 40 frames": bombs.mpo_many_frames(),
    }


def _proc_cpu(pid: int) -> float:
    """CPU seconds of a live process and of the children it has reaped (fields utime..cstime of /proc stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _cpu_now() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    zygote = sandbox._state.get("zygote")
    return me.ru_utime + me.ru_stime + (_proc_cpu(zygote["proc"].pid) if zygote else 0.0)


def measured(work, warm_up=None) -> dict:
    """Run work() in a fresh child; return its answer, its CPU seconds (with the zygote and decode children)
    and the peak RSS of it and of its largest decode child. warm_up() runs first and is not counted: it
    starts the zygote, which a web worker does once, not per request."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        if warm_up:
            warm_up()
        cpu, started = _cpu_now(), time.monotonic()
        try:
            answer = work()
        except BaseException as e:  # report, do not die: the row shows it
            answer = f"error: {type(e).__name__}"
        wall, cpu = time.monotonic() - started, _cpu_now() - cpu
        sandbox.shutdown()  # the zygote waits for its children: their peak lands in our RUSAGE_CHILDREN
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        os.write(writer, pickle.dumps({"answer": answer, "wall": wall, "cpu": cpu, "rss": me.ru_maxrss,
                                       "kids_rss": kids.ru_maxrss}))
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as f:
        raw = f.read()
    os.waitpid(pid, 0)
    return pickle.loads(raw) if raw else {"answer": "killed", "wall": 0, "cpu": 0, "rss": 0, "kids_rss": 0}


def bare(data: bytes):
    resource.setrlimit(resource.RLIMIT_CPU, (BARE_TIMEOUT_S, BARE_TIMEOUT_S + 1))  # only so the bench ends
    photo_decode.derive(data)
    return "decoded"


def request(app, data: bytes, point: tuple[float, float], loose: bool):
    if loose:
        app.config.update(LOOSE)
    form = {"category": "combustibles", "lon": str(point[0]), "lat": str(point[1]),
            "photo": (io.BytesIO(data), "p.bin", "application/octet-stream")}
    r = app.test_client().post("/api/v1/reports", data=form, content_type="multipart/form-data")
    return f"{r.status_code} {r.get_json()['error']['code'] if r.status_code >= 400 else 'stored'}"


def setup(url: str) -> tuple[float, float]:
    """Recreate the scratch database with the demo district; return a point inside a committee."""
    drop_database(url)
    migrate.ensure_database(url)
    migrate.upgrade(url)
    subprocess.run([str(ROOT / ".venv" / "bin" / "hazard-snap"), "demo-data"], cwd=ROOT, check=True,
                   env=os.environ | {"DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32)},
                   stdout=subprocess.DEVNULL)
    engine = create_engine(url)
    with engine.connect() as conn:
        point = tuple(conn.execute(text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM area"
                                        " WHERE level = 'committee' ORDER BY code LIMIT 1) s")).one())
    engine.dispose()
    return point


def start_gunicorn(url: str, photo_dir: str, workers: list[str], env: dict) -> tuple[subprocess.Popen, str]:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), *workers, "--bind", f"127.0.0.1:{port}", "service:create_app()"]
    env = os.environ | env | {"DATABASE_URL": url, "PHOTO_DIR": photo_dir, "SECRET_KEY": secrets.token_hex(32),
                              "PUBLIC_REPORTS_PER_HOUR": "1000000000", "PUBLIC_REPORTS_PER_MINUTE": "1000000000"}
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        with contextlib.suppress(requests.RequestException):
            if requests.get(base + "/healthz", timeout=5).status_code == 200:
                return proc, base
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not answer /healthz")


def burst(url: str, point, photo_dir: str, workers: list[str], env: dict, uploads: int) -> str:
    """Send `uploads` concurrent requests of three scan bombs; return the outcomes and /healthz's slowest wait."""
    proc, base = start_gunicorn(url, photo_dir, workers, env)
    bomb = bombs.progressive_scan_bomb()
    form = {"category": "combustibles", "lon": str(point[0]), "lat": str(point[1])}
    files = [("photo", (f"p{i}.jpg", bomb, "image/jpeg")) for i in range(3)]
    try:
        with ThreadPoolExecutor(uploads) as pool:
            sent = [pool.submit(requests.post, base + "/api/v1/reports", data=form, files=files, timeout=120)
                    for _ in range(uploads)]
            waits = []
            while not all(f.done() for f in sent):
                started = time.monotonic()
                requests.get(base + "/healthz", timeout=120)
                waits.append(time.monotonic() - started)
                time.sleep(0.1)
            codes = sorted(f.result().status_code for f in sent)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return f"answers {codes}, /healthz slowest {max(waits, default=0):.2f} s over {len(waits)} polls"


def row(label: str, kind: str, m: dict) -> str:
    cpu, peak = m["cpu"], max(m["rss"], m["kids_rss"]) / 1024
    return (f"{label:30} {kind:22} {cpu:8.2f} {m['wall']:8.2f} {peak:9.0f} {m['kids_rss'] / 1024:9.0f}  "
            f"{m['answer']}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:5439/{BENCH_DB}"))
    p.add_argument("--burst", type=int, default=4, help="concurrent bomb uploads (default %(default)s)")
    args = p.parse_args(argv)
    point = setup(args.database_url)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "SECRET_KEY": secrets.token_hex(32),
                          "PHOTO_DIR": tmp, "PUBLIC_REPORTS_PER_HOUR": 10**9, "PUBLIC_REPORTS_PER_MINUTE": 10**9})
        cfg = app.config
        print(f"ceilings: {cfg['DECODE_CPU_S']} CPU s, {cfg['DECODE_MEMORY_MB']} MB per photo; "
              f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
        print(f"{'file':30} {'pipeline':22} {'CPU s':>8} {'wall s':>8} {'peak MB':>9} {'child MB':>9}  outcome")
        print("(peak MB: largest process, the worker included; child MB: largest decode child)")
        warm = lambda: sandbox.derive_all([encode(scene(1, (240, 180)))], photos._ceilings())  # noqa: E731
        for label, data in files().items():
            print(row(label, "bare Pillow", measured(lambda d=data: bare(d))), flush=True)
            print(row("", "service", measured(lambda d=data: request(app, d, point, False), warm)), flush=True)
            if label in LOOSE_ROWS:
                print(row("", "service, cheap checks off",
                          measured(lambda d=data: request(app, d, point, True), warm)), flush=True)
        loose = {k: str(v) for k, v in LOOSE.items()}
        for name, workers in (("sync", ["--workers", "2"]),
                              ("gthread", ["--workers", "2", "--worker-class", "gthread", "--threads", "4"])):
            for label, env in (("checks on", {}), ("cheap checks off", loose)):
                line = burst(args.database_url, point, tmp, workers, env, args.burst)
                print(f"burst of {args.burst} x 3 scan bombs, gunicorn {name}, {label}: {line}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
