"""Volunteers: the registry beside the user, an append-only service-hour ledger and its approvals.

user.service_hours is dropped: hours and stars are summed from approved ledger entries in SQL, so there is no
second copy that could drift from the ledger.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LEDGER = ("service_hour_entry", "service_hour_decision")

# Hours are evidence for the volunteer-service record systems: an entry or a decision is never edited or deleted
# (a correction is a new entry), for everyone who runs with triggers enabled.
APPEND_ONLY = """
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
"""


def _ts(name: str, **kw) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), **kw)


def _text_array(name: str) -> sa.Column:
    return sa.Column(name, postgresql.ARRAY(sa.Text), nullable=False, server_default="{}")


def upgrade() -> None:
    op.create_table(
        "volunteer",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("user.id", name="fk_volunteer_user_id_user",
                                                       ondelete="CASCADE"), primary_key=True),
        sa.Column("real_name", sa.Text, nullable=False),
        sa.Column("committee_code", sa.String(12), nullable=False),
        sa.Column("team", sa.Text),
        _text_array("skills"),
        _text_array("tags"),
        _text_array("availability"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        _ts("created_at", server_default=sa.func.now(), nullable=False),
        _ts("updated_at", server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("committee_code ~ '^[0-9]{12}$'", name="ck_volunteer_committee_code"),
    )
    op.create_index("ix_volunteer_committee_code_user_id", "volunteer", ["committee_code", "user_id"])
    op.create_index("ix_volunteer_team", "volunteer", ["team"])
    op.create_index("ix_volunteer_skills", "volunteer", ["skills"], postgresql_using="gin")
    op.create_index("ix_volunteer_tags", "volunteer", ["tags"], postgresql_using="gin")
    _create_ledger()
    op.execute(APPEND_ONLY)
    for table in LEDGER:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
                   " FOR EACH ROW EXECUTE FUNCTION ledger_append_only()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
                   " FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()")
    op.drop_column("user", "service_hours")


def _create_ledger() -> None:
    op.create_table(
        "service_hour_entry",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("volunteer_id", sa.Integer,
                  sa.ForeignKey("user.id", name="fk_service_hour_entry_volunteer_id_user"), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("hours", sa.Numeric(5, 2), nullable=False),
        sa.Column("service_date", sa.Date, nullable=False),
        _ts("started_at"),
        _ts("ended_at"),
        sa.Column("report_id", postgresql.UUID(as_uuid=True),
                  sa.ForeignKey("report.id", name="fk_service_hour_entry_report_id_report")),
        sa.Column("corrects_id", sa.BigInteger, sa.ForeignKey(
            "service_hour_entry.id", name="fk_service_hour_entry_corrects_id_service_hour_entry")),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("user.id", name="fk_service_hour_entry_created_by_user")),
        _ts("created_at", server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("source IN ('manual', 'report', 'task')", name="ck_service_hour_entry_source"),
        sa.CheckConstraint("hours >= 0 AND hours <= 24", name="ck_service_hour_entry_hours"),
        sa.CheckConstraint("(started_at IS NULL) = (ended_at IS NULL) AND (ended_at IS NULL OR ended_at > started_at)",
                           name="ck_service_hour_entry_span"),
    )
    op.create_index("ix_service_hour_entry_volunteer_id_service_date", "service_hour_entry",
                    ["volunteer_id", "service_date"])
    op.create_index("ix_service_hour_entry_corrects_id", "service_hour_entry", ["corrects_id"])
    op.create_index("uq_service_hour_entry_report_id", "service_hour_entry", ["report_id"], unique=True,
                    postgresql_where=sa.text("report_id IS NOT NULL"))
    op.create_table(
        "service_hour_decision",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("entry_id", sa.BigInteger, sa.ForeignKey(
            "service_hour_entry.id", name="fk_service_hour_decision_entry_id_service_hour_entry"),
                  nullable=False, unique=True),
        sa.Column("approved", sa.Boolean, nullable=False),
        sa.Column("decided_by", sa.Integer,
                  sa.ForeignKey("user.id", name="fk_service_hour_decision_decided_by_user"), nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        _ts("decided_at", server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.add_column("user", sa.Column("service_hours", sa.Numeric(8, 1), nullable=False, server_default="0"))
    for table in LEDGER:
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.execute("DROP FUNCTION ledger_append_only()")
    op.drop_table("service_hour_decision")
    op.drop_table("service_hour_entry")
    op.drop_table("volunteer")
