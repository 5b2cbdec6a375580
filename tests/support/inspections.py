"""Helpers first written for tests/browser/test_inspections.py, now shared by several test modules."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from tests.support.sites import imported, point_row
from tests.support.volunteer_fixtures import clear_volunteers, make_profiles


@pytest.fixture
def rounds_env(request, owner_engine, accounts):
    """Sites to plan; vol and vol2 on the spot's committee's roster (inspectors in sup_a's town), vol_sib on its
    sibling's, vol_far on another town's."""
    app = request.getfixturevalue("sites_env")  # sites are cleared after the rounds
    make_profiles(accounts, owner_engine)
    yield app
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM inspection; DELETE FROM inspection_round; DELETE FROM campaign"))
    clear_volunteers(owner_engine)


def planned(http, accounts, sites=("S-1", "S-2"), who=("vol", "vol2"), **fields):
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    body = {"title": "十一月重点场所巡查", "starts_on": (today - timedelta(days=1)).isoformat(),
            "ends_on": (today + timedelta(days=5)).isoformat(), "sites": list(sites),
            "inspectors": [accounts[w]["id"] for w in who]} | fields
    return http.post("/api/v1/inspection-rounds", json=body)


def two_sites(app, tmp_path, spot):
    return imported(app, tmp_path, point_row(spot, 1), point_row(spot, 2, kind="小餐饮", dy=60))

