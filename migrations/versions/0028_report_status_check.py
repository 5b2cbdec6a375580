"""A report's status is one the workflow knows, and the month cube is found by month (issue 23).

- ck_report_status: report.status is one of the workflow's statuses (service/rules/workflow.py TRANSITIONS, frozen
  here; a test checks they agree). With it, a filter that asks for every status is no condition at all, and the
  dashboard no longer tests each cube row's status against the whole list (3-5 ms of the month trend at 10^6).
  Added NOT VALID, then validated: validation takes SHARE UPDATE EXCLUSIVE, so uploads go on while it scans.
- ix_report_stats_month_month: (month, status) with the counts: the first screen's this-month and last-month
  figures read two months of the month cube rather than all of it, and the monthly trend sums the index alone in
  month order (5.4 -> 3.2 ms at 10^6). The counts in it make a cube row's update a non-HOT one; a cube row changes
  once per report written, a few thousand times a day.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

STATUSES = ("submitted", "accepted", "dispatched", "rectifying", "rectified", "rejected", "duplicate", "verified")


def upgrade() -> None:
    listed = ", ".join(f"'{s}'" for s in STATUSES)
    op.execute(f"ALTER TABLE report ADD CONSTRAINT ck_report_status CHECK (status IN ({listed})) NOT VALID")
    op.execute("ALTER TABLE report VALIDATE CONSTRAINT ck_report_status")
    with op.get_context().autocommit_block():  # uploads write the cube through the report triggers
        op.execute("CREATE INDEX CONCURRENTLY ix_report_stats_month_month ON report_stats_month (month, status)"
                   " INCLUDE (n, on_time, late)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_report_stats_month_month")
    op.execute("ALTER TABLE report DROP CONSTRAINT ck_report_status")
