"""Draw on GCJ-02 base maps (高德): SQL functions shifting WGS-84 geometries to GCJ-02 inside tile queries.

The formula is geo/coords.py's `_gcj_delta` (the reference; tests/browser/test_map_layers.py holds the two to ≤ 1 m).
Stored geometries stay WGS-84; only what is drawn on GCJ-02 tiles is shifted.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

POINT = r"""
CREATE FUNCTION gcj02_point(lon float8, lat float8) RETURNS geometry
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    x float8 := lon - 105.0;
    y float8 := lat - 35.0;
    common float8 := (20.0 * sin(6.0 * x * pi()) + 20.0 * sin(2.0 * x * pi())) * 2.0 / 3.0;
    dlat float8;
    dlon float8;
    rad float8 := lat / 180.0 * pi();
    magic float8 := 1.0 - 0.00669342162296594323 * sin(rad) ^ 2;
BEGIN
    IF lon < 72.004 OR lon > 137.8347 OR lat < 0.8293 OR lat > 55.8271 THEN
        RETURN ST_SetSRID(ST_MakePoint(lon, lat), 4326);
    END IF;
    dlat := -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(abs(x)) + common
        + (20.0 * sin(y * pi()) + 40.0 * sin(y / 3.0 * pi())) * 2.0 / 3.0
        + (160.0 * sin(y / 12.0 * pi()) + 320.0 * sin(y * pi() / 30.0)) * 2.0 / 3.0;
    dlon := 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(abs(x)) + common
        + (20.0 * sin(x * pi()) + 40.0 * sin(x / 3.0 * pi())) * 2.0 / 3.0
        + (150.0 * sin(x / 12.0 * pi()) + 300.0 * sin(x / 30.0 * pi())) * 2.0 / 3.0;
    dlat := (dlat * 180.0) / ((6378245.0 * (1.0 - 0.00669342162296594323)) / (magic * sqrt(magic)) * pi());
    dlon := (dlon * 180.0) / (6378245.0 / sqrt(magic) * cos(rad) * pi());
    RETURN ST_SetSRID(ST_MakePoint(lon + dlon, lat + dlat), 4326);
END $$
"""

# Points are shifted directly; (multi)polygons vertex by vertex, rebuilt ring by ring.
GEOMETRY = r"""
CREATE FUNCTION to_gcj02(g geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT CASE WHEN GeometryType(g) = 'POINT' THEN gcj02_point(ST_X(g), ST_Y(g)) ELSE (
    WITH pts AS (
        SELECT d.path, gcj02_point(ST_X(d.geom), ST_Y(d.geom)) AS geom FROM ST_DumpPoints(ST_Multi(g)) AS d
    ), rings AS (
        SELECT path[1] AS part, path[2] AS ring, ST_MakeLine(geom ORDER BY path[3]) AS line FROM pts GROUP BY 1, 2
    ), parts AS (
        SELECT part, ST_MakePolygon((array_agg(line ORDER BY ring))[1],
                                    (array_agg(line ORDER BY ring))[2:]) AS poly
        FROM rings GROUP BY part
    )
    SELECT ST_SetSRID(ST_Multi(ST_Collect(poly ORDER BY part)), 4326) FROM parts
) END
$$
"""


def upgrade() -> None:
    op.execute(POINT)
    op.execute(GEOMETRY)


def downgrade() -> None:
    op.execute("DROP FUNCTION to_gcj02(geometry)")
    op.execute("DROP FUNCTION gcj02_point(float8, float8)")
