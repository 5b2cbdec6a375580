"""Helpers first written for tests/browser/test_detail_triage.py, now shared by several test modules."""
from tests.support.reports_api import post


def report_at(http, spot) -> str:
    r = post(http, lon=spot["lon"], lat=spot["lat"])
    assert r.status_code == 201, r.text
    return r.json()["id"]


def moved_elsewhere(http, accounts, rid) -> str:
    """Put a report under a committee of another town, at the same spot (an admin's manual re-assignment)."""
    r = http.post(f"/api/v1/reports/{rid}/reassign", json={"committee": accounts["elsewhere_code"]})
    assert r.status_code == 200, r.text
    return rid

