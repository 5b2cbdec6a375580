"""Volunteer tasks and hour exports (issue 8): the ledger by service date (and id), so hour exports by
period stream in index order without a sort.

Hazards dispatched to a volunteer, their accept/decline, risk re-grades and certificates need no new table:
the task is report.assignee_id, every step is a report_event, and a certificate is a signed URL.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_service_hour_entry_service_date_id", "service_hour_entry", ["service_date", "id"])


def downgrade() -> None:
    op.drop_index("ix_service_hour_entry_service_date_id", table_name="service_hour_entry")
