"""Bodies outside the programme (issue 24): whom a report can be handed to (转派), and each hand-over.

- body: the registry; transfer: one report handed to one body, its delivery and the body's answer.
- A report may now be `transferred`: ck_report_status is replaced by one that knows it. The new constraint is added
  NOT VALID and validated in a transaction of its own (SHARE UPDATE EXCLUSIVE: uploads go on while it scans); the
  old one is dropped after.
- ix_report_open_geog (the open reports near a spot, duplicates.py) is rebuilt CONCURRENTLY for the new open list:
  a partial index serves only a query that repeats its predicate.
Expand only: old code never writes `transferred`, and the indexes it reads stay until the new ones exist.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07
"""
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

CREATE = """
CREATE TABLE body (
    id serial PRIMARY KEY,
    name text NOT NULL,
    kind varchar(16) NOT NULL,
    area_codes varchar(12)[] NOT NULL DEFAULT '{}',
    outline geometry(MULTIPOLYGON, 4326),
    categories varchar(32)[] NOT NULL,
    channel varchar(8) NOT NULL,
    endpoint text NOT NULL,
    jurisdiction_id text,
    credential text,
    sign_hours integer NOT NULL,
    finish_hours integer NOT NULL,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz,
    sync_cursor timestamptz,
    CONSTRAINT ck_body_kind CHECK (kind IN ('property', 'utility', 'department', 'hotline')),
    CONSTRAINT ck_body_channel CHECK (channel IN ('open311', 'webhook', 'email')),
    CONSTRAINT ck_body_serves_somewhere CHECK (cardinality(area_codes) > 0 OR outline IS NOT NULL),
    CONSTRAINT ck_body_takes_something CHECK (cardinality(categories) > 0),
    CONSTRAINT ck_body_deadlines CHECK (sign_hours > 0 AND finish_hours >= sign_hours),
    CONSTRAINT ck_body_open311_key
        CHECK (channel <> 'open311' OR (credential IS NOT NULL AND jurisdiction_id IS NOT NULL))
);
CREATE UNIQUE INDEX uq_body_name ON body (name);
CREATE INDEX ix_body_area_codes ON body USING gin (area_codes) WHERE active;
CREATE INDEX ix_body_categories ON body USING gin (categories) WHERE active;
CREATE INDEX ix_body_outline ON body USING gist (outline) WHERE active;
CREATE TABLE transfer (
    id bigserial PRIMARY KEY,
    report_id uuid NOT NULL REFERENCES report (id),
    body_id integer NOT NULL REFERENCES body (id),
    event_id bigint NOT NULL REFERENCES report_event (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    remote_id text,
    delivered_at timestamptz,
    sign_due_at timestamptz,
    finish_due_at timestamptz,
    signed_at timestamptz,
    escalated_at timestamptz,
    ended_at timestamptz,
    outcome varchar(12),
    CONSTRAINT ck_transfer_outcome CHECK (outcome IN ('finished', 'returned', 'recalled')),
    CONSTRAINT ck_transfer_ended CHECK ((ended_at IS NULL) = (outcome IS NULL))
);
CREATE UNIQUE INDEX uq_transfer_open_report ON transfer (report_id) WHERE ended_at IS NULL;
CREATE INDEX ix_transfer_report ON transfer (report_id, id);
CREATE INDEX ix_transfer_body_created ON transfer (body_id, created_at);
CREATE INDEX ix_transfer_running_due ON transfer (finish_due_at, sign_due_at)
    WHERE ended_at IS NULL AND escalated_at IS NULL AND delivered_at IS NOT NULL;
CREATE UNIQUE INDEX uq_transfer_body_remote ON transfer (body_id, remote_id) WHERE remote_id IS NOT NULL;
CREATE TABLE body_update (
    id bigserial PRIMARY KEY,
    body_id integer NOT NULL REFERENCES body (id),
    update_id text NOT NULL,
    transfer_id bigint REFERENCES transfer (id),
    received_at timestamptz NOT NULL DEFAULT now(),
    outcome varchar(8) NOT NULL,
    detail text NOT NULL DEFAULT '',
    CONSTRAINT ck_body_update_outcome CHECK (outcome IN ('applied', 'refused', 'noted'))
);
CREATE UNIQUE INDEX uq_body_update_body_update_id ON body_update (body_id, update_id);
"""
# Frozen: service/rules/workflow.py as of this revision.
OLD_STATUSES = "'submitted', 'accepted', 'dispatched', 'rectifying', 'rectified', 'rejected', 'duplicate', 'verified'"
NEW_STATUSES = OLD_STATUSES + ", 'transferred'"
OLD_OPEN = "'accepted', 'dispatched', 'rectified', 'rectifying', 'submitted'"
NEW_OPEN = "'accepted', 'dispatched', 'rectified', 'rectifying', 'submitted', 'transferred'"
OPEN_GEOG = "ON report USING gist ((location::geography)) WHERE status IN ({})"


def _status_check(listed: str) -> None:
    op.execute(f"ALTER TABLE report ADD CONSTRAINT ck_report_status_next CHECK (status IN ({listed})) NOT VALID")
    with op.get_context().autocommit_block():  # commits first: the ADD's ACCESS EXCLUSIVE lock ends before the scan
        op.execute("ALTER TABLE report VALIDATE CONSTRAINT ck_report_status_next")
        op.execute("ALTER TABLE report DROP CONSTRAINT ck_report_status")
        op.execute("ALTER TABLE report RENAME CONSTRAINT ck_report_status_next TO ck_report_status")


def _open_geog(listed: str) -> None:
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_report_open_geog_next")  # an interrupted build's
        op.execute(f"CREATE INDEX CONCURRENTLY ix_report_open_geog_next {OPEN_GEOG.format(listed)}")
        op.execute("DROP INDEX CONCURRENTLY ix_report_open_geog")
        op.execute("ALTER INDEX ix_report_open_geog_next RENAME TO ix_report_open_geog")



def upgrade() -> None:
    op.execute(CREATE)
    _status_check(NEW_STATUSES)
    _open_geog(NEW_OPEN)


def downgrade() -> None:
    op.execute("DROP TABLE body_update")
    op.execute("DROP TABLE transfer")
    op.execute("DROP TABLE body")
    _status_check(OLD_STATUSES)
    _open_geog(OLD_OPEN)
