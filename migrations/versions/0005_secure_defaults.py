"""Secure defaults: a session version per user (ends sessions) and an expiry for API tokens.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

EXISTING_TOKEN_DAYS = 90  # tokens issued before this revision live this long from now, not forever


def upgrade() -> None:
    op.add_column("user", sa.Column("session_version", sa.Integer, nullable=False, server_default="0"))
    op.add_column("api_token", sa.Column("expires_at", sa.DateTime(timezone=True)))
    op.execute(f"UPDATE api_token SET expires_at = now() + interval '{EXISTING_TOKEN_DAYS} days'")
    op.alter_column("api_token", "expires_at", nullable=False)


def downgrade() -> None:
    op.drop_column("api_token", "expires_at")
    op.drop_column("user", "session_version")
