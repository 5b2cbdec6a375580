"""Residents' contacts are confirmed by a one-time code before anything else is sent to them.

contact_code holds each code sent (its HMAC only), with its tries and when it was confirmed; verified_contact
remembers an address once confirmed (a keyed digest, not the address). A code's text message or e-mail is an
outbox row like any other, caused by its contact_code row instead of a report's or an order's event.

Receipts that already send updates keep them: their residents chose them under the earlier rule, and stopping
them silently would lose what they asked for.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

OLD_SOURCE = "(event_id IS NULL) <> (order_event_id IS NULL)"
NEW_SOURCE = "num_nonnulls(event_id, order_event_id, contact_code_id) = 1"


def upgrade() -> None:
    op.create_table(
        "contact_code",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("report_id", sa.UUID(), sa.ForeignKey("report_receipt.report_id", ondelete="CASCADE",
                                                         name="fk_contact_code_report_id_report_receipt"),
                  nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tries", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("channel IN ('email', 'sms')", name="ck_contact_code_channel"),
    )
    op.create_index("ix_contact_code_report", "contact_code", ["report_id", "created_at"])
    op.create_index("ix_contact_code_target", "contact_code", ["target", "created_at"])
    op.create_index("ix_contact_code_created_at", "contact_code", ["created_at"])
    op.create_table(
        "verified_contact",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.add_column("notification", sa.Column("contact_code_id", sa.BigInteger(), sa.ForeignKey(
        "contact_code.id", name="fk_notification_contact_code_id_contact_code")))
    op.create_index("ix_notification_contact_code_id", "notification", ["contact_code_id"])
    op.drop_constraint(op.f("ck_notification_source"), "notification")
    op.create_check_constraint(op.f("ck_notification_source"), "notification", NEW_SOURCE)


def downgrade() -> None:
    op.drop_constraint(op.f("ck_notification_source"), "notification")
    op.execute("DELETE FROM notification_attempt WHERE notification_id IN"
               " (SELECT id FROM notification WHERE contact_code_id IS NOT NULL)")
    op.execute("DELETE FROM notification WHERE contact_code_id IS NOT NULL")
    op.drop_index("ix_notification_contact_code_id", "notification")
    op.drop_column("notification", "contact_code_id")
    op.create_check_constraint(op.f("ck_notification_source"), "notification", OLD_SOURCE)
    op.drop_table("verified_contact")
    op.drop_table("contact_code")
