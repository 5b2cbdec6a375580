"""Who saw a resident's contact (issue 25): one access_log row per page, answer or export that showed any.

- access_log: who (user id and their role then), when (the app's clock), which view (its endpoint), what (one
  report, one service order, or the filter of a list or an export) and how many contacts it showed.
- Append-only as the history is: UPDATE, DELETE and TRUNCATE are refused by trigger (ledger_append_only() of
  0006, which names the table), and the app's role gets SELECT and INSERT only (service/core/migrate.APPEND_ONLY).
Expand only: a new table; its foreign keys to report and service_order take a short SHARE ROW EXCLUSIVE lock on
them, with no scan (the new table is empty), and no index is built on a hot table.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07
"""
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

CREATE = """
CREATE TABLE access_log (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    user_id integer NOT NULL REFERENCES "user" (id),
    role varchar(20) NOT NULL,
    kind varchar(8) NOT NULL,
    endpoint varchar(64) NOT NULL,
    report_id uuid REFERENCES report (id),
    order_id bigint REFERENCES service_order (id),
    filter jsonb,
    shown integer NOT NULL,
    CONSTRAINT ck_access_log_kind CHECK (kind IN ('detail', 'export', 'api')),
    CONSTRAINT ck_access_log_shown CHECK (shown > 0),
    CONSTRAINT ck_access_log_what CHECK (num_nonnulls(report_id, order_id, filter) = 1)
);
CREATE INDEX ix_access_log_created ON access_log (created_at, id);
CREATE INDEX ix_access_log_user ON access_log (user_id, created_at, id);
CREATE INDEX ix_access_log_report ON access_log (report_id, created_at, id) WHERE report_id IS NOT NULL;
CREATE INDEX ix_access_log_order ON access_log (order_id, created_at, id) WHERE order_id IS NOT NULL;
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
"""


def upgrade() -> None:
    op.execute(CREATE)


def downgrade() -> None:
    op.execute("DROP TABLE access_log")  # its triggers and indexes go with it
