CREATE FUNCTION report_rollup_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO report_rollup (committee_id, town_id, status, category, risk_level, n)
  SELECT committee_id, town_id, status, category, risk_level, count(*) FROM new_rows GROUP BY committee_id, town_id, status, category, risk_level
  ON CONFLICT (committee_id, status, category, risk_level) DO UPDATE SET n = report_rollup.n + EXCLUDED.n;
  RETURN NULL;
END $$;
CREATE FUNCTION report_rollup_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE report_rollup r SET n = r.n - o.n
    FROM (SELECT committee_id, town_id, status, category, risk_level, count(*) AS n FROM old_rows GROUP BY committee_id, town_id, status, category, risk_level) o
   WHERE r.committee_id = o.committee_id AND r.status = o.status AND r.category = o.category
     AND r.risk_level = o.risk_level;
  RETURN NULL;
END $$;
CREATE FUNCTION report_rollup_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE report_rollup r SET n = r.n - o.n
    FROM (SELECT committee_id, town_id, status, category, risk_level, count(*) AS n FROM old_rows GROUP BY committee_id, town_id, status, category, risk_level) o
   WHERE r.committee_id = o.committee_id AND r.status = o.status AND r.category = o.category
     AND r.risk_level = o.risk_level;
  INSERT INTO report_rollup (committee_id, town_id, status, category, risk_level, n)
  SELECT committee_id, town_id, status, category, risk_level, count(*) FROM new_rows GROUP BY committee_id, town_id, status, category, risk_level
  ON CONFLICT (committee_id, status, category, risk_level) DO UPDATE SET n = report_rollup.n + EXCLUDED.n;
  RETURN NULL;
END $$;
CREATE FUNCTION report_rollup_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM report_rollup;
  RETURN NULL;
END $$;
