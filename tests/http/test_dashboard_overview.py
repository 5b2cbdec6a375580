"""Every key figure on the dashboard's first screen equals a plain SQL count over the seeded rows: the whole
table's value, this month's and last month's (of the reports created in each local month), for the district, a
town and a committee, in GET /api/v1/stats and on the page."""
import math
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from service.dashboard import cube
from service.rules.workflow import CLOCK_RUNNING, OPEN
from tests.support.volunteer_fixtures import clear_volunteers, make_profiles

ZONE = ZoneInfo("Asia/Shanghai")
SCOPES = {"admin": "", "sup_a": "AND town_id IN (SELECT id FROM area WHERE code = :code)",
          "staff_a": "AND committee_id IN (SELECT id FROM area WHERE code = :code)"}


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in sorted(values))


def _months(now: datetime) -> tuple[date, date]:
    this = now.astimezone(ZONE).date().replace(day=1)
    return this, (this - timedelta(days=1)).replace(day=1)


def _plain(owner_engine, who: str, code: str, now: datetime, month: date | None) -> dict:
    """The figures by plain SQL over report: all rows, or those created in the local month."""
    where = SCOPES[who]
    if month is not None:
        where += (" AND created_at >= (CAST(:m AS date)::timestamp AT TIME ZONE 'Asia/Shanghai')"
                  " AND created_at < ((CAST(:m AS date) + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai')")
    with owner_engine.connect() as conn:
        row = conn.execute(text(
            f"SELECT count(*), count(*) FILTER (WHERE status IN ({_in(OPEN)})),"
            f" count(*) FILTER (WHERE status IN ({_in(CLOCK_RUNNING)}) AND due_at < :now),"
            " count(*) FILTER (WHERE rectified_at <= due_at), count(*) FILTER (WHERE rectified_at > due_at)"
            f" FROM report WHERE true {where}"), {"now": now, "code": code, "m": month}).one()
        hours = sorted(conn.scalars(text(
            f"SELECT extract(epoch FROM rectified_at - created_at) / 3600 FROM report"
            f" WHERE rectified_at IS NOT NULL {where}"), {"code": code, "m": month}))
    total, open_, overdue, on_time, late = row
    judged = on_time + late + overdue
    return {"total": total, "open": open_, "overdue": overdue,
            "on_time_rate": round(on_time / judged, 4) if judged else None, "hours": hours}


def _near_median(got, hours: list[float]) -> bool:
    """The bucket estimate of the median lies in the bucket of the exact (nearest-rank) one (cube.py)."""
    if not hours:
        return got is None
    exact = hours[math.ceil(0.5 * len(hours)) - 1]
    b = next(i for i, edge in enumerate(cube.EDGES + [math.inf]) if exact < edge)
    return cube.EDGES[b - 1] <= got <= cube.EDGES[min(b, len(cube.EDGES) - 1)] + 0.01


def _serving(owner_engine, month: date, codes: str) -> int:
    with owner_engine.connect() as conn:
        return conn.scalar(text(
            "SELECT count(DISTINCT e.volunteer_id) FROM service_hour_entry e"
            " JOIN service_hour_decision d ON d.entry_id = e.id AND d.approved"
            " JOIN volunteer v ON v.user_id = e.volunteer_id"
            " WHERE e.service_date >= :m AND e.service_date < CAST(:m AS date) + interval '1 month'"
            f" {codes}"), {"m": month})


@pytest.fixture
def serving(accounts, owner_engine):
    """Approved hours: vol and vol_sib this month, vol, vol2 and vol_far last month; a refused entry too."""
    people = make_profiles(accounts, owner_engine)
    this, last = _months(datetime.now(UTC))
    try:
        with owner_engine.begin() as conn:
            for who, day, approved in (("vol", this, True), ("vol_sib", this, True), ("vol2", this, False),
                                       ("vol", last, True), ("vol2", last + timedelta(days=3), True),
                                       ("vol_far", last, True)):
                entry = conn.scalar(text(
                    "INSERT INTO service_hour_entry (volunteer_id, source, hours, service_date)"
                    " VALUES (:v, 'manual', 2, :d) RETURNING id"), {"v": people[who], "d": day})
                conn.execute(text("INSERT INTO service_hour_decision (entry_id, approved, decided_by)"
                                  " VALUES (:e, :a, :by)"), {"e": entry, "a": approved,
                                                            "by": accounts["admin"]["id"]})
        yield people
    finally:
        clear_volunteers(owner_engine)


@pytest.mark.parametrize("who", ["admin", "sup_a", "staff_a"])
def test_every_first_screen_figure_equals_a_plain_count(who, seeded, serving, as_user, accounts,  # noqa: F811
                                                         owner_engine, clock):
    now = datetime.now(UTC)
    code = accounts[who]["area"]
    got = as_user(who).get("/api/v1/stats")
    assert got.status_code == 200, got.text
    cards = {c["key"]: c for c in got.json()["overview"]}
    assert list(cards) == ["open", "overdue", "on_time_rate", "median_hours", "new", "volunteers"]
    this, last = _months(now)
    whole, mine, before = (_plain(owner_engine, who, code, now, m) for m in (None, this, last))
    assert mine["total"] and before["total"], "the seed must cover this month and the last"
    for key in ("open", "overdue", "on_time_rate"):
        assert (cards[key]["value"], cards[key]["this"], cards[key]["last"]) == (whole[key], mine[key],
                                                                                  before[key]), key
        assert cards[key]["delta"] == round(mine[key] - before[key], 4), key
    median = cards["median_hours"]
    for value, plain in ((median["value"], whole), (median["this"], mine), (median["last"], before)):
        assert _near_median(value, plain["hours"]), (value, plain["hours"][:5])
    assert (cards["new"]["value"], cards["new"]["last"]) == (mine["total"], before["total"])
    codes = {"admin": "", "sup_a": "AND v.committee_code IN (SELECT c.code FROM area c JOIN area t ON t.id ="
                                   f" c.parent_id WHERE t.code = '{code}')",
             "staff_a": f"AND v.committee_code = '{code}'"}[who]
    volunteers = cards["volunteers"]
    assert (volunteers["value"], volunteers["last"]) == (_serving(owner_engine, this, codes),
                                                         _serving(owner_engine, last, codes))
    if who == "admin":
        assert (volunteers["value"], volunteers["last"]) == (2, 3)
    # The page shows the same numbers, large, in the first screen's figures.
    page = as_user(who).get("/dashboard").text
    for key, card in cards.items():
        shown = re.search(rf'data-figure="{key}".*?class="figure-value" data-value="([^"]*)"', page, re.S).group(1)
        assert shown == ("" if card["value"] is None else str(card["value"])), key


def test_the_boards_links_are_the_routers_urls(app):
    """links() builds each page's path once per request and appends the filter: the same URLs as url_for."""
    from flask import url_for
    from werkzeug.datastructures import MultiDict

    from service.dashboard import hazards
    from service.reports.filters import ReportFilter

    args = MultiDict({"status": "open", "category": "ebike_charging,exit_blocked", "risk": "major",
                      "since": "2026-01-01", "until": "2026-03-31", "town": "310112102", "overdue": "1",
                      "bbox": "121.3,31.0,121.5,31.2"})
    with app.test_request_context(base_url="http://example.test/prefix"):
        for filt in (ReportFilter.from_args(args), ReportFilter()):
            q = filt.query_string()
            narrow = {k: v for k, v in q.items() if k in ("category", "risk", "committee", "town")}
            assert hazards.links(filt) == {
                "list": url_for("reports_api.list_reports", **q), "map": url_for("maps.hazard_map", **q),
                "queues": url_for("reports.queues", **narrow), "dashboard": url_for("dashboard.page", **q)}
        assert hazards.links(ReportFilter())["list"].startswith("/prefix/")
