"""Upload attempts: the anonymous rate limit counts every try, refused ones included.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upload_attempt",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("remote_addr", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_upload_attempt_remote_addr_at", "upload_attempt", ["remote_addr", "at"])


def downgrade() -> None:
    op.drop_table("upload_attempt")
