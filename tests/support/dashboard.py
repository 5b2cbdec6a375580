"""Helpers first written for tests/browser/test_dashboard.py, now shared by several test modules."""
import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from service.core.db import db
from service.rules.workflow import TRANSITIONS

NOW = datetime.now(UTC)


CATEGORIES = ("fire_lane_blocked", "exit_blocked", "ebike_charging", "combustibles")


RISKS = ("general", "major", "suspected_severe")


INSERT = """
INSERT INTO report (id, category, risk_level, description, location, submitted_lon, submitted_lat, submitted_crs,
                    location_source, committee_id, town_id, assignment_method, assignment_distance_m, status,
                    created_at, due_at, rectified_at, verified_at)
SELECT r.id, r.category, r.risk, '', ST_PointOnSurface(a.geom), 0, 0, 'wgs84', 'device', a.id, a.parent_id,
       'covers', 0, r.status, r.created_at, r.due_at, r.rectified_at, r.verified_at
  FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(id uuid, committee integer, category text, risk text, status text,
       created_at timestamptz, due_at timestamptz, rectified_at timestamptz, verified_at timestamptz)
  JOIN area a ON a.id = r.committee"""


def _row(rng: random.Random, committee: dict) -> dict:
    status = rng.choice(list(TRANSITIONS))
    recent = rng.random() < 0.15  # some deadlines still to come
    created = NOW - (timedelta(hours=rng.uniform(1, 60)) if recent else timedelta(days=rng.uniform(3, 150)))
    due = created + timedelta(hours=rng.choice((24, 72, 168)))
    rectified = verified = None
    if status in ("rectified", "verified"):
        rectified = created + timedelta(hours=rng.choice((rng.uniform(0, 1), rng.expovariate(1 / 80))))
    if status == "verified":
        verified = rectified + timedelta(hours=rng.expovariate(1 / 20))
    return {"id": str(uuid.UUID(int=rng.getrandbits(128))), "committee": committee["id"], "code": committee["code"],
            "town": committee["town"], "category": rng.choice(CATEGORIES), "risk": rng.choice(RISKS),
            "status": status, "created_at": created, "due_at": due, "rectified_at": rectified,
            "verified_at": verified}


def _insert(rows: list[dict]) -> None:
    wire = [{k: v.isoformat() if isinstance(v, datetime) else v for k, v in r.items()} for r in rows]
    db.session.execute(text(INSERT), {"rows": json.dumps(wire)})
    db.session.commit()


@pytest.fixture
def seeded(app, accounts, owner_engine):
    """About 900 reports over every committee of the spot's town and a few dozen others, in two statements."""
    rng = random.Random(15)
    with app.app_context():
        committees = [{"id": i, "code": c, "town": t} for i, c, t in db.session.execute(text(
            "SELECT c.id, c.code, t.code FROM area c JOIN area t ON t.id = c.parent_id"
            " WHERE c.level = 'committee' ORDER BY c.code")).all()]
        home = [c for c in committees if c["town"] == accounts["sup_a"]["area"]]
        picked = home + rng.sample([c for c in committees if c not in home], 40)
        rows = [_row(rng, rng.choice(picked)) for _ in range(900)]
        rows += [_row(rng, next(c for c in committees if c["code"] == accounts["staff_a"]["area"]))
                 for _ in range(60)]
        _insert(rows[:500])
        _insert(rows[500:])  # the second statement adds to existing cube rows (ON CONFLICT)
    return rows

