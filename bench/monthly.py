"""The monthly report (月度通报) at district scale: its figures, the PDF and the XLSX, beside baselines in one run.

Seeds N reports as bench/scale.py does (a year of dates, every status), links --recurrences of them to earlier
verified ones, rates a third of the verified ones, then times, through Flask's test client:
- monthly.build() (every figure of the report) for the district and for one town;
- the PDF (WeasyPrint) and the XLSX rendering of the same figures;
- GET /dashboard/monthly.pdf end to end;
beside two baselines measured in the same run: GET /api/v1/stats (every dashboard section) and WeasyPrint
rendering a one-line Chinese page (its fixed cost: fonts, layout). Prints p50/p95 and ratios; asserts no speed.

    .venv/bin/python -m bench.monthly --sizes 100000,1000000 --database-url postgresql+psycopg://...bench_x
"""
import argparse
import logging
import statistics
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import text

from bench.assign import database_url, drop_database
from bench.scale import seed, seed_recurrences, setup
from service.core import localtime
from service.core.db import db
from service.core.models import User
from service.dashboard import monthly, monthly_render

RATINGS_SQL = """
INSERT INTO report_rating (report_id, stars, created_at)
SELECT id, 1 + abs(hashtext(id::text)) % 5, updated_at FROM report
 WHERE status = 'verified' AND abs(hashtext(id::text)) % 3 = 0
"""


def p50_p95(run, runs: int) -> tuple[float, float, object]:
    run()  # warm
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = run()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))], out


def measure(app, tokens: dict, runs: int) -> None:
    client = app.test_client()
    with app.test_request_context("/"):
        admin = db.session.scalar(text("SELECT id FROM \"user\" WHERE role = 'district_admin' LIMIT 1"))
        sup = db.session.scalar(text("SELECT id FROM \"user\" WHERE role = 'town_supervisor' LIMIT 1"))
        admin, sup = db.session.get(User, admin), db.session.get(User, sup)
        now = datetime.now(UTC)
        month = monthly.previous_month(now.astimezone(localtime.zone()).date().replace(day=1))
        rows = {}
        for label, who in (("district", admin), ("town", sup)):
            req = monthly.check(who, month, "")
            p50, p95, data = p50_p95(lambda req=req: monthly.build(req, datetime.now(UTC)), runs)
            rows[f"figures, {label}"] = (p50, p95)
            p50, p95, pdf = p50_p95(lambda data=data: monthly_render.pdf(data), max(3, runs // 4))
            rows[f"PDF render, {label}"] = (p50, p95)
            p50, p95, _ = p50_p95(lambda data=data: monthly_render.xlsx(data), runs)
            rows[f"XLSX render, {label}"] = (p50, p95)
            print(f"  {label}: {len(data['ranking'])} places, {data['figures'][0]['this']:,} new in "
                  f"{data['month']}, PDF {len(pdf) / 1024:.0f} KiB")
        from weasyprint import HTML

        rows["baseline: WeasyPrint one line"] = p50_p95(
            lambda: HTML(string="<html><body style='font-family: Noto Sans CJK SC'>火患随手拍</body></html>")
            .write_pdf(), max(3, runs // 4))[:2]
    headers = {"Authorization": f"Bearer {tokens['district_admin']}"}

    def get(url):
        def run():
            got = client.get(url, headers=headers)
            assert got.status_code == 200, (url, got.status_code, got.text[:200])
        return run
    rows["baseline: /api/v1/stats"] = p50_p95(get("/api/v1/stats"), runs)[:2]
    rows["GET monthly.pdf, district"] = p50_p95(get(f"/dashboard/monthly.pdf?month={month:%Y-%m}"),
                                                max(3, runs // 4))[:2]
    stats, one_line = rows["baseline: /api/v1/stats"][0], rows["baseline: WeasyPrint one line"][0]
    for label, (p50, p95) in rows.items():
        base = one_line if "render" in label and "PDF" in label else stats
        print(f"  {label:<32} p50 {p50:8.1f} ms  p95 {p95:8.1f} ms  {p50 / base:6.2f}x its baseline")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000", help="comma list of N (default %(default)s)")
    parser.add_argument("--runs", type=int, default=12, help="timed runs per figure (default %(default)s)")
    parser.add_argument("--recurrences", type=int, default=20_000)
    parser.add_argument("--database-url")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args(argv)
    logging.getLogger("service.access").setLevel(logging.WARNING)  # one line per request would hide the figures
    url = database_url(args.database_url)
    app, tokens, source = setup(url)
    print(f"boundaries: {source}; python {sys.version.split()[0]}")
    try:
        for n in (int(v) for v in args.sizes.split(",")):
            took = seed(app, n)
            with app.app_context():
                recurred = seed_recurrences(app, args.recurrences)[1] if args.recurrences else 0
                db.session.execute(text(RATINGS_SQL))
                db.session.commit()
                real = db.session.scalar(text("SELECT count(*) FROM report"))
            print(f"N = {real:,} reports (seeded in {took:.1f} s), {recurred:,} recurred")
            measure(app, tokens, args.runs)
    finally:
        if not args.keep:
            drop_database(url)


if __name__ == "__main__":
    main()
