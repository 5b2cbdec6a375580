"""Intake for real phones: warnings, idempotency fingerprint, perceptual hash, duplicate search index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OPEN = "('submitted', 'accepted', 'dispatched', 'rectifying', 'rectified')"


def upgrade() -> None:
    op.add_column("report", sa.Column("warnings", postgresql.JSONB, nullable=False, server_default="[]"))
    op.add_column("report", sa.Column("client_fingerprint", sa.String(64)))
    op.add_column("report", sa.Column("duplicate_photo_of", postgresql.UUID(as_uuid=True),
                                      sa.ForeignKey("report.id", name="fk_report_duplicate_photo_of_report")))
    op.add_column("photo", sa.Column("phash", sa.BigInteger))
    # Possible-duplicate search: open reports within metres of a point, nearest first (geography KNN).
    op.execute(f"CREATE INDEX ix_report_open_geog ON report USING gist ((location::geography)) WHERE status IN {OPEN}")


def downgrade() -> None:
    op.drop_index("ix_report_open_geog", table_name="report")
    op.drop_column("photo", "phash")
    op.drop_column("report", "duplicate_photo_of")
    op.drop_column("report", "client_fingerprint")
    op.drop_column("report", "warnings")
