"""Indexes for every filter and order of the report list, tiles and queues at 10^6 reports.

- newest first with a keyset cursor: (created_at, id);
- the town supervisors' lists and counts: (town_id, status) and (town_id, created_at);
- "my reports" and a volunteer's assigned hazards: reporter_id, assignee_id;
- category and risk filters with the date order: (category, created_at), (risk_level, created_at);
- the overdue lists, ordered by deadline: due_at partial on the statuses whose clock runs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Frozen copy of workflow.CLOCK_RUNNING at this revision: a migration must not change when the code does.
CLOCK_RUNNING = "('submitted', 'accepted', 'dispatched', 'rectifying')"
INDEXES = {
    "ix_report_created_id": "(created_at, id)",
    "ix_report_town_status": "(town_id, status)",
    "ix_report_town_created": "(town_id, created_at)",
    "ix_report_reporter_created": "(reporter_id, created_at)",
    "ix_report_assignee": "(assignee_id)",
    "ix_report_category_created": "(category, created_at)",
    "ix_report_risk_created": "(risk_level, created_at)",
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON report {columns}")
    op.execute(f"CREATE INDEX ix_report_running_due ON report (due_at, id) WHERE status IN {CLOCK_RUNNING}")


def downgrade() -> None:
    for name in [*INDEXES, "ix_report_running_due"]:
        op.execute(f"DROP INDEX {name}")
