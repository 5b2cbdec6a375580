"""Benchmark the roster import (`hazard-snap volunteers import`) against a bare COPY of the same CSV.

Scratch DB with the demo district; a generated roster of 40,000 rows (real committee codes, Chinese names, skills,
tags, availability). Each round times, side by side: a bare `COPY ... FROM STDIN (FORMAT csv)` of the file's bytes
into a table of text columns, then the full import command (read, validate, COPY to a temp table, set-based
upsert of accounts and profiles, commit) into an empty registry, then the same import again (all rows unchanged).
Prints the median rates and the import/COPY ratio."""
import argparse
import csv
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.assign import drop_database
from service import create_app
from service.core import migrate
from service.volunteers.roster import COLUMNS

BENCH_DB = "hazard_snap_bench_roster"
PRIVATE_URL = f"postgresql+psycopg://postgres@127.0.0.1:5439/{BENCH_DB}"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
SKILLS = ["电工", "微型消防站", "急救", "燃气", "心理疏导", "宣传"]
TAGS = ["楼组长", "党员", "退役军人", "物业"]
TIMES = ["工作日白天", "工作日晚间", "周末"]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", PRIVATE_URL),
                   help="scratch DB, dropped and recreated; its name must contain 'bench' (default %(default)s)")
    p.add_argument("--rows", type=int, default=40_000, help="roster rows (default %(default)s)")
    p.add_argument("--rounds", type=int, default=3, help="side-by-side rounds, median reported (default %(default)s)")
    p.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    return p.parse_args(argv)


def recreate(url: str) -> None:
    drop_database(url)
    migrate.ensure_database(url)
    migrate.upgrade(url)


def write_roster(path: Path, codes: list[str], n: int, seed: int = 8) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow([h for _f, h in COLUMNS])
        for i in range(n):
            out.writerow([rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
                          f"1{rng.choice('3456789')}{i:09d}", rng.choice(codes), f"志愿服务队{rng.randint(1, 300)}",
                          ";".join(rng.sample(SKILLS, rng.randint(0, 2))),
                          ";".join(rng.sample(TAGS, rng.randint(0, 1))),
                          ";".join(sorted(rng.sample(TIMES, rng.randint(1, 3)), key=TIMES.index)),
                          "在册" if rng.random() > 0.05 else "停用"])


def bare_copy(engine, data: bytes) -> float:
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS roster_bare"))
        conn.execute(text("CREATE TABLE roster_bare (" + ", ".join(f"{f} text" for f, _h in COLUMNS) + ")"))
    raw = engine.raw_connection()
    try:
        start = time.perf_counter()
        with raw.cursor() as cur, cur.copy("COPY roster_bare FROM STDIN (FORMAT csv, HEADER true)") as copy:
            copy.write(data.removeprefix("\ufeff".encode()))
        raw.commit()
        return time.perf_counter() - start
    finally:
        raw.close()


def timed_import(app, path: Path, expect: str) -> float:
    runner = app.test_cli_runner()
    start = time.perf_counter()
    result = runner.invoke(args=["volunteers", "import", str(path)])
    elapsed = time.perf_counter() - start
    if result.exit_code != 0 or expect not in result.output:
        raise SystemExit(f"import failed ({expect!r} expected):\n{result.output}\n{result.stderr}")
    return elapsed


def empty_registry(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM volunteer"))
        conn.execute(text("DELETE FROM \"user\" WHERE role = 'volunteer'"))


def main(argv=None) -> int:
    args = parse_args(argv)
    url = args.database_url
    recreate(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "DATABASE_OWNER_URL": url, "SECRET_KEY": secrets.token_hex(32)})
    assert app.test_cli_runner().invoke(args=["demo-data"]).exit_code == 0
    engine = create_engine(url)
    with engine.connect() as conn:
        codes = list(conn.scalars(text("SELECT code FROM area WHERE level = 'committee' ORDER BY code")))
    times = {"copy": [], "import": [], "again": []}
    with tempfile.TemporaryDirectory(prefix="bench-roster-") as tmp:
        path = Path(tmp) / "roster.csv"
        write_roster(path, codes, args.rows)
        data = path.read_bytes()
        print(f"roster: {args.rows} rows, {len(data) / 1e6:.1f} MB, {len(codes)} committees; {args.rounds} rounds")
        for _ in range(args.rounds):
            empty_registry(engine)
            times["copy"].append(bare_copy(engine, data))
            times["import"].append(timed_import(app, path, f"新增 {args.rows} 人"))
            times["again"].append(timed_import(app, path, f"未变 {args.rows} 人"))
    engine.dispose()
    with app.app_context():
        from service.core.db import db

        db.engine.dispose()
    if not args.keep:
        admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()
    rate = {k: args.rows / statistics.median(v) for k, v in times.items()}
    print(f"bare COPY            {rate['copy']:>10,.0f} rows/s  (median of {args.rounds})")
    print(f"import (all new)     {rate['import']:>10,.0f} rows/s  ratio {rate['import'] / rate['copy']:.3f} of COPY")
    print(f"import (unchanged)   {rate['again']:>10,.0f} rows/s  ratio {rate['again'] / rate['copy']:.3f} of COPY")
    return 0


if __name__ == "__main__":
    sys.exit(main())
