"""The database's sessions run in UTC (issue 26, one clock).

Every time the service compares or stores comes from the app's clock (service/core/clock.py), as an aware UTC
instant. The database's own time zone only shows where SQL turns a timestamptz into local text or a date without
naming a zone; with the server's default (often the machine's zone) the same instant read back as another wall
time on another host. The database's default is set here, so every new connection, direct or through PgBouncer,
starts in UTC; SQL that needs local time names LOCAL_TIMEZONE, as the service's already does.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET timezone TO ''UTC''', current_database()); END $$")
    op.execute("SET timezone TO 'UTC'")  # this session too


def downgrade() -> None:
    op.execute("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET timezone', current_database()); END $$")
