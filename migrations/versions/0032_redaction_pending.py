"""A photo whose faces are not yet blurred waits unpublished (issue 25, `hazard-snap photos redact --pending`).

`redaction_pending` marks a report's or an order's photo whose public copy and thumbnail were not written because
face detection failed or ran out of its ceilings in the decode sandbox; the retry job finds them through a partial
index of the few rows that are. Adding a NOT NULL column with a constant default rewrites nothing (PostgreSQL 11+),
and the index is built CONCURRENTLY, so uploads are not stalled.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

TABLES = ("photo", "service_order_photo")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("redaction_pending", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    with op.get_context().autocommit_block():
        for table in TABLES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS ix_{table}_redaction_pending")
            op.execute(f"CREATE INDEX CONCURRENTLY ix_{table}_redaction_pending ON {table} (id)"
                       " WHERE redaction_pending")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for table in TABLES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS ix_{table}_redaction_pending")
    for table in TABLES:
        op.drop_column(table, "redaction_pending")
