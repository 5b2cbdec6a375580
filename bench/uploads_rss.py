"""Peak RSS of one gunicorn worker under 8 parallel 60 MB multipart posts, beside the same worker idle.

One worker with 8 threads (so all 8 posts land in it) on 127.0.0.1, a fresh server per case so the kernel's peak
(VmHWM) is that case's alone. Cases: the native report upload anonymous and with a bearer token, and the Open311
media upload anonymous. Each post is three 20 MB file parts of random bytes (no photo: refused after the parse,
or by the limiter). Prints idle RSS, peak RSS, the peak's growth over idle and its ratio to 8 x 60 MB.

    HAZARD_DB_NAME=bench_h12_rss .venv/bin/python -m bench.uploads_rss
"""
import argparse
import os
import secrets
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy.engine import make_url

from bench.assign import database_url, drop_database
from bench.chaos import Gunicorn
from bench.scale import setup

PARTS, PART_MB, POSTS = 3, 20, 8


def kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def post(base: str, path: str, headers: dict, body: bytes) -> int:
    files = [("photos" if "open311" not in path else "media", (f"p{i}.jpg", body, "image/jpeg"))
             for i in range(PARTS)]
    data = {"lon": "121.38", "lat": "31.11", "long": "121.38", "category": "ebike_charging",
            "service_code": "ebike_charging", "risk_level": "general"}
    return requests.post(base + path, data=data, files=files, headers=headers, timeout=300).status_code


def case(env: dict, path: str, headers: dict, body: bytes) -> tuple[int, int, list[int]]:
    with tempfile.TemporaryDirectory() as tmp:
        server = Gunicorn(env, Path(tmp) / "gunicorn.log", workers=1)
        try:
            [worker] = server.workers()
            time.sleep(0.5)
            idle = kib(worker, "VmRSS")
            with ThreadPoolExecutor(POSTS) as pool:
                statuses = list(pool.map(lambda _: post(server.base, path, headers, body), range(POSTS)))
            return idle, kib(worker, "VmHWM"), statuses
        finally:
            server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    url = args.database_url or make_url(database_url(None)).set(
        database=os.environ.get("HAZARD_DB_NAME", "hazard_snap_bench")).render_as_string(hide_password=False)
    _app, tokens, _source = setup(url)
    env = os.environ | {"DATABASE_URL": url, "PHOTO_DIR": tempfile.mkdtemp(), "SECRET_KEY": secrets.token_hex(32),
                        "LOG_LEVEL": "WARNING", "GUNICORN_CMD_ARGS": f"--threads {POSTS}"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    body = os.urandom(PART_MB * 2**20)
    sent = POSTS * PARTS * PART_MB * 2**10  # KiB
    print(f"{POSTS} parallel posts of {PARTS} x {PART_MB} MB = {sent / 2**10:.0f} MB in all, one worker, "
          f"{POSTS} threads")
    try:
        for label, path, headers in (
            ("reports anonymous", "/api/v1/reports", {}),
            ("reports bearer token", "/api/v1/reports", {"Authorization": f"Bearer {tokens['district_admin']}"}),
            ("open311 media anonymous", "/open311/v2/requests.json", {}),
        ):
            idle, peak, statuses = case(env, path, headers, body)
            print(f"  {label:<24} idle {idle / 1024:7.1f} MB  peak {peak / 1024:7.1f} MB  growth "
                  f"{(peak - idle) / 1024:7.1f} MB = {(peak - idle) / sent:.2f} x the bodies  "
                  f"statuses {sorted(statuses)}")
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
