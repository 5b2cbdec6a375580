"""The recurrence cube (migration 0027): report.recurred and report_stats_recurrence stay exact through inserts,
moves, changed and removed links and deletes, and the figures summed from the cube equal those counted from the
rows (service/sites/recurrence.py), for every scope."""
import importlib.util
import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from service.accounts.auth import user_for_token
from service.core.db import db
from service.sites import recurrence
from tests.support.paths import MIGRATIONS

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime.now(UTC)
MIGRATION = MIGRATIONS / "versions" / "0027_recurrence_cube.py"
CATEGORIES = ("fire_lane_blocked", "exit_blocked", "ebike_charging")

INSERT = """
INSERT INTO report (id, category, risk_level, description, location, submitted_lon, submitted_lat, submitted_crs,
                    location_source, committee_id, town_id, assignment_method, assignment_distance_m, status,
                    created_at, due_at, rectified_at, verified_at, updated_at, recurrence_of)
SELECT r.id, r.category, 'general', '', ST_PointOnSurface(a.geom), 0, 0, 'wgs84', 'device', a.id, a.parent_id,
       'covers', 0, r.status, r.created_at, r.due_at, r.rectified_at, r.verified_at, r.updated_at, r.recurrence_of
  FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(id uuid, committee integer, category text, status text,
       created_at timestamptz, due_at timestamptz, rectified_at timestamptz, verified_at timestamptz,
       updated_at timestamptz, recurrence_of uuid)
  JOIN area a ON a.id = r.committee"""


def _migration():
    spec = importlib.util.spec_from_file_location("m0027", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _insert(rows: list[dict]) -> None:
    wire = [{k: v.isoformat() if isinstance(v, datetime) else v for k, v in r.items()} for r in rows]
    db.session.execute(text(INSERT), {"rows": json.dumps(wire)})
    db.session.commit()


@pytest.fixture
def linked(app, accounts):
    """240 verified reports over four months in the spot's town and another, and 90 later reports (some
    naming the same earlier one) linked to them, in three statements."""
    rng = random.Random(27)
    with app.app_context():
        committees = [{"id": i, "town": t} for i, t in db.session.execute(text(
            "SELECT c.id, t.code FROM area c JOIN area t ON t.id = c.parent_id WHERE c.level = 'committee'"
            " AND t.code IN (:a, :b) ORDER BY c.code"), {"a": accounts["sup_a"]["area"],
                                                          "b": accounts["sup_b"]["area"]}).all()]
        verified = []
        for _ in range(240):
            done = NOW - timedelta(days=rng.uniform(0.5, 115))
            created = done - timedelta(days=rng.uniform(1, 20))
            due = created + timedelta(days=7)
            verified.append({"id": str(uuid.UUID(int=rng.getrandbits(128))), "committee": rng.choice(committees)["id"],
                             "category": rng.choice(CATEGORIES), "status": "verified", "created_at": created,
                             "due_at": due, "rectified_at": done - timedelta(hours=2), "verified_at": done,
                             "updated_at": done, "recurrence_of": None})
        _insert(verified)
        later = []
        for _ in range(90):
            earlier = rng.choice(verified[:150])  # the same earlier report is named twice now and then
            later.append({**earlier, "id": str(uuid.UUID(int=rng.getrandbits(128))), "status": "submitted",
                          "created_at": NOW, "due_at": NOW + timedelta(days=3), "rectified_at": None,
                          "verified_at": None, "updated_at": NOW, "recurrence_of": earlier["id"]})
        _insert(later[:40])
        _insert(later[40:])
    return verified, later


def _cube(rows: str) -> dict:
    return {tuple(r[:5]): tuple(r[5:]) for r in db.session.execute(text(
        f"SELECT committee_id, town_id, category, site_id, month, verified, recurred, on_time FROM ({rows}) x"
        " WHERE verified <> 0 OR recurred <> 0 OR on_time <> 0"))}


def _assert_exact(migration) -> None:
    wrong = db.session.scalar(text(
        "SELECT count(*) FROM report r WHERE r.recurred IS DISTINCT FROM"
        " EXISTS (SELECT 1 FROM report l WHERE l.recurrence_of = r.id)"))
    assert wrong == 0
    assert _cube(f"SELECT * FROM {migration.TABLE}") == _cube(migration.grouped("report"))


def test_the_flag_and_the_cube_stay_exact(linked, ctx):
    migration = _migration()
    assert migration.ZONE == recurrence.CUBE_ZONE
    verified, later = linked
    assert db.session.scalar(text("SELECT count(*) FROM report WHERE recurred")) == len(
        {r["recurrence_of"] for r in later})
    _assert_exact(migration)
    steps = [
        # a link moved to another earlier report, and one removed
        f"UPDATE report SET recurrence_of = '{verified[200]['id']}' WHERE id = '{later[0]['id']}'",
        f"UPDATE report SET recurrence_of = NULL WHERE id = '{later[1]['id']}'",
        # recurring reports deleted (one of two naming the same report, and others)
        f"DELETE FROM report WHERE id IN ('{later[2]['id']}', '{later[3]['id']}', '{later[4]['id']}')",
        # an earlier report moved to another committee, and one sent back to rectifying
        "UPDATE report SET committee_id = (SELECT min(id) FROM area WHERE level = 'committee'"
        f" AND parent_id = report.town_id) WHERE id = '{later[5]['recurrence_of']}'",
        f"UPDATE report SET status = 'rectifying' WHERE id = '{later[6]['recurrence_of']}'",
        # an earlier report deleted with what names it
        f"DELETE FROM report WHERE recurrence_of = '{later[7]['recurrence_of']}'",
        f"DELETE FROM report WHERE id = '{later[7]['recurrence_of']}'",
        "UPDATE report SET description = 'touched'",  # every row once: nothing changes
    ]
    for sql in steps:
        db.session.execute(text(sql))
        db.session.commit()
        _assert_exact(migration)


def _month_start(months_ago: int) -> date:
    d = NOW.astimezone(ZONE).date().replace(day=1)
    for _ in range(months_ago):
        d = (d - timedelta(days=1)).replace(day=1)
    return d


@pytest.mark.parametrize("who", ["admin", "sup_a", "staff_a"])
def test_whole_months_from_the_cube_equal_the_rows(who, linked, app, accounts, monkeypatch):
    user_token = accounts[who]["token"]
    periods = [(None, None), (_month_start(2), _month_start(1) - timedelta(days=1)),
               (_month_start(3), NOW.astimezone(ZONE).date())]
    with app.test_request_context():
        user = user_for_token(user_token)
        for since, until in periods:
            for category in (None, CATEGORIES[1]):
                assert recurrence._whole_months(*recurrence.days(since, until))
                queries = []
                monkeypatch.setattr(recurrence, "_cube_figures", _spy(recurrence._cube_figures, queries))
                cubed = recurrence.rates(user, since, until, category)
                assert queries, "whole months are summed from the cube"
                monkeypatch.setattr(recurrence, "_whole_months", lambda first, last: False)
                counted = recurrence.rates(user, since, until, category)
                monkeypatch.undo()
                assert cubed == counted, (since, until, category)
        if who == "admin":
            assert cubed["total"]["verified"] > 0 and cubed["total"]["recurred"] > 0


def _spy(function, calls: list):
    def spied(*args):
        calls.append(args)
        return function(*args)
    return spied


def test_a_period_that_cuts_a_month_is_counted_from_the_rows(linked, app, accounts):
    since = _month_start(1) + timedelta(days=9)
    with app.test_request_context():
        assert not recurrence._whole_months(since, NOW.astimezone(ZONE).date())
        got = recurrence.rates(user_for_token(accounts["admin"]["token"]), since, None)
        start, _end = recurrence.period(since, None)
        plain = db.session.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM report l WHERE l.recurrence_of = r.id))"
            " FROM report r WHERE status = 'verified' AND updated_at >= :start"), {"start": start}).one()
    assert (got["total"]["verified"], got["total"]["recurred"]) == tuple(plain)
