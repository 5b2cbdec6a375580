"""analyze_areas(): the app's role may refresh the planner statistics of area and area_cell.

Only a table's owner may ANALYZE it (PostgreSQL 15 has no MAINTAIN privilege), and the app connects as a role
of its own, so the ANALYZE after a boundary import was skipped with a warning outside of tests. Until autovacuum
came by, the planner then believed a new generation's cells did not exist: judging every open report after a
full redraw hashed the 500,000 reports instead of the cells and planned no parallel workers (1.2 s, not 0.5 s).
This function runs as the owner (SECURITY DEFINER, with a fixed search_path) and does that one thing.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30
"""
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION analyze_areas() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp AS $$
        BEGIN
          ANALYZE public.area, public.area_cell;
        END $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION analyze_areas()")
