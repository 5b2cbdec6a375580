"""The 12345 hotline (issue 24): its work orders taken in as reports, and the residents' call-backs.

- hotline_order: one per report taken from the hotline, unique by (hotline body, order number), with the
  sign-for, return and reply deadlines and the steps of the cycle done here.
- hotline_callback: the resident's 满意 / 基本满意 / 不满意, one per round (round 2 follows a re-check).
- body.inbound_user_id: the account of the hotline's Open311 key (`hazard-snap hotline key`), which creates and
  reads that hotline's orders only.
Expand only: new tables, and a nullable column on body (a small table) that old code never reads.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07
"""
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

CREATE = """
CREATE TABLE hotline_order (
    report_id uuid PRIMARY KEY REFERENCES report (id) ON DELETE CASCADE,
    body_id integer NOT NULL REFERENCES body (id),
    order_no varchar(40) NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    sign_due_at timestamptz NOT NULL,
    return_due_at timestamptz NOT NULL,
    reply_due_at timestamptz NOT NULL,
    signed_at timestamptz,
    sign_outcome varchar(8),
    sign_escalated_at timestamptz,
    replied_at timestamptz,
    replies smallint NOT NULL DEFAULT 0,
    callback_asked_at timestamptz,
    CONSTRAINT ck_hotline_order_sign_outcome CHECK (sign_outcome IN ('accepted', 'returned')),
    CONSTRAINT ck_hotline_order_signed CHECK ((signed_at IS NULL) = (sign_outcome IS NULL))
);
CREATE UNIQUE INDEX uq_hotline_order_number ON hotline_order (body_id, order_no);
CREATE INDEX ix_hotline_order_body_received ON hotline_order (body_id, received_at);
CREATE INDEX ix_hotline_order_received ON hotline_order (received_at);
CREATE INDEX ix_hotline_order_unsigned_due ON hotline_order (sign_due_at)
    WHERE signed_at IS NULL AND sign_escalated_at IS NULL;
CREATE TABLE hotline_callback (
    id bigserial PRIMARY KEY,
    report_id uuid NOT NULL REFERENCES hotline_order (report_id) ON DELETE CASCADE,
    round smallint NOT NULL,
    answer varchar(12) NOT NULL,
    reason text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ck_hotline_callback_answer CHECK (answer IN ('satisfied', 'basic', 'unsatisfied')),
    CONSTRAINT ck_hotline_callback_round CHECK (round IN (1, 2)),
    CONSTRAINT ck_hotline_callback_reason CHECK (answer <> 'unsatisfied' OR reason <> '')
);
CREATE UNIQUE INDEX uq_hotline_callback_round ON hotline_callback (report_id, round);
CREATE INDEX ix_hotline_callback_created ON hotline_callback (created_at);
ALTER TABLE body ADD COLUMN inbound_user_id integer REFERENCES "user" (id);
CREATE UNIQUE INDEX uq_body_inbound_user ON body (inbound_user_id) WHERE inbound_user_id IS NOT NULL;
"""


def upgrade() -> None:
    op.execute(CREATE)


def downgrade() -> None:
    op.execute("DROP INDEX uq_body_inbound_user")
    op.execute("ALTER TABLE body DROP COLUMN inbound_user_id")
    op.execute("DROP TABLE hotline_callback")
    op.execute("DROP TABLE hotline_order")
