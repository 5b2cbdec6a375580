"""Dashboard statistics: per-committee and per-town monthly cubes kept by the report triggers; report.verified_at.

The dashboard's figures (counts by status, category and month, on-time rectification, median and p90 time from
report to rectified and to verified) must come from the whole table and stay fast at 10^6 reports, so they are
kept by the same AFTER ... FOR EACH STATEMENT triggers with transition tables as migration 0008 (the trigger
functions of 0008 now keep these tables too):

- report_stats_town (town x status x category x risk): counts, on-time counts and duration histograms, in at most
  a few thousand rows: the district's per-town figures and categories without dates;
- report_stats_month (the same x local month of creation): the monthly trend and month-aligned date filters;
- report_stats (committee x status x category x risk): a town's or a committee's figures.
  A committee x month cube would hold about one row per report at 10^6 a year, so it is not kept.
report_rollup stays as narrow as 0008 made it: the lists', queues' and tiles' counts scan it.

Durations are counted in fixed buckets whose edges grow by 2^(1/4) from 1 hour to 2^13 hours (plus a bucket
under 1 hour and one above): a percentile read from the histogram lies in the same bucket as the true one, so
it is off by at most the bucket's width (under 1 hour below 1 hour, else under 19 %). The arrays are NULL where
no report of the key has the duration, so the many keys of open statuses cost nothing.

report.verified_at is added (set by the workflow, backfilled from the history), as rectified_at is.

ix_report_status_due serves the queues' lists of one status ordered by deadline (to verify: 190 ms -> <5 ms at
10^6 for the district), which no index did; a town supervisor's queues get the same per town, by deadline and by
date (ix_report_town_status_due / _created, which replace 0007's (town_id, status)). ix_report_running_due now
carries the place, status, category and risk, so counting the running reports not yet due (overdue = running -
those) per place is an index-only scan.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""
from pathlib import Path

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# Frozen at this revision (a migration must not change when the code does); service/dashboard/cube.py reads
# the same values and tests/browser/test_dashboard.py checks they agree.
ZONE = "Asia/Shanghai"
EDGES = [0.0] + [round(2 ** (k / 4), 4) for k in range(53)]  # hours; width_bucket gives 0 .. len(EDGES)
BUCKETS = len(EDGES) + 1

CLOCK_RUNNING = "('submitted', 'accepted', 'dispatched', 'rectifying')"  # as in 0007
RUNNING_DUE = f"ON report (due_at, id) {{}}WHERE status IN {CLOCK_RUNNING}"
COVERED = "INCLUDE (town_id, committee_id, status, category, risk_level) "
TOWN_QUEUES = {"ix_report_town_status_due": "(town_id, status, due_at, id)",
               "ix_report_town_status_created": "(town_id, status, created_at, id)"}
DURATIONS = {"rectify_hist": "rectified_at", "verify_hist": "verified_at"}
EDGES_SQL = "ARRAY[" + ", ".join(map(str, EDGES)) + "]::float8[]"
ROW = (f"committee_id, town_id, status, category, risk_level, due_at, rectified_at, "
       f"date_trunc('month', created_at AT TIME ZONE '{ZONE}')::date AS month, "
       + ", ".join(f"width_bucket(extract(epoch FROM {col} - created_at)::float8 / 3600, {EDGES_SQL}) AS {name}"
                   for name, col in DURATIONS.items()))
# table -> (key columns, primary key)
CUBES = {
    "report_stats_town": ("town_id, status, category, risk_level", "town_id, status, category, risk_level"),
    "report_stats": ("committee_id, town_id, status, category, risk_level",
                     "committee_id, status, category, risk_level"),
    "report_stats_month": ("town_id, status, category, risk_level, month",
                           "town_id, status, category, risk_level, month"),
}
COLUMNS = {"on_time": "bigint NOT NULL DEFAULT 0", "late": "bigint NOT NULL DEFAULT 0",
           **{name: "integer[]" for name in DURATIONS}}
FIGURES = tuple(COLUMNS)
SQL = Path(__file__).resolve().parents[1] / "sql"  # frozen statements, read by their revision only (README)
# The report triggers' functions (0008's statements for report_rollup, then the same for each cube, from
# _grouped over new_rows / old_rows) are frozen in migrations/sql/0015_report_rollup.sql: _grouped below
# fills the cubes once and is what tests/browser/test_dashboard.py rebuilds them with; editing it changes no trigger.


def _histogram(name: str) -> str:
    counts = ", ".join(f"count(*) FILTER (WHERE {name} = {b})" for b in range(BUCKETS))
    return f"CASE WHEN count({name}) = 0 THEN NULL ELSE ARRAY[{counts}]::int[] END"


def _grouped(key: str, rows: str) -> str:
    return (f"SELECT {key}, count(*) AS n, count(*) FILTER (WHERE rectified_at <= due_at) AS on_time, "
            f"count(*) FILTER (WHERE rectified_at > due_at) AS late, "
            + ", ".join(f"{_histogram(name)} AS {name}" for name in DURATIONS)
            + f" FROM (SELECT {ROW} FROM {rows}) r GROUP BY {key}")


HIST_ADD = """
CREATE FUNCTION report_hist_add(a int[], b int[], sign int) RETURNS int[] LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN b IS NULL THEN a
              WHEN a IS NULL THEN (SELECT array_agg(y * sign ORDER BY i) FROM unnest(b) WITH ORDINALITY u(y, i))
              ELSE (SELECT array_agg(x + y * sign ORDER BY i) FROM unnest(a, b) WITH ORDINALITY u(x, y, i)) END
$$"""


def upgrade() -> None:
    op.execute("ALTER TABLE report ADD COLUMN verified_at timestamp with time zone")
    op.execute("""
        UPDATE report r SET verified_at = e.at
          FROM (SELECT report_id, max(created_at) AS at FROM report_event WHERE to_status = 'verified'
                 GROUP BY report_id) e
         WHERE r.id = e.report_id AND r.status = 'verified'""")
    op.execute("CREATE INDEX ix_report_status_due ON report (status, due_at, id)")
    op.execute("DROP INDEX ix_report_town_status")
    for name, columns in TOWN_QUEUES.items():
        op.execute(f"CREATE INDEX {name} ON report {columns}")
    op.execute("DROP INDEX ix_report_running_due")
    op.execute(f"CREATE INDEX ix_report_running_due {RUNNING_DUE.format(COVERED)}")
    for table, (key, pk) in CUBES.items():
        place = "committee_id integer NOT NULL REFERENCES area (id), " if "committee_id" in key else ""
        month = "month date NOT NULL, " if "month" in key else ""
        op.execute(f"""
            CREATE TABLE {table} (
                {place}town_id integer NOT NULL REFERENCES area (id),
                status varchar(16) NOT NULL,
                category varchar(32) NOT NULL,
                risk_level varchar(20) NOT NULL,
                {month}n bigint NOT NULL,
                {", ".join(f"{c} {t}" for c, t in COLUMNS.items())},
                CONSTRAINT pk_{table} PRIMARY KEY ({pk})
            )""")
    op.execute("CREATE INDEX ix_report_stats_town ON report_stats (town_id)")
    op.execute(HIST_ADD)
    op.execute((SQL / "0015_report_rollup.sql").read_text(encoding="utf-8"))
    # Fill the cubes from the rows, in the same shape the triggers keep.
    for table, (key, _pk) in CUBES.items():
        op.execute(f"INSERT INTO {table} ({key}, n, {', '.join(FIGURES)}) {_grouped(key, 'report')}")


def downgrade() -> None:
    op.execute((SQL / "0015_report_rollup_downgrade.sql").read_text(encoding="utf-8"))  # 0008's, frozen here
    op.execute("DROP FUNCTION report_hist_add(int[], int[], int)")
    for table in CUBES:
        op.execute(f"DROP TABLE {table}")
    op.execute("DROP INDEX ix_report_status_due")
    for name in TOWN_QUEUES:
        op.execute(f"DROP INDEX {name}")
    op.execute("CREATE INDEX ix_report_town_status ON report (town_id, status)")
    op.execute("DROP INDEX ix_report_running_due")
    op.execute(f"CREATE INDEX ix_report_running_due {RUNNING_DUE.format('')}")
    op.execute("ALTER TABLE report DROP COLUMN verified_at")
