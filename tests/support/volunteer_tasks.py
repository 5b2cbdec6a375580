"""Helpers first written for tests/http/test_volunteer_tasks.py, now shared by several test modules."""
from tests.support.reports_api import post
from tests.support.workflow_api import move


def dispatch_new(as_user, anon_http, spot, volunteer_id, **fields) -> str:
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"], **fields).json()["id"]
    assert move(as_user("sup_a"), rid, "accepted").status_code == 200
    r = move(as_user("sup_a"), rid, "dispatched", assignee_id=volunteer_id)
    assert r.status_code == 200, r.text
    return rid

