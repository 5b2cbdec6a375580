"""A geography index on verified reports: the detail page's "rectified here recently" list at 10^6 reports.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_report_verified_geog ON report USING gist ((location::geography))"
               " WHERE status = 'verified'")


def downgrade() -> None:
    op.execute("DROP INDEX ix_report_verified_geog")
