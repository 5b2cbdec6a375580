"""Resident receipts (issue 11): a report's private tracking link (hashed), updates by e-mail or text,
and the reporter's rating after verification (guessed links are counted in upload_attempt). Also Open311 API keys:
an api_token may be good for /open311/ only (hazard-snap apikeys create).

report_rating is append-only by privilege (service/migrate.APPEND_ONLY): a rating is given once.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _report_id(table: str) -> sa.Column:
    return sa.Column("report_id", postgresql.UUID(as_uuid=True),
                     sa.ForeignKey("report.id", ondelete="CASCADE", name=f"fk_{table}_report_id_report"),
                     primary_key=True)


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "report_receipt",
        _report_id("report_receipt"),
        sa.Column("number", sa.String(12), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("notify_channel", sa.String(8)),
        sa.Column("notify_target", sa.Text),
        _now("created_at"),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("notify_channel IN ('email', 'sms')", name="ck_report_receipt_notify_channel"),
        sa.CheckConstraint("(notify_channel IS NULL) = (notify_target IS NULL)",
                           name="ck_report_receipt_notify_target"),
        sa.UniqueConstraint("number", name="uq_report_receipt_number"),
        sa.UniqueConstraint("token_hash", name="uq_report_receipt_token_hash"),
    )
    op.create_table(
        "report_rating",
        _report_id("report_rating"),
        sa.Column("stars", sa.SmallInteger, nullable=False),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        sa.Column("rater_id", sa.Integer, sa.ForeignKey("user.id", name="fk_report_rating_rater_id_user")),
        _now("created_at"),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name="ck_report_rating_stars"),
    )
    op.add_column("api_token", sa.Column("open311_only", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("api_token", "open311_only")
    op.drop_table("report_rating")
    op.drop_table("report_receipt")
