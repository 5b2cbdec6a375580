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
import sqlalchemy as sa
from alembic import context, op
from geoalchemy2 import Geometry

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ASSIGN_SIGNATURE = "assign_point(geometry, double precision)"
NEW_SIGNATURE = "assign_point(geometry, double precision, integer)"

# The one assignment rule, for a single point and for bulk re-assignment:
# covered by one committee -> covers; by several (shared edge/vertex) -> lowest code, edge;
# by none -> nearest committee within max_m metres (geography distance), nearest.
# `gen` picks the committee generation to answer for (NULL = the one in force); a row is in force in
# every generation from generation_low to generation. The degree pre-filter lets the GiST index find
# candidates; it is wider than max_m anywhere below 80 degrees of latitude, and the geography test then
# decides exactly.
ASSIGN_FUNCTION = """
CREATE FUNCTION assign_point(pt geometry, max_m double precision, gen integer DEFAULT NULL)
RETURNS TABLE (committee_id integer, town_id integer, method text, distance_m double precision,
               generation integer)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  WITH cur AS (
    SELECT coalesce(gen, (SELECT max(a.generation) FROM area a WHERE a.level = 'committee')) AS g
  ), covering AS (
    SELECT a.id, a.parent_id, count(*) OVER () AS n
    FROM area a, cur
    WHERE a.level = 'committee' AND a.generation >= cur.g AND a.generation_low <= cur.g AND ST_Covers(a.geom, pt)
    ORDER BY a.code
    LIMIT 1
  ), nearest AS (
    SELECT a.id, a.parent_id, ST_Distance(a.geom::geography, pt::geography) AS d
    FROM area a, cur
    WHERE NOT EXISTS (SELECT 1 FROM covering)
      AND a.level = 'committee' AND a.generation >= cur.g AND a.generation_low <= cur.g
      AND ST_DWithin(a.geom, pt, max_m * 1.5 / (110574.0 * cos(radians(least(abs(ST_Y(pt)), 80)))))
      AND ST_DWithin(a.geom::geography, pt::geography, max_m)
    ORDER BY d, a.code
    LIMIT 1
  )
  SELECT id, parent_id, CASE WHEN n > 1 THEN 'edge' ELSE 'covers' END, 0.0::float8, (SELECT g FROM cur)
    FROM covering
  UNION ALL
  SELECT id, parent_id, 'nearest', d, (SELECT g FROM cur) FROM nearest
$$;
"""

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
    op.execute(ASSIGN_FUNCTION)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {NEW_SIGNATURE}")
    op.execute(context.script.get_revision("0001").module.ASSIGN_FUNCTION)  # restored, not copied
    op.drop_table("boundary_change")
    op.drop_index("ix_report_nearest_location", "report")
    op.drop_column("report", "assigned_generation")
    op.drop_constraint("uq_area_code_generation_low", "area")
    op.create_unique_constraint("uq_area_code_generation", "area", ["code", "generation"])
    op.execute("ALTER TABLE area DROP CONSTRAINT ck_area_generation_span")
    op.drop_column("area", "generation_low")
    op.drop_table("boundary_generation")
