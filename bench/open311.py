"""Open311 GET requests at district scale: page sizes and page depths, anonymous and with an api_key, side by side.

Seeds N reports with bench/scale.py's SQL seeder (a year of dates, so about a quarter fall in the default 90-day
window), then times GET /open311/v2/requests.json through Flask's test client (no network in the figures) beside
the smallest page of the same endpoint, measured in the same run. A refused request (the page caps, the read limit)
is timed too and shown with its status. Asserts nothing about speed.

    HAZARD_DB_NAME=bench_h12 .venv/bin/python -m bench.open311 --size 1000000
"""
import argparse
import os
import statistics
import time

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.assign import database_url, drop_database
from bench.scale import seed, setup
from service.core.db import db

URL = "/open311/v2/requests.json"


def timed(client, url: str, headers: dict, runs: int) -> tuple[float, float, int, int]:
    """p50 and p95 in ms, the body size and the status of GET url."""
    client.get(url, headers=headers)  # warm
    times, size, status = [], 0, 0
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        size, status = len(response.data), response.status_code
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))], size, status


def cases(in_window: int) -> list[tuple[str, str]]:
    last = max(1, in_window // 1000)
    return [("page_size=1000 page=1", f"{URL}?page_size=1000"),
            ("page_size=1000 page=10", f"{URL}?page_size=1000&page=10"),
            (f"page_size=1000 page={last} (last)", f"{URL}?page_size=1000&page={last}"),
            ("page_size=1000 page=1000", f"{URL}?page_size=1000&page=1000"),
            ("page_size=1 page=1000000", f"{URL}?page_size=1&page=1000000"),
            ("page_size=100 page=1", f"{URL}?page_size=100"),
            ("page_size=100 page=100", f"{URL}?page_size=100&page=100")]


def rate_limit(client, runs: int) -> None:
    """How many anonymous reads one address gets in a row, with the app's own limits."""
    ok = 0
    for _ in range(runs):
        if client.get(f"{URL}?page_size=10", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code != 200:
            break
        ok += 1
    print(f"  anonymous reads from one address before a refusal: {ok} of {runs}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="reports seeded (default %(default)s)")
    parser.add_argument("--runs", type=int, default=5, help="timed requests per figure (default %(default)s)")
    parser.add_argument("--database-url")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args(argv)
    url = args.database_url or make_url(database_url(None)).set(
        database=os.environ.get("HAZARD_DB_NAME", "hazard_snap_bench")).render_as_string(hide_password=False)
    app, tokens, _source = setup(url)
    # The figures time the query, not the limiter: every read gets through until rate_limit() below.
    limits = {k: v for k, v in app.config.items() if k.startswith("OPEN311_READS_")}
    app.config.update({k: 10**9 for k in limits})
    try:
        took = seed(app, args.size)
        with app.app_context():
            total = db.session.scalar(text("SELECT count(*) FROM report"))
            in_window = db.session.scalar(text("SELECT count(*) FROM report WHERE status <> 'rejected' "
                                               "AND created_at >= now() - interval '90 days'"))
        print(f"N = {total:,} reports (seeded in {took:.1f} s), {in_window:,} public ones in the 90-day window")
        client = app.test_client()
        for who, headers in (("anonymous", {}), ("api_key (district admin)",
                                                 {"Authorization": f"Bearer {tokens['district_admin']}"})):
            base = timed(client, f"{URL}?page_size=1", headers, args.runs)
            print(f"  {who}: baseline page_size=1 page=1  p50 {base[0]:8.1f} ms  p95 {base[1]:8.1f} ms")
            for label, path in cases(in_window):
                p50, p95, size, status = timed(client, path, headers, args.runs)
                print(f"    {label:<30} {status}  p50 {p50:8.1f} ms  p95 {p95:8.1f} ms  {size / 1024:8.1f} KB"
                      f"  {p50 / base[0]:7.1f}x baseline")
        app.config.update(limits)
        if limits:
            rate_limit(client, 200)
    finally:
        if not args.keep:
            drop_database(url)


if __name__ == "__main__":
    main()
