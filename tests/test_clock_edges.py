"""The time-sensitive tests again at the day's edges, with the process in a time zone other than the programme's.

The Python clock is stopped one second either side of the next midnight in LOCAL_TIMEZONE (Asia/Shanghai: a
new local day, and on the last of the month a new month) and of the next midnight in UTC (where a test that
took dates in UTC would go wrong), with the process TZ set to UTC or to America/Los_Angeles. time-machine
stops Python's clock in every thread, the live server's too, but not PostgreSQL's now(): the instants lie
ahead of the real clock (by a day at most), so rows the database stamps stay in the past of the stopped
clock, as they would in production. The tests compare only times the service computes in Python.

    TEST_DATABASE_URL=... .venv/bin/python -m pytest tests/test_clock_edges.py -v
"""
import os
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine

from service.core.db import db
from service.core.models import Report
from service.reports import deadlines, location, notices, queries

# Imported to be collected here too, where `clock` below stops the clock at each edge.
from .test_intake_phones import test_warnings_far_exif_old_photo_low_accuracy  # noqa: F401
from .test_notifications import (  # noqa: F401
    robot,
    smtp,
    test_a_receiver_that_is_down_loses_nothing,
    test_escalation_town_then_district_idempotent,
)
from .test_reports_api import post
from .test_workflow_api import test_deadline_from_risk_stops_at_rectified_and_restarts_on_reopen  # noqa: F401

PROCESS_ZONES = ["UTC", "America/Los_Angeles"]
EDGES = {"local-23:59:59": ("local", -1), "local-00:00:01": ("local", 1),
         "utc-23:59:59": ("utc", -1), "utc-00:00:01": ("utc", 1)}


def next_midnight(zone, after: datetime) -> datetime:
    """The first 00:00 in `zone` after the instant `after`, as a UTC datetime."""
    day = after.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(day, clock_time(), zone).astimezone(UTC)


@pytest.fixture(params=PROCESS_ZONES)
def process_tz(request):
    """Run the test with the process in another time zone (naive local times move), then restore it."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


@pytest.fixture(params=list(EDGES.values()), ids=list(EDGES))
def clock(request, process_tz, app):
    """Overrides conftest's `clock`: stopped one second before or after the next midnight."""
    which, seconds = request.param
    zone = ZoneInfo(app.config["LOCAL_TIMEZONE"]) if which == "local" else UTC
    instant = next_midnight(zone, datetime.now(UTC)) + timedelta(seconds=seconds)
    # A UTC instant (not a ZoneInfo one), so time-machine leaves the process zone as process_tz set it.
    with time_machine.travel(instant, tick=False) as traveller:
        assert datetime.now(zone).strftime("%H:%M:%S") == ("23:59:59" if seconds < 0 else "00:00:01")
        yield traveller


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
