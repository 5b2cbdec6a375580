"""The day's edges themselves (tests/support/clock.py): the process really is in another zone, times show in
local time whatever that zone, deadlines at local midnight. The tests marked `clock_edges` in other modules run
at the same edges, in the same zones.

    TEST_DATABASE_URL=... .venv/bin/python -m pytest tests/http/test_clock_edges.py -v
"""
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine

from service.core.db import db
from service.core.models import Report
from service.reports import deadlines, location, notices, queries
from tests.support.clock import PROCESS_ZONES, next_midnight, process_zone
from tests.support.reports_api import post


@pytest.fixture(params=PROCESS_ZONES)
def process_tz(request):
    with process_zone(request.param):
        yield request.param


def test_the_process_zone_really_changes(process_tz):
    offset = datetime.now().astimezone().utcoffset()
    assert offset != timedelta(hours=8)
    assert (offset == timedelta(0)) == (process_tz == "UTC")


@pytest.mark.parametrize(("utc", "local"), [
    (datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC), "2026-11-30 23:59"),  # the month's last local minute
    (datetime(2026, 11, 30, 16, 0, 1, tzinfo=UTC), "2026-12-01 00:00"),  # a new local month, same UTC day
    (datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), "2027-01-01 07:59"),  # a new local year, old UTC year
    (datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC), "2027-01-01 08:00"),
    (datetime(2028, 2, 28, 16, 0, 0, tzinfo=UTC), "2028-02-29 00:00"),
])
def test_times_show_in_local_time_whatever_the_process_zone(app, process_tz, utc, local):
    localtime = app.jinja_env.filters["localtime"]
    naive_exif = datetime.strptime(local, "%Y-%m-%d %H:%M")  # a phone in the programme's zone wrote this
    with app.app_context():  # the zone is the app's LOCAL_TIMEZONE
        assert localtime(utc) == localtime(utc.isoformat()) == localtime(utc.astimezone(ZoneInfo(process_tz))) \
            == local
        assert location.taken_at_aware(SimpleNamespace(taken_at=naive_exif)) == utc.replace(second=0)


def test_a_notification_states_the_deadline_in_local_time(app, anon_http, spot, process_tz):
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    due = datetime(2026, 11, 30, 16, 0, 0, tzinfo=UTC)  # 00:00 on the 1st, Shanghai time
    with app.app_context():
        report = db.session.get(Report, rid)
        report.due_at = due
        assert "整改期限：2026-12-01 00:00" in notices.text(report, "subject")
        db.session.rollback()


def test_a_deadline_at_local_midnight_escalates_after_it_not_before(app, anon_http, spot, process_tz):
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    midnight = next_midnight(ZoneInfo(app.config["LOCAL_TIMEZONE"]), datetime.now(UTC))
    with app.app_context():
        db.session.get(Report, rid).due_at = midnight
        db.session.commit()

    def state() -> tuple[bool, dict]:
        with app.app_context():
            overdue = queries.is_overdue(db.session.get(Report, rid))
            return overdue, deadlines.escalate()

    none = {"town": 0, "district": 0}
    with time_machine.travel(midnight - timedelta(seconds=1), tick=False) as traveller:
        assert state() == (False, none)
        traveller.shift(timedelta(seconds=1))
        assert state() == (False, none)  # due at 00:00 means not overdue at 00:00
        traveller.shift(timedelta(seconds=1))
        assert state() == (True, {"town": 1, "district": 0})
        traveller.shift(timedelta(hours=app.config["ESCALATE_TO_DISTRICT_AFTER_H"], seconds=-1))
        assert state() == (True, none)
        traveller.shift(timedelta(seconds=1))
        assert state() == (True, {"town": 0, "district": 1})
