CREATE FUNCTION assign_point(pt geometry, max_m double precision)
RETURNS TABLE (committee_id integer, town_id integer, method text, distance_m double precision)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  WITH cur AS (
    SELECT max(generation) AS gen FROM area WHERE level = 'committee'
  ), covering AS (
    SELECT a.id, a.parent_id, count(*) OVER () AS n
    FROM area a, cur
    WHERE a.level = 'committee' AND a.generation = cur.gen AND ST_Covers(a.geom, pt)
    ORDER BY a.code
    LIMIT 1
  ), nearest AS (
    SELECT a.id, a.parent_id, ST_Distance(a.geom::geography, pt::geography) AS d
    FROM area a, cur
    WHERE NOT EXISTS (SELECT 1 FROM covering)
      AND a.level = 'committee' AND a.generation = cur.gen
      AND ST_DWithin(a.geom, pt, max_m * 1.5 / (110574.0 * cos(radians(least(abs(ST_Y(pt)), 80)))))
      AND ST_DWithin(a.geom::geography, pt::geography, max_m)
    ORDER BY d, a.code
    LIMIT 1
  )
  SELECT id, parent_id, CASE WHEN n > 1 THEN 'edge' ELSE 'covers' END, 0.0::float8 FROM covering
  UNION ALL
  SELECT id, parent_id, 'nearest', d FROM nearest
$$;
