CREATE FUNCTION assign_point(pt geometry, max_m double precision, gen integer DEFAULT NULL)
RETURNS TABLE (committee_id integer, town_id integer, method text, distance_m double precision,
               generation integer)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  WITH cur AS (
    SELECT coalesce(gen, (SELECT max(a.generation) FROM area a WHERE a.level = 'committee')) AS g
  ), hits AS MATERIALIZED (  -- first the point's cell, then its rows: not every row of the level in code order
    SELECT DISTINCT c.area_id FROM area_cell c, cur
     WHERE c.cx = area_cell_x(pt) AND c.cy = area_cell_y(pt) AND c.generation >= cur.g AND c.generation_low <= cur.g
       AND (c.geom IS NULL OR ST_Covers(c.geom, pt))
  ), covering AS (
    SELECT a.id, a.parent_id, count(*) OVER () AS n
    FROM hits h JOIN area a ON a.id = h.area_id
    ORDER BY a.code
    LIMIT 1
  ), nearest AS (  -- the geography distance once per candidate (not again in an ST_DWithin): d <= max_m
    SELECT id, parent_id, d FROM (
      SELECT a.id, a.parent_id, a.code, ST_Distance(a.geom::geography, pt::geography) AS d
      FROM area a, cur
      WHERE NOT EXISTS (SELECT 1 FROM covering)
        AND a.level = 'committee' AND a.generation >= cur.g AND a.generation_low <= cur.g
        AND ST_DWithin(a.geom, pt, max_m * 1.5 / (110574.0 * cos(radians(least(abs(ST_Y(pt)), 80)))))
      OFFSET 0) near
    WHERE d <= max_m
    ORDER BY d, code
    LIMIT 1
  )
  SELECT id, parent_id, CASE WHEN n > 1 THEN 'edge' ELSE 'covers' END, 0.0::float8, (SELECT g FROM cur)
    FROM covering
  UNION ALL
  SELECT id, parent_id, 'nearest', d, (SELECT g FROM cur) FROM nearest
$$;
