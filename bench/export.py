"""Report exports (CSV, GeoJSON, XLSX) against a bare COPY of the same rows, side by side in one run.

Seeds N reports with bench/scale.py's SQL, then streams each export through Flask's test client (no network in
the figures, nothing buffered) as the district admin, and times `COPY (the export's own SELECT) TO STDOUT`.
Prints rows/s and the ratio to COPY; asserts nothing about speed.

    .venv/bin/python -m bench.export --rows 1000000
"""
import argparse
import resource
import sys
import time

from sqlalchemy import text, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from bench.assign import database_url
from bench.scale import seed, setup
from service.core.db import db
from service.reports import exports
from service.reports.filters import ReportFilter

EXPORT_DB = "hazard_snap_export_bench"


def copy_seconds(app) -> tuple[float, int]:
    """Time COPY of the export's SELECT (every report, the admin's scope) to the client; return seconds, bytes."""
    with app.app_context():
        query = exports.select_rows(true(), ReportFilter())
        sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
        raw = db.engine.raw_connection()
        try:
            start, size = time.perf_counter(), 0
            with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT") as copy:
                for block in copy:
                    size += len(block)
            return time.perf_counter() - start, size
        finally:
            raw.close()


def export_seconds(client, fmt: str, token: str) -> tuple[float, int]:
    """Time one streamed export to its last byte; return seconds, bytes."""
    start, size = time.perf_counter(), 0
    response = client.get(f"/api/v1/reports.{fmt}", headers={"Authorization": f"Bearer {token}"}, buffered=False)
    assert response.status_code == 200, (fmt, response.status_code)
    for chunk in response.response:
        size += len(chunk)
    response.close()
    return time.perf_counter() - start, size


def best(measure, runs: int) -> tuple[float, int]:
    return min((measure() for _ in range(runs)), key=lambda r: r[0])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="reports to seed (default %(default)s)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per figure, best kept (default %(default)s)")
    parser.add_argument("--xlsx", action=argparse.BooleanOptionalAction, default=True, help="time XLSX too")
    parser.add_argument("--database-url", help=f"scratch database, dropped and recreated (default: {EXPORT_DB} "
                        "on the server bench/assign.py uses)")
    args = parser.parse_args(argv)
    url = args.database_url or make_url(database_url(None)).set(database=EXPORT_DB).render_as_string(False)
    app, tokens, source = setup(url)
    took = seed(app, args.rows)
    with app.app_context():
        n = db.session.scalar(text("SELECT count(*) FROM report"))
    print(f"boundaries: {source}; python {sys.version.split()[0]}; best of {args.runs}")
    print(f"N = {n:,} reports (seeded in {took:.1f} s)")
    copy_s, copy_bytes = best(lambda: copy_seconds(app), args.runs)
    print(f"  {'COPY (same SELECT) TO STDOUT':<30} {n / copy_s:>10,.0f} rows/s  {copy_bytes / 2**20:7.1f} MB")
    client = app.test_client()
    for fmt in ("csv", "geojson", "xlsx")[:3 if args.xlsx else 2]:
        seconds, size = best(lambda f=fmt: export_seconds(client, f, tokens["district_admin"]), args.runs)
        print(f"  {'export ' + fmt:<30} {n / seconds:>10,.0f} rows/s  {size / 2**20:7.1f} MB"
              f"   {copy_s / seconds:.2f}x the COPY rate")
    print(f"  max RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
