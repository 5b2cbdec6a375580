"""Requests that a photo be checked for what it should not show (issue 25, 请求遮挡).

- redaction_request: who asked (a user, or NULL for the resident by receipt), why, and how staff closed it
  (`redacted` when they covered a region by hand, `no_change`). One open request per photo (a partial unique
  index); the town's queue reads the open ones through a partial index of the few that are.
A manual redaction itself needs no column: the photo row's public_key and thumb_key move to new versioned keys, and
the boxes are kept in the report's `redact` event. Expand only: a new table, which old code never reads; nothing
on a hot table is locked.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07
"""
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

CREATE = """
CREATE TABLE redaction_request (
    id bigserial PRIMARY KEY,
    report_id uuid NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    photo_id integer NOT NULL REFERENCES photo (id) ON DELETE CASCADE,
    reason text NOT NULL DEFAULT '',
    requester_id integer REFERENCES "user" (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    closed_at timestamptz,
    closed_by_id integer REFERENCES "user" (id),
    outcome varchar(12),
    CONSTRAINT ck_redaction_request_outcome CHECK (outcome IN ('redacted', 'no_change')),
    CONSTRAINT ck_redaction_request_closed CHECK ((closed_at IS NULL) = (outcome IS NULL))
);
CREATE INDEX ix_redaction_request_report_id ON redaction_request (report_id);
CREATE INDEX ix_redaction_request_photo_id ON redaction_request (photo_id);
CREATE UNIQUE INDEX uq_redaction_request_open ON redaction_request (photo_id) WHERE closed_at IS NULL;
CREATE INDEX ix_redaction_request_queue ON redaction_request (created_at, id) WHERE closed_at IS NULL;
"""


def upgrade() -> None:
    op.execute(CREATE)


def downgrade() -> None:
    op.execute("DROP TABLE redaction_request")
