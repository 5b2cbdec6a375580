"""Report counts per committee, status, category and risk, kept by statement-level triggers.

The map's low-zoom layer and the committee choropleth need counts over the whole table; counting 10^6 rows per
tile is 0.3-1.2 s. The rollup has at most committees x statuses x categories x risks rows and is kept exact by
AFTER ... FOR EACH STATEMENT triggers with transition tables (one upsert per statement, not per row, so bulk
imports stay fast). The triggers fire ALWAYS, also under session_replication_role = replica, so clean-ups and
bulk loads cannot leave it stale.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""
from pathlib import Path

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

KEY = "committee_id, town_id, status, category, risk_level"

SQL = Path(__file__).resolve().parents[1] / "sql"  # frozen statements, read by their revision only (README)
# The trigger functions report_rollup_add, _remove, _move and _clear: migrations/sql/0008_report_rollup.sql.
FUNCTIONS = ("report_rollup_add", "report_rollup_remove", "report_rollup_move", "report_rollup_clear")

TRIGGERS = {
    "report_rollup_insert": "AFTER INSERT ON report REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
                            "EXECUTE FUNCTION report_rollup_add()",
    "report_rollup_update": "AFTER UPDATE ON report REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
                            "FOR EACH STATEMENT EXECUTE FUNCTION report_rollup_move()",
    "report_rollup_delete": "AFTER DELETE ON report REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
                            "EXECUTE FUNCTION report_rollup_remove()",
    "report_rollup_truncate": "AFTER TRUNCATE ON report FOR EACH STATEMENT EXECUTE FUNCTION report_rollup_clear()",
}


def upgrade() -> None:
    op.execute("""
        CREATE TABLE report_rollup (
            committee_id integer NOT NULL REFERENCES area (id),
            town_id integer NOT NULL REFERENCES area (id),
            status varchar(16) NOT NULL,
            category varchar(32) NOT NULL,
            risk_level varchar(20) NOT NULL,
            n bigint NOT NULL,
            CONSTRAINT pk_report_rollup PRIMARY KEY (committee_id, status, category, risk_level)
        )""")
    op.execute("CREATE INDEX ix_report_rollup_town ON report_rollup (town_id)")
    op.execute((SQL / "0008_report_rollup.sql").read_text(encoding="utf-8"))
    for name, body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
        op.execute(f"ALTER TABLE report ENABLE ALWAYS TRIGGER {name}")
    op.execute(f"INSERT INTO report_rollup ({KEY}, n) SELECT {KEY}, count(*) FROM report GROUP BY {KEY}")


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON report")
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION {name}()")
    op.execute("DROP TABLE report_rollup")
