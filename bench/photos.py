"""Photo duplicate check at 3 photos per report: the indexed match (sha256 b-trees + phash band indexes) against
the full scan it replaced, side by side on the same rows and the same query hashes.

    .venv/bin/python -m bench.photos --reports 1000000 --lookups 200
"""
import argparse
import random
import secrets
import statistics
import tempfile
import time

from sqlalchemy import text

from bench.assign import database_url
from bench.scale import seed, setup
from service import create_app
from service.core.db import db
from service.reports import duplicates

# What photo_duplicate_of ran before migration 0018: every photo row compared with every query hash.
FULL_SCAN_SQL = """
    SELECT p.report_id FROM photo p
     WHERE p.report_id IS DISTINCT FROM :exclude
       AND (p.sha256 = ANY(:shas) OR p.phone_original_sha256 = ANY(:shas)
            OR EXISTS (SELECT 1 FROM unnest(CAST(:hashes AS bigint[])) h
                        WHERE bit_count(CAST(p.phash # h AS bit(64))) <= :bits))
     ORDER BY p.created_at DESC, p.id DESC
     LIMIT 1
"""

SEED_PHOTOS = """
    INSERT INTO photo (report_id, role, sha256, original_key, public_key, thumb_key, content_type, width, height,
                       bytes, phash, created_at)
    SELECT r.id, 'before', md5(r.id::text || k) || md5(k || r.id::text), 'o', 'p', 't', 'image/jpeg', 4000, 3000,
           3000000, ('x' || substr(md5(random()::text), 1, 16))::bit(64)::bigint, r.created_at
      FROM report r CROSS JOIN generate_series(1, 3) AS k
"""


def signed(h: int) -> int:
    return h - (1 << 64) if h >= 1 << 63 else h


def timed(run, queries) -> tuple[list[float], list]:
    took, answers = [], []
    for q in queries:
        start = time.perf_counter()
        answers.append(run(q))
        took.append((time.perf_counter() - start) * 1000)
    return took, answers


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=100)
    parser.add_argument("--scan-lookups", type=int, default=10, help="the full scan is slow: fewer of them")
    parser.add_argument("--reuse", action="store_true", help="time the lookups on the photos seeded last time")
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    url = database_url(args.database_url)
    if args.reuse:
        app, source = create_app({"SQLALCHEMY_DATABASE_URI": url, "PHOTO_DIR": tempfile.mkdtemp(),
                                  "SECRET_KEY": secrets.token_hex(32)}), "the photos of the last run"
    else:
        app, _, source = setup(url)
        seed(app, args.reports)
    with app.app_context():
        start = time.perf_counter()
        if not args.reuse:
            db.session.execute(text(SEED_PHOTOS))  # 64 random bits each: md5 text, not a float's 53
            db.session.commit()
            db.session.execute(text("ANALYZE photo"))
            db.session.commit()
        photos = db.session.scalar(text("SELECT count(*) FROM photo"))
        print(f"{source}; {photos:,} photos (seeded in {time.perf_counter() - start:.0f} s)")
        rng = random.Random(5)
        stored = [h for (h,) in db.session.execute(text("SELECT phash FROM photo TABLESAMPLE SYSTEM (1) LIMIT 500"))]
        queries = []
        for i in range(args.lookups):
            if i % 2:  # a near copy of a stored photo: a few bits flipped
                h = rng.choice(stored) & ((1 << 64) - 1)
                for bit in rng.sample(range(64), 3):
                    h ^= 1 << bit
            else:  # a new photo
                h = rng.getrandbits(64)
            queries.append(signed(h))
        bits = app.config["PHASH_MAX_BITS"]

        def indexed(h):
            return duplicates.photo_duplicate_of([format(h & 0xFFFF, "064x")], [h])

        def scan(h):
            return db.session.scalar(text(FULL_SCAN_SQL), {"shas": [format(h & 0xFFFF, "064x")], "hashes": [h],
                                                            "bits": bits, "exclude": None})

        fast, found = timed(indexed, queries)
        slow, truth = timed(scan, queries[:args.scan_lookups])
        agree = sum((a is None) == (b is None) for a, b in zip(found, truth, strict=False))
        print(f"{'lookup':<34}{'p50 ms':>10}{'p95 ms':>10}{'n':>6}")
        print(f"{'indexed (bands + sha256)':<34}{p(fast, 50):>10.2f}{p(fast, 95):>10.2f}{len(fast):>6}")
        print(f"{'full scan (before 0018)':<34}{p(slow, 50):>10.1f}{p(slow, 95):>10.1f}{len(slow):>6}")
        print(f"speed-up at p50: {p(slow, 50) / p(fast, 50):.0f}x; found a match in {sum(f is not None for f in found)}"
              f"/{len(found)} lookups; both methods agree on {agree}/{len(truth)}")


if __name__ == "__main__":
    main()
