"""The report's local calendar day (Asia/Shanghai), added the expand way while uploads go on (issue 26).

This is the rolling upgrade's real migration (bench/soak.py runs it under load, migrations/README.md states the
rule). Each step holds what uploads also need for well under a second, or nothing they need:
1. ADD COLUMN local_day (nullable, no default: a catalogue change), under lock_timeout and retried, so waiting
   for the ACCESS EXCLUSIVE lock behind a long transaction never queues uploads for more than LOCK_TIMEOUT;
2. a BEFORE INSERT OR UPDATE OF created_at trigger that fills it on every new row (old code and new alike), under
   the same timeout;
3. the backfill, one day of created_at at a time through ix_report_created_id, each its own short transaction;
4. ix_report_town_local_day built CONCURRENTLY.
Nothing to contract: old code never reads the column. Timezone is the district's, frozen here as a revision is.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07
"""
import time

from alembic import op
from sqlalchemy import exc, text

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

ZONE = "Asia/Shanghai"
LOCK_TIMEOUT = "500ms"
TRIES = 120

FUNCTION = f"""
CREATE OR REPLACE FUNCTION report_local_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.local_day := (NEW.created_at AT TIME ZONE '{ZONE}')::date;
    RETURN NEW;
END $$
"""


def _briefly(sql: str) -> None:
    """Run a statement that needs a strong lock on report, giving up the wait after LOCK_TIMEOUT and trying again
    (uploads queue behind a waiting lock, so the wait itself must stay short)."""
    conn = op.get_bind()
    for attempt in range(TRIES):
        conn.execute(text(f"SET lock_timeout = '{LOCK_TIMEOUT}'"))
        try:
            conn.execute(text(sql))
            return
        except exc.OperationalError as e:
            if getattr(e.orig, "sqlstate", None) != "55P03" or attempt == TRIES - 1:  # lock_not_available
                raise
            time.sleep(0.2)
        finally:
            conn.execute(text("RESET lock_timeout"))


def _backfill() -> None:
    conn = op.get_bind()
    first, last = conn.execute(text("SELECT min(created_at), max(created_at) FROM report")).one()
    if first is None:
        return
    day = text(f"UPDATE report SET local_day = (created_at AT TIME ZONE '{ZONE}')::date WHERE created_at >= :a "
               "AND created_at < :a + interval '1 day' AND local_day IS NULL")
    start = conn.execute(text("SELECT date_trunc('day', CAST(:t AS timestamptz))"), {"t": first}).scalar()
    while start <= last:
        conn.execute(day, {"a": start})
        start = conn.execute(text("SELECT CAST(:a AS timestamptz) + interval '1 day'"), {"a": start}).scalar()


def upgrade() -> None:
    with op.get_context().autocommit_block():
        _briefly("ALTER TABLE report ADD COLUMN IF NOT EXISTS local_day date")
        op.execute(FUNCTION)
        _briefly("DROP TRIGGER IF EXISTS report_local_day ON report")
        _briefly("CREATE TRIGGER report_local_day BEFORE INSERT OR UPDATE OF created_at ON report "
                 "FOR EACH ROW EXECUTE FUNCTION report_local_day()")
        _backfill()
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_report_town_local_day")
        op.execute("CREATE INDEX CONCURRENTLY ix_report_town_local_day ON report (town_id, local_day)")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_report_town_local_day")
        _briefly("DROP TRIGGER IF EXISTS report_local_day ON report")
        op.execute("DROP FUNCTION IF EXISTS report_local_day()")
        _briefly("ALTER TABLE report DROP COLUMN IF EXISTS local_day")
