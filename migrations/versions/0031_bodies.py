"""The registry of bodies outside the programme (issue 24): whom a report can be handed to (转派).

Expand only: a new table and its indexes, built while it is empty, so nothing the report table or its triggers
use is locked.

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
"""


def upgrade() -> None:
    op.execute(CREATE)


def downgrade() -> None:
    op.execute("DROP TABLE body")
