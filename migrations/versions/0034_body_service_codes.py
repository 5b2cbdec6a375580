"""A body's own service codes, and where its updates are read from (issue 24).

- body.service_codes: our category -> the body's Open311 service_code (`bodies add --service-code
  fire_lane_blocked=FL01`); a category without an entry is sent as its own code.
- body.sync_via: 'updates' reads GET servicerequestupdates.json (GeoReport v2's extension); 'requests' reads GET
  requests.json for the requests it holds for us, for a body whose server has no updates endpoint.
- ix_transfer_body_held: the requests a body holds for us (open, delivered), which a requests.json sync reads
  a page of ids at a time.
Expand only: two NOT NULL columns with constant defaults on a small table (PostgreSQL 11+ rewrites nothing), and
an index on transfer, which no upload writes.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("body", sa.Column("service_codes", JSONB(), nullable=False, server_default=sa.text("'{}'")))
    op.add_column("body", sa.Column("sync_via", sa.String(8), nullable=False, server_default="updates"))
    op.create_check_constraint(op.f("ck_body_sync_via"), "body", "sync_via IN ('updates', 'requests')")
    op.create_check_constraint(op.f("ck_body_service_codes_object"), "body", "jsonb_typeof(service_codes) = 'object'")
    op.create_index("ix_transfer_body_held", "transfer", ["body_id", "id"],
                    postgresql_where=sa.text("ended_at IS NULL AND remote_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_transfer_body_held", "transfer")
    op.drop_constraint(op.f("ck_body_service_codes_object"), "body", type_="check")
    op.drop_constraint(op.f("ck_body_sync_via"), "body", type_="check")
    op.drop_column("body", "sync_via")
    op.drop_column("body", "service_codes")
