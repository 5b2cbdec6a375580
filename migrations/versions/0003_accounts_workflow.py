"""Accounts, rectification workflow, deadlines, escalation and the notification outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# History must not be rewritten: refuse UPDATE, DELETE and TRUNCATE on report_event for everyone who
# runs with triggers enabled (only a superuser can switch them off, e.g. for test clean-up).
APPEND_ONLY = """
CREATE FUNCTION report_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'report_event is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER report_event_append_only BEFORE UPDATE OR DELETE ON report_event
  FOR EACH ROW EXECUTE FUNCTION report_event_append_only();
CREATE TRIGGER report_event_no_truncate BEFORE TRUNCATE ON report_event
  FOR EACH STATEMENT EXECUTE FUNCTION report_event_append_only();
"""


def _ts(name: str, **kw) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), **kw)


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("user.id", name="fk_api_token_user_id_user"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _ts("created_at", server_default=sa.func.now(), nullable=False),
        _ts("last_used_at"),
        _ts("revoked_at"),
    )
    op.create_table(
        "login_failure",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("remote_addr", sa.String(64), nullable=False),
        _ts("at", server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_login_failure_phone_at", "login_failure", ["phone", "at"])
    op.create_index("ix_login_failure_remote_addr_at", "login_failure", ["remote_addr", "at"])
    for column in (
        sa.Column("reporter_ip", sa.String(64)),
        sa.Column("contact", sa.Text),
        sa.Column("assignee_id", sa.Integer, sa.ForeignKey("user.id", name="fk_report_assignee_id_user")),
        sa.Column("escalation_level", sa.SmallInteger, nullable=False, server_default="0"),
        _ts("escalated_at"),
        _ts("rectified_at"),
    ):
        op.add_column("report", column)
    op.create_index("ix_report_reporter_ip_created", "report", ["reporter_ip", "created_at"])
    op.create_index("ix_report_due_at", "report", ["due_at"])
    op.add_column("report_event", sa.Column("kind", sa.String(16), nullable=False, server_default="transition"))
    op.add_column("photo", sa.Column("event_id", sa.BigInteger,
                                     sa.ForeignKey("report_event.id", name="fk_photo_event_id_report_event")))
    op.add_column("user", sa.Column("service_hours", sa.Numeric(8, 1), nullable=False, server_default="0"))
    _create_outbox()
    op.execute(APPEND_ONLY)


def _create_outbox() -> None:
    op.create_table(
        "area_contact",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("area_id", sa.Integer, sa.ForeignKey("area.id", name="fk_area_contact_area_id_area"), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.CheckConstraint("channel IN ('webhook', 'email')", name="ck_area_contact_channel"),
        sa.UniqueConstraint("area_id", "channel", "target", name="uq_area_contact_area_id"),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("event_id", sa.BigInteger,
                  sa.ForeignKey("report_event.id", name="fk_notification_event_id_report_event"), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("payload", postgresql.JSONB, nullable=False),
        sa.Column("status", sa.String(8), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        _ts("next_attempt_at", server_default=sa.func.now(), nullable=False),
        sa.Column("last_error", sa.Text),
        _ts("created_at", server_default=sa.func.now(), nullable=False),
        _ts("delivered_at"),
        sa.CheckConstraint("status IN ('pending', 'sent')", name="ck_notification_status"),
    )
    op.create_index("ix_notification_due", "notification", ["next_attempt_at"], postgresql_where="status = 'pending'")
    op.create_table(
        "notification_attempt",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("notification_id", sa.BigInteger,
                  sa.ForeignKey("notification.id", name="fk_notification_attempt_notification_id_notification"),
                  nullable=False),
        _ts("attempted_at", server_default=sa.func.now(), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_notification_attempt_notification_id", "notification_attempt", ["notification_id"])


def downgrade() -> None:
    op.execute("DROP TRIGGER report_event_no_truncate ON report_event")
    op.execute("DROP TRIGGER report_event_append_only ON report_event")
    op.execute("DROP FUNCTION report_event_append_only()")
    op.drop_table("notification_attempt")
    op.drop_table("notification")
    op.drop_table("area_contact")
    op.drop_column("user", "service_hours")
    op.drop_column("photo", "event_id")
    op.drop_column("report_event", "kind")
    op.drop_index("ix_report_due_at", table_name="report")
    op.drop_index("ix_report_reporter_ip_created", table_name="report")
    for name in ("rectified_at", "escalated_at", "escalation_level", "assignee_id", "contact", "reporter_ip"):
        op.drop_column("report", name)
    op.drop_table("login_failure")
    op.drop_table("api_token")
