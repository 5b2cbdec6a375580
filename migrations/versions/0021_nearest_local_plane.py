"""assign_point measures the `nearest` distance in the local plane at the point, as geo/assign.py does.

Until now the fallback computed the spheroidal geography distance from the point to each candidate committee's
whole outline: about 1 µs per vertex, 0.2 ms per uncovered point on the real committees (about 120 vertices each,
two candidates), which made the 2,300 uncovered open reports of the benchmark cost 0.5 s in a bulk
re-assignment, more than the 500,000 covered ones. Now each candidate is moved by one affine transform (ST_Affine) into
metres on the tangent plane at the point (the WGS-84 ellipsoid's metres per degree at its latitude, the formula
of geo/coords.metres_per_degree) and measured there: about 30x faster, and the same computation as the in-memory
ground truth, instead of one within centimetres of it. Within the fallback's few hundred metres the two
distances differ by well under 0.5 %.

Stored distances of existing `nearest` reports keep the old measure until they are re-assigned.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30
"""
from pathlib import Path

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# The one assignment rule, as in revision 0019, but for the distance of `nearest`: today's assign_point,
# in migrations/sql/0021_assign_point.sql (tests/db/test_migration_sql.py holds the database to it).
SQL = Path(__file__).resolve().parents[1] / "sql"  # frozen statements, read by their revision only (README)
SIGNATURE = "assign_point(geometry, double precision, integer)"


def upgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
    op.execute((SQL / "0021_assign_point.sql").read_text(encoding="utf-8"))


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
    op.execute((SQL / "0021_assign_point_downgrade.sql").read_text(encoding="utf-8"))  # 0019's, frozen here
