"""The contacts to erase are found by index (issue 25, `hazard-snap privacy sweep`).

service/privacy/retention.py erases a resident's contact CONTACT_RETENTION_DAYS after their report closed. It looks
for closed reports that still hold one in three places, each through a partial index of the rows that still do:
report.contact (by closing time), the receipt's update address, and the one-time codes' addresses.

The indexes are built CONCURRENTLY, outside the migration's transaction: on a table of 10^6 reports a plain
CREATE INDEX holds a SHARE lock that stalls every upload until it is built.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07
"""
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

CLOSED = "'duplicate', 'rejected', 'verified'"  # frozen: service/rules/workflow.py CLOSED as of this revision
INDEXES = {
    "ix_report_contact_closed": f"report (updated_at) WHERE contact IS NOT NULL AND status IN ({CLOSED})",
    "ix_report_receipt_notify": "report_receipt (report_id) WHERE notify_target IS NOT NULL",
    "ix_contact_code_kept": "contact_code (report_id) WHERE target <> ''",
}


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name, on in INDEXES.items():
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")  # an interrupted build leaves an invalid one
            op.execute(f"CREATE INDEX CONCURRENTLY {name} ON {on}")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in INDEXES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
