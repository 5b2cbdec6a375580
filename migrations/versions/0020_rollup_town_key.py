"""The per-committee counts are keyed by town row too, as they are grouped.

A town import that changes a town's outline gives the town a new row and hangs the committees it keeps under
it (0012's _adopt_children). From then on a committee's earlier reports point at the town's old row and its
new reports at the new one. report_rollup and report_stats were grouped by (committee, town, status, category,
risk) but keyed without the town, so one statement touching both kinds of report (an escalation run, a
bulk move) upserted the same key twice and failed ("ON CONFLICT DO UPDATE command cannot affect row a second
time"), and a subtraction matched one of the two groups only. Both are now keyed as they are grouped;
readers already sum over rows, and compare towns by code.

The counts are rebuilt from the reports once, so any drift from before this revision is gone. A downgrade
fails if some committee's reports do point at two rows of its town (the old key cannot hold them).

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30
"""
from alembic import context, op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

KEY = "committee_id, town_id, status, category, risk_level"
OLD_KEY = "committee_id, status, category, risk_level"
ADD = f"""
  INSERT INTO report_rollup ({KEY}, n)
  SELECT {KEY}, count(*) FROM new_rows GROUP BY {KEY}
  ON CONFLICT ({KEY}) DO UPDATE SET n = report_rollup.n + EXCLUDED.n;"""
SUBTRACT = f"""
  UPDATE report_rollup r SET n = r.n - o.n
    FROM (SELECT {KEY}, count(*) AS n FROM old_rows GROUP BY {KEY}) o
   WHERE {" AND ".join(f"r.{c} = o.{c}" for c in KEY.split(", "))};"""


def _stats():
    return context.script.get_revision("0015").module


def _bodies(rollup_add: str, rollup_subtract: str, stats_pk: str) -> dict[str, str]:
    """Revision 0015's trigger bodies, with these report_rollup statements and report_stats keyed by stats_pk."""
    stats = _stats()
    saved = stats.CUBES["report_stats"]
    stats.CUBES["report_stats"] = (saved[0], stats_pk)
    try:
        tables = list(stats.CUBES)
        return {
            "report_rollup_add": rollup_add + "".join(stats._add(t) for t in tables),
            "report_rollup_remove": rollup_subtract + "".join(stats._subtract(t) for t in tables),
            "report_rollup_move": rollup_subtract + rollup_add
            + "".join(stats._subtract(t) + stats._add(t) for t in tables),
        }
    finally:
        stats.CUBES["report_stats"] = saved


def _rebuild(key: str) -> None:
    stats = _stats()
    figures = ", ".join(stats.FIGURES)
    op.execute("DELETE FROM report_rollup")
    op.execute(f"INSERT INTO report_rollup ({KEY}, n) SELECT {KEY}, count(*) FROM report GROUP BY {KEY}")
    op.execute("DELETE FROM report_stats")
    op.execute(f"INSERT INTO report_stats ({stats.CUBES['report_stats'][0]}, n, {figures}) "
               f"{stats._grouped(stats.CUBES['report_stats'][0], 'report')}")


def _key(key: str) -> None:
    for table in ("report_rollup", "report_stats"):
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({key})")


def upgrade() -> None:
    _key(KEY)
    _stats()._replace(_bodies(ADD, SUBTRACT, KEY))
    _rebuild(KEY)


def downgrade() -> None:
    rollup = context.script.get_revision("0008").module
    _stats()._replace(_bodies(rollup.ADD, rollup.SUBTRACT, OLD_KEY))
    _rebuild(KEY)
    _key(OLD_KEY)
