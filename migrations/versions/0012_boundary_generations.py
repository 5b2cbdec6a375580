"""Boundaries as living data: generations with a lifespan per area row, and what each import changed.

An area row now lives from `generation_low` to `generation` (MapIt's generation_low/generation_high): an
import that leaves a code's geometry unchanged only raises that row's `generation`, so its id, and every
report, contact and rollup row pointing at it, stays put. `boundary_generation` dates each import (for
lookups at a past date) and says whether open reports were re-assigned after it. `boundary_change` holds
the symmetric difference of each changed code, cut by ST_Subdivide into small pieces whose bounding boxes
the GiST index of report.location can use: re-assignment looks only there.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ASSIGN_SIGNATURE = "assign_point(geometry, double precision)"
NEW_SIGNATURE = "assign_point(geometry, double precision, integer)"

# The one assignment rule (migrations/sql/0012_assign_point.sql), for a single point and for bulk re-assignment:
# covered by one committee -> covers; by several (shared edge/vertex) -> lowest code, edge;
# by none -> nearest committee within max_m metres (geography distance), nearest.
# `gen` picks the committee generation to answer for (NULL = the one in force); a row is in force in
# every generation from generation_low to generation. The degree pre-filter lets the GiST index find
# candidates; it is wider than max_m anywhere below 80 degrees of latitude, and the geography test then
# decides exactly.
SQL = Path(__file__).resolve().parents[1] / "sql"  # frozen statements, read by their revision only (README)

def upgrade() -> None:
    op.create_table(
        "boundary_generation",
        sa.Column("level", sa.String(16), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("towns", sa.ARRAY(sa.String(12))),
        sa.Column("source", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("reassigned_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("level IN ('district', 'town', 'committee')", name="ck_boundary_generation_level"),
    )
    # Generations imported before this revision: dated by their rows, and already re-assigned as far as
    # they ever will be (`hazard-snap reassign --all` re-evaluates everything when in doubt).
    op.execute("""
        INSERT INTO boundary_generation (level, number, created_at, reassigned_at)
        SELECT level, generation, min(created_at), min(created_at) FROM area GROUP BY level, generation""")
    op.add_column("area", sa.Column("generation_low", sa.Integer))
    op.execute("UPDATE area SET generation_low = generation")
    op.alter_column("area", "generation_low", nullable=False)
    op.execute("ALTER TABLE area ADD CONSTRAINT ck_area_generation_span CHECK (generation_low <= generation)")
    # Raising `generation` must be a non-key update (FOR NO KEY UPDATE), which a report's foreign key share
    # lock on the area row does not wait for: so no column it changes may be in a unique index.
    op.drop_constraint("uq_area_code_generation", "area")
    op.create_unique_constraint("uq_area_code_generation_low", "area", ["code", "generation_low"])
    op.add_column("report", sa.Column("assigned_generation", sa.Integer))
    # Reports placed by the `nearest` fallback are few; re-assignment looks for them around changed ground.
    op.create_index("ix_report_nearest_location", "report", ["location"], postgresql_using="gist",
                    postgresql_where=sa.text("assignment_method = 'nearest'"))
    op.create_table(
        "boundary_change",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("geom", Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False),
        sa.ForeignKeyConstraint(["level", "generation"], ["boundary_generation.level", "boundary_generation.number"],
                                name="fk_boundary_change_level_boundary_generation", ondelete="CASCADE"),
    )
    op.create_index("ix_boundary_change_level_generation", "boundary_change", ["level", "generation"])
    op.create_index("idx_boundary_change_geom", "boundary_change", ["geom"], postgresql_using="gist")
    op.execute(f"DROP FUNCTION {ASSIGN_SIGNATURE}")
    op.execute((SQL / "0012_assign_point.sql").read_text(encoding="utf-8"))


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {NEW_SIGNATURE}")
    op.execute((SQL / "0012_assign_point_downgrade.sql").read_text(encoding="utf-8"))  # 0001's, frozen here
    op.drop_table("boundary_change")
    op.drop_index("ix_report_nearest_location", "report")
    op.drop_column("report", "assigned_generation")
    op.drop_constraint("uq_area_code_generation_low", "area")
    op.create_unique_constraint("uq_area_code_generation", "area", ["code", "generation"])
    op.execute("ALTER TABLE area DROP CONSTRAINT ck_area_generation_span")
    op.drop_column("area", "generation_low")
    op.drop_table("boundary_generation")
