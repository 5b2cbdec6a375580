"""The per-committee counts are keyed by town row too, as they are grouped.

A town import that changes a town's outline gives the town a new row and hangs the committees it keeps under
it (0012's _adopt_children). From then on a committee's earlier reports point at the town's old row and its
new reports at the new one. report_rollup and report_stats were grouped by (committee, town, status, category,
risk) but keyed without the town, so one statement touching both kinds of report (an escalation run, a
bulk move) upserted the same key twice and failed ("ON CONFLICT DO UPDATE command cannot affect row a second
time"), and a subtraction matched one of the two groups only. Both are now keyed as they are grouped;
readers already sum over rows, and compare towns by code.

The counts are rebuilt from the reports once, so any drift from before this revision is gone. A downgrade
fails if some committee's reports do point at two rows of its town (the old key cannot hold them).

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30
"""
from pathlib import Path

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

KEY = "committee_id, town_id, status, category, risk_level"
OLD_KEY = "committee_id, status, category, risk_level"
SQL = Path(__file__).resolve().parents[1] / "sql"  # frozen statements, read by their revision only (README)
# The report triggers' add, remove and move functions with report_rollup and report_stats keyed by KEY
# (migrations/sql/0020_report_rollup.sql), and as 0015 left them for the downgrade (..._downgrade.sql);
# report_stats filled from the reports as 0015 did (0020_report_stats_rebuild.sql).


def _sql(name: str) -> str:
    return (SQL / f"0020_{name}.sql").read_text(encoding="utf-8")


def _rebuild() -> None:
    op.execute("DELETE FROM report_rollup")
    op.execute(f"INSERT INTO report_rollup ({KEY}, n) SELECT {KEY}, count(*) FROM report GROUP BY {KEY}")
    op.execute("DELETE FROM report_stats")
    op.execute(_sql("report_stats_rebuild"))


def _key(key: str) -> None:
    for table in ("report_rollup", "report_stats"):
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({key})")


def upgrade() -> None:
    _key(KEY)
    op.execute(_sql("report_rollup"))
    _rebuild()


def downgrade() -> None:
    op.execute(_sql("report_rollup_downgrade"))
    _rebuild()
    _key(OLD_KEY)
