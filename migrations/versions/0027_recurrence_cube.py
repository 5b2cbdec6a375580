"""The recurrence figures from a cube kept by the report triggers, as the other dashboard figures are (issue 23).

The dashboard's recurrence section counted, per request, the verified reports of the period and for each one
whether a later report names it in recurrence_of: 540 ms at 10^6 reports, when every other section took under
30 ms. Now:

- report.recurred says that some report names this one in recurrence_of. It is kept by statement-level
  triggers (report_recurred_*) on the reports whose recurrence_of is set, changed or deleted: they set the flag
  of the reports named before and after, from the rows as they now are. The flag changes nothing else (not
  updated_at, the verification time of the figures).
- report_stats_recurrence counts the verified reports per committee (and town row), category, key site (0 for
  none) and local month of verification (updated_at, as service/sites/recurrence.py reads it): verified,
  recurred, and rectified in time and not recurred. The report triggers of 0008/0015/0020/0022 keep it with the
  other cubes, so setting a flag moves that report's count as any other update does.

A period of whole months is summed from the cube (a few thousand rows); one that cuts a month is counted from
the rows, as the hazard cubes do.

ix_report_running_due also covers created_at, so the first screen's overdue per month of creation is counted
index-only. The other cubes' subtraction now groups the old rows first (see SQL below): updating
many closed reports in one statement was quadratic.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06
"""
from pathlib import Path

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

ZONE = "Asia/Shanghai"  # frozen, as in 0015: service/sites/recurrence.py reads the cube only in this zone
TABLE = "report_stats_recurrence"
KEY = "committee_id, town_id, category, site_id, month"
ROW = (f"committee_id, town_id, category, coalesce(site_id, 0) AS site_id, "
       f"date_trunc('month', updated_at AT TIME ZONE '{ZONE}')::date AS month, recurred, "
       f"(rectified_at <= due_at AND NOT recurred) AS in_time")
MEASURES = ("verified", "recurred", "on_time")


def grouped(rows: str) -> str:
    """The cube's rows from a set of report rows (the table, or a trigger's transition table)."""
    return (f"SELECT {KEY}, count(*) AS verified, count(*) FILTER (WHERE recurred) AS recurred, "
            f"count(*) FILTER (WHERE in_time) AS on_time "
            f"FROM (SELECT {ROW} FROM {rows} WHERE status = 'verified') r GROUP BY {KEY}")


# The flag of the reports named in recurrence_of by the changed rows, before or after, from the rows as they are.
# Only when some row names one: a statement trigger fires for an UPDATE of no rows too, and this one updates report.
MARK = """
  IF EXISTS ({named}) THEN
    UPDATE report r SET recurred = f.now
      FROM (SELECT t.id, EXISTS (SELECT 1 FROM report l WHERE l.recurrence_of = t.id) AS now
              FROM report t WHERE t.id IN ({named})) f
     WHERE r.id = f.id AND r.recurred IS DISTINCT FROM f.now;
  END IF;"""
NAMED = {
    "report_recurred_insert": ("INSERT", "NEW TABLE AS new_rows",
                               "SELECT recurrence_of FROM new_rows WHERE recurrence_of IS NOT NULL"),
    # Every named report, changed link or not: transition tables have no index, and a join of old and new rows
    # ran as a nested loop (20,000 updated rows: minutes). An unchanged link recomputes an unchanged flag.
    "report_recurred_update": ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                               "SELECT recurrence_of FROM new_rows WHERE recurrence_of IS NOT NULL UNION "
                               "SELECT recurrence_of FROM old_rows WHERE recurrence_of IS NOT NULL"),
    "report_recurred_delete": ("DELETE", "OLD TABLE AS old_rows",
                               "SELECT recurrence_of FROM old_rows WHERE recurrence_of IS NOT NULL"),
}


SQL = Path(__file__).resolve().parents[1] / "sql"  # frozen statements, read by their revision only (README)
# The report triggers' functions: 0022's, with this cube kept beside the others (its rows from `grouped` over
# new_rows / old_rows) and the other cubes' subtraction grouping the rows to subtract first
# (WITH o AS MATERIALIZED (...) UPDATE ... FROM o): inside UPDATE ... FROM, 0022's join of counts and
# histograms, both over old_rows, was planned as a nested loop under the cube's index lookup, quadratic in the
# statement's rows (2,000 verified reports moved: 5 s; 20,000: minutes). Today's report_rollup_add, _remove,
# _move and _clear: migrations/sql/0027_report_rollup.sql; 0022's (and 0015's _clear) for the downgrade in
# 0027_report_rollup_downgrade.sql. tests/db/test_migration_sql.py holds the database to the first.
RUNNING_DUE = ("CREATE INDEX ix_report_running_due ON report (due_at, id) {}"
               "WHERE status IN ('submitted', 'accepted', 'dispatched', 'rectifying')")  # as 0015 made it
RUNNING_DUE_0015 = "INCLUDE (town_id, committee_id, status, category, risk_level) "


def _sql(name: str) -> str:
    return (SQL / f"0027_{name}.sql").read_text(encoding="utf-8")


def _running_due(include: str) -> None:
    """0015's ix_report_running_due, covering the given columns."""
    op.execute("DROP INDEX ix_report_running_due")
    op.execute(RUNNING_DUE.format(include))


# The first screen splits overdue by month of creation (service/dashboard/hazards.by_month): the live part, the
# running reports not yet due, is then counted index-only too.
RUNNING_DUE_COVERS = "INCLUDE (town_id, committee_id, status, category, risk_level, created_at) "


def upgrade() -> None:
    _running_due(RUNNING_DUE_COVERS)
    op.execute("ALTER TABLE report ADD COLUMN recurred boolean NOT NULL DEFAULT false")
    # The flag changes none of the other cubes' figures: set it without their update trigger (which would
    # subtract and add back every flagged report).
    op.execute("ALTER TABLE report DISABLE TRIGGER report_rollup_update")
    op.execute("UPDATE report SET recurred = true WHERE id IN (SELECT recurrence_of FROM report"
               " WHERE recurrence_of IS NOT NULL)")
    op.execute("ALTER TABLE report ENABLE ALWAYS TRIGGER report_rollup_update")
    op.execute(f"""
        CREATE TABLE {TABLE} (
            committee_id integer NOT NULL REFERENCES area (id),
            town_id integer NOT NULL REFERENCES area (id),
            category varchar(32) NOT NULL,
            site_id integer NOT NULL,
            month date NOT NULL,
            verified bigint NOT NULL,
            recurred bigint NOT NULL,
            on_time bigint NOT NULL,
            CONSTRAINT pk_{TABLE} PRIMARY KEY ({KEY})
        )""")
    op.execute(f"CREATE INDEX ix_{TABLE}_month ON {TABLE} (month, town_id)")
    op.execute(_sql("report_rollup"))
    for name, (event, tables, named) in NAMED.items():
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN"
                   f"{MARK.format(named=named)}\n  RETURN NULL;\nEND $$;")
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON report REFERENCING {tables} FOR EACH STATEMENT "
                   f"EXECUTE FUNCTION {name}()")
        op.execute(f"ALTER TABLE report ENABLE ALWAYS TRIGGER {name}")
    op.execute(f"INSERT INTO {TABLE} ({KEY}, {', '.join(MEASURES)}) {grouped('report')}")


def downgrade() -> None:
    for name in NAMED:
        op.execute(f"DROP TRIGGER {name} ON report")
        op.execute(f"DROP FUNCTION {name}()")
    op.execute(_sql("report_rollup_downgrade"))
    op.execute(f"DROP TABLE {TABLE}")
    op.execute("ALTER TABLE report DROP COLUMN recurred")
    _running_due(RUNNING_DUE_0015)
