"""Drop ix_report_status: (status) is the prefix of ix_report_status_created and ix_report_status_due.

Every filter on the status alone is served by those (status, ...) indexes, so the single-column one only cost
an entry on each report written: about 3.5 µs of each re-assigned report's ~95 µs in bench/boundaries.py.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30
"""
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_report_status", table_name="report")


def downgrade() -> None:
    op.create_index("ix_report_status", "report", ["status"])
