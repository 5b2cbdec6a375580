"""One clock (service/core/clock.py): with the app's clock 10 minutes ahead of the database's, or behind it, a
report's deadline, the overdue counts, escalation, the login throttle and the upload window agree, because none
of them reads the database's now(). time-machine moves Python's clock (the live server's thread too), not
PostgreSQL's."""
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
import time_machine
from sqlalchemy import text

from service.core.db import db
from service.core.models import Report
from service.reports import deadlines, queries
from tests.support.live import PASSWORD
from tests.support.reports_api import post

SKEW = timedelta(minutes=10)


@pytest.fixture(params=[SKEW, -SKEW], ids=["app-ahead", "app-behind"])
def skew(request):
    with time_machine.travel(datetime.now(UTC) + request.param, tick=True):
        yield request.param


def test_a_deadline_overdue_and_escalation_read_the_apps_clock(app, anon_http, http, spot, owner_engine, skew):
    made = post(anon_http, lon=spot["lon"], lat=spot["lat"]).json()
    with owner_engine.connect() as conn:
        created, due, db_now = conn.execute(text("SELECT created_at, due_at, now() FROM report WHERE id = :id"),
                                            {"id": made["id"]}).one()
    assert due - created == timedelta(hours=app.config["DEADLINE_HOURS"][made["risk_level"]])  # to the microsecond
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=1)  # stamped by the app's clock ...
    assert abs(db_now + skew - created) < timedelta(minutes=1)  # ... which is 10 minutes off the database's

    def seen() -> tuple[bool, int, bool, dict]:
        listed = http.get("/api/v1/reports", params={"overdue": "1", "limit": "100"}).json()["reports"]
        counted = http.get("/api/v1/stats", params={"section": "hazards"}).json()["sections"]["hazards"]
        with app.app_context():
            overdue = queries.is_overdue(db.session.get(Report, made["id"]))
            escalated = deadlines.escalate()
            db.session.commit()
        return made["id"] in {r["id"] for r in listed}, counted["totals"]["overdue"], overdue, escalated

    none = {"town": 0, "district": 0}
    with time_machine.travel(due - timedelta(seconds=5), tick=False):
        assert seen() == (False, 0, False, none)
    with time_machine.travel(due + timedelta(seconds=5), tick=False):
        assert seen() == (True, 1, True, {"town": 1, "district": 0})


def test_the_login_throttle_counts_its_window_on_the_apps_clock(app, live_server, accounts, skew):
    phone, limit = accounts["vol2"]["phone"], app.config["LOGIN_MAX_FAILURES"]
    window = timedelta(minutes=app.config["LOGIN_WINDOW_MINUTES"])
    s = requests.Session()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', s.get(live_server + "/login").text).group(1)
    started = datetime.now(UTC)
    for _ in range(limit):
        s.post(live_server + "/login", data={"csrf_token": token, "phone": phone, "password": "guess"})
    right = {"csrf_token": token, "phone": phone, "password": PASSWORD}
    with time_machine.travel(started + window - timedelta(seconds=30), tick=False):
        assert s.post(live_server + "/login", data=right, allow_redirects=False).status_code == 429
    with time_machine.travel(started + window + timedelta(minutes=1), tick=False):
        assert s.post(live_server + "/login", data=right, allow_redirects=False).status_code == 302
