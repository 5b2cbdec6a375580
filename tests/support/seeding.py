"""Many reports in one statement, so the planner's choices are those of a full table (EXPLAIN tests)."""
from sqlalchemy import text

SEED_SQL = """
    INSERT INTO report (id, category, risk_level, description, location, submitted_lon, submitted_lat,
                        submitted_crs, location_source, committee_id, town_id, assignment_method,
                        assignment_distance_m, status, warnings, created_at)
    SELECT gen_random_uuid(),
           (ARRAY['combustibles','exit_blocked','ebike_charging','illegal_wiring'])[1 + (g % 4)],
           'general', '',
           ST_SetSRID(ST_MakePoint(121.30 + random() * 0.3, 30.95 + random() * 0.3), 4326), 0, 0,
           'wgs84', 'device', r.committee_id, r.town_id, 'covers', 0, :status, '[]',
           now() - random() * interval '60 days'
      FROM report r, generate_series(1, :n) g WHERE r.id = :id"""


def seed_like(app, owner_engine, report_id, status: str, n: int = 20000) -> None:
    """Add n reports of `status` in the district, in the given report's committee, and ANALYZE the table."""
    from service.core.db import db

    with app.app_context():
        db.session.execute(text(SEED_SQL), {"id": report_id, "status": status, "n": n})
        db.session.commit()
    with owner_engine.begin() as conn:
        conn.execute(text("ANALYZE report"))  # only the owner may; the app role's ANALYZE is skipped
