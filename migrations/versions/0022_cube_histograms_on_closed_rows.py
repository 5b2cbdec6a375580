"""The report triggers build the duration histograms from the rows that have a duration only.

Revision 0015's cubes count each key's durations in 2 x 55 buckets with FILTER aggregates, and every row of a
statement went through all 110 of them, also the open reports that have neither duration (NULL buckets, which
no FILTER counts). Moving 20,000 open reports between committees spent 0.4 s of its 2.5 s there. Each cube
statement now counts the rows per key in one aggregate, and builds the histograms in a second one over the
rows with a rectification or verification time only, joined by key: the same figures (a key no such row has
keeps NULL histograms, as before), with no histogram work for open reports.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30
"""
from pathlib import Path

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parents[1] / "sql"  # frozen statements, read by their revision only (README)
# The report triggers' add, remove and move functions with each cube's rows grouped in two aggregates
# (migrations/sql/0022_report_rollup.sql), and 0020's for the downgrade (..._downgrade.sql).


def upgrade() -> None:
    op.execute((SQL / "0022_report_rollup.sql").read_text(encoding="utf-8"))


def downgrade() -> None:
    op.execute((SQL / "0022_report_rollup_downgrade.sql").read_text(encoding="utf-8"))  # 0020's, frozen here
