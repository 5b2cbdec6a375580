"""The day's edges: the Python clock stopped one second either side of the next midnight, the process in a
time zone other than the programme's.

One second either side of the next midnight in LOCAL_TIMEZONE (Asia/Shanghai: a new local day, and on the
last of the month a new month) and of the next midnight in UTC (where a test that took dates in UTC would go
wrong), with the process TZ set to UTC or to America/Los_Angeles. time-machine stops Python's clock in every
thread, the live server's too, but not PostgreSQL's now(): the instants lie ahead of the real clock (by a day
at most), so rows the database stamps stay in the past of the stopped clock, as they would in production.

A test marked `clock_edges` that takes the `clock` fixture runs once at the real time and once at each edge
in each zone (tests/conftest.py); tests/http/test_clock_edges.py holds the tests about the edges themselves.
"""
import os
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import time_machine

PROCESS_ZONES = ["UTC", "America/Los_Angeles"]
EDGES = {"local-23:59:59": ("local", -1), "local-00:00:01": ("local", 1),
         "utc-23:59:59": ("utc", -1), "utc-00:00:01": ("utc", 1)}
# Every (edge, process zone) a clock_edges test runs at, and its test id.
EDGE_RUNS = [(edge, zone) for edge in EDGES for zone in PROCESS_ZONES]
EDGE_IDS = [f"{edge}-{zone}" for edge, zone in EDGE_RUNS]


def next_midnight(zone, after: datetime) -> datetime:
    """The first 00:00 in `zone` after the instant `after`, as a UTC datetime."""
    day = after.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(day, clock_time(), zone).astimezone(UTC)


@contextmanager
def process_zone(zone: str):
    """The process in another time zone (naive local times move), restored after."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield zone
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


@contextmanager
def stopped_at_edge(app, edge: str):
    """The Python clock stopped at one of EDGES, as a time-machine traveller."""
    which, seconds = EDGES[edge]
    zone = ZoneInfo(app.config["LOCAL_TIMEZONE"]) if which == "local" else UTC
    instant = next_midnight(zone, datetime.now(UTC)) + timedelta(seconds=seconds)
    # A UTC instant (not a ZoneInfo one), so time-machine leaves the process zone as process_zone set it.
    with time_machine.travel(instant, tick=False) as traveller:
        assert datetime.now(zone).strftime("%H:%M:%S") == ("23:59:59" if seconds < 0 else "00:00:01")
        yield traveller
