"""A grid over the committees, so a point finds its committee with one b-tree probe, and a million with a hash join.

A committee outline has ~90 vertices and, after a few imports, shares its ground with the rows of earlier
generations: the GiST index of `area` handed assign_point ~38 candidate rows per point, each tested with
ST_Covers on a whole outline (~75 µs a point when re-assigning 10^6 reports), and a GiST probe alone costs
~9 µs. `area_cell` cuts every committee row by a fixed grid: per cell it overlaps, one row with no geometry
when the outline covers the whole cell, or the part of the outline inside the cell. A point's cell is two
integers computed from its coordinates, so finding it is a b-tree probe (assign_point) or a hash join (bulk
re-assignment, service/areas/assignment.py), and the geometry test, when one is needed, is against a few
vertices. Each row carries its committee row's lifespan, so any generation can be asked.

A trigger on `area` keeps the cells: a new committee row is cut, a raised lifespan is copied, a changed
outline is cut again. Nothing else writes the table. assign_point keeps its rule and signature; only where
`covering` looks changes.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30
"""
from pathlib import Path

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# The grid: cells of CELL_DEGREES (about 190 m by 220 m here), numbered by floor(lon / size), floor(lat / size).
# Each cell is cut out 1e-9 degrees wider than its own bounds, so a point that rounding puts into a cell is
# never outside the ground the cell's rows describe.
CELL_DEGREES = 0.002
EPSILON = 1e-9

CELL_FUNCTIONS = f"""
CREATE FUNCTION area_cell_x(pt geometry) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN floor(ST_X(pt) / {CELL_DEGREES})::integer;
CREATE FUNCTION area_cell_y(pt geometry) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN floor(ST_Y(pt) / {CELL_DEGREES})::integer;
-- The cells an outline overlaps: geom NULL where it covers the whole cell, else its part inside the cell
-- (an outline that only touches a cell leaves a line or a point there: kept, as it covers points too).
CREATE FUNCTION area_cells(outline geometry) RETURNS TABLE (cx integer, cy integer, geom geometry)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT b.cx, b.cy, part.geom
    FROM (SELECT x AS cx, y AS cy,
                 ST_MakeEnvelope(x * {CELL_DEGREES} - {EPSILON}, y * {CELL_DEGREES} - {EPSILON},
                                 (x + 1) * {CELL_DEGREES} + {EPSILON}, (y + 1) * {CELL_DEGREES} + {EPSILON},
                                 ST_SRID(outline)) AS box
            FROM generate_series(floor(ST_XMin(outline) / {CELL_DEGREES})::integer,
                                 floor(ST_XMax(outline) / {CELL_DEGREES})::integer) x,
                 generate_series(floor(ST_YMin(outline) / {CELL_DEGREES})::integer,
                                 floor(ST_YMax(outline) / {CELL_DEGREES})::integer) y) b
    CROSS JOIN LATERAL (
      SELECT NULL::geometry AS geom WHERE ST_Covers(outline, b.box)
      UNION ALL
      SELECT d.geom FROM ST_Dump(ST_Intersection(outline, b.box)) d
       WHERE ST_Intersects(outline, b.box) AND NOT ST_Covers(outline, b.box)) part
$$;
CREATE FUNCTION area_cell_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.geom IS NOT DISTINCT FROM OLD.geom AND NEW.level = OLD.level THEN
    IF (NEW.generation_low, NEW.generation) IS DISTINCT FROM (OLD.generation_low, OLD.generation) THEN
      UPDATE area_cell SET generation_low = NEW.generation_low, generation = NEW.generation
       WHERE area_id = NEW.id;
    END IF;
    RETURN NULL;
  END IF;
  DELETE FROM area_cell WHERE area_id = NEW.id;
  IF NEW.level = 'committee' THEN
    INSERT INTO area_cell (area_id, generation_low, generation, cx, cy, geom)
    SELECT NEW.id, NEW.generation_low, NEW.generation, c.cx, c.cy, c.geom FROM area_cells(NEW.geom) c;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER area_cell_sync AFTER INSERT OR UPDATE OF geom, level, generation, generation_low ON area
  FOR EACH ROW EXECUTE FUNCTION area_cell_sync();
"""

# The one assignment rule, as in revision 0012 (migrations/sql/0019_assign_point.sql); `covering` now finds the
# committee rows through the point's grid cell (a point on the line between two parts of one committee is one
# committee: DISTINCT).
SQL = Path(__file__).resolve().parents[1] / "sql"  # frozen statements, read by their revision only (README)
SIGNATURE = "assign_point(geometry, double precision, integer)"


def upgrade() -> None:
    op.execute("""
        CREATE TABLE area_cell (
            id bigserial CONSTRAINT pk_area_cell PRIMARY KEY,
            area_id integer NOT NULL CONSTRAINT fk_area_cell_area_id_area REFERENCES area (id) ON DELETE CASCADE,
            generation_low integer NOT NULL,
            generation integer NOT NULL,
            cx integer NOT NULL,
            cy integer NOT NULL,
            geom geometry(GEOMETRY, 4326)
        )""")
    op.execute("CREATE INDEX ix_area_cell_area_id ON area_cell (area_id)")
    op.execute("CREATE INDEX ix_area_cell_cx_cy ON area_cell (cx, cy)")
    op.execute(CELL_FUNCTIONS)
    op.execute("""
        INSERT INTO area_cell (area_id, generation_low, generation, cx, cy, geom)
        SELECT a.id, a.generation_low, a.generation, c.cx, c.cy, c.geom FROM area a, area_cells(a.geom) c
         WHERE a.level = 'committee'""")
    op.execute("ANALYZE area_cell")
    op.execute(f"DROP FUNCTION {SIGNATURE}")
    op.execute((SQL / "0019_assign_point.sql").read_text(encoding="utf-8"))


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
    op.execute((SQL / "0019_assign_point_downgrade.sql").read_text(encoding="utf-8"))  # 0012's, frozen here
    op.execute("DROP TRIGGER area_cell_sync ON area")
    op.execute("DROP FUNCTION area_cell_sync(), area_cells(geometry), area_cell_x(geometry), area_cell_y(geometry)")
    op.execute("DROP TABLE area_cell")
