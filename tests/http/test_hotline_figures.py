"""Figures for the bodies outside the programme and the 12345 hotline (issue 24): per body, transferred, signed for
in time, finished in time, returned and the median hours to the end; for the hotline, orders, signed and replied in
time, returned, unreplied past the deadline, call-back reach and satisfaction. Counted exactly over a known small
set, on the dashboard (page and GET /api/v1/stats) and in the monthly report, each only in the caller's scope."""
import io
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text
from werkzeug.datastructures import MultiDict

from service.bodies import registry
from service.core.db import db
from service.core.models import ReportEvent
from service.hotline import orders

ZONE = ZoneInfo("Asia/Shanghai")


def _place(now: datetime) -> tuple[datetime, timedelta]:
    """The set's start and its unit of time: ten units before now, all inside this local month."""
    month_start = now.astimezone(ZONE).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    u = min(timedelta(hours=8), now - month_start - timedelta(seconds=1)) / 10
    return now - 10 * u, u


@pytest.fixture
def known(app, spot, owner_engine):
    """Seven hotline orders in the spot's committee and six transfers of their reports to two bodies (one more,
    made last month), with every time set by hand (k units after the start)."""
    now = datetime.now(UTC)
    r0, u = _place(now)
    with app.test_request_context("/"):
        # By e-mail: no name resolves here, so a webhook's https://hotline.example would be refused at add().
        hotline = registry.add(name="12345市民热线", kind="hotline", channel="email",
                               endpoint="gd@hotline.example", categories=["gas_open_flame"],
                               area_codes=[spot["town"]], sign_hours=2, finish_hours=72)
        gas = registry.add(name="闵行燃气", kind="utility", channel="email", endpoint="gas@example.com",
                           categories=["gas_open_flame"], area_codes=[spot["town"]])
        estate = registry.add(name="锦江物业", kind="property", channel="email", endpoint="wy@example.com",
                              categories=["gas_open_flame"], area_codes=[spot["town"]])
        ids = []
        for n in range(1, 8):
            form = MultiDict({"lon": str(spot["lon"]), "lat": str(spot["lat"]), "category": "gas_open_flame",
                              "description": f"来电反映楼道燃气味 {n}"})
            report, created = orders.take(hotline, f"GD2026-{n:04d}", form)
            assert created
            ids.append(str(report.id))
        events = dict(db.session.execute(select(ReportEvent.report_id, ReportEvent.id)
                                         .where(ReportEvent.to_status == "submitted")).all())
        events = {str(k): v for k, v in events.items()}
        body_ids = (gas.id, estate.id)

    def at(k):
        return None if k is None else r0 + k * u

    # order: signed (k, outcome), replied k, verified, round-1 answer (and a round 2); sign due 2, reply due 6
    plan = [(1, "accepted", 3, True, "satisfied"),
            (3, "accepted", 7, True, "unsatisfied"),  # signed late, replied late; re-checked, then satisfied
            (1, "returned", 1, False, None),
            (1, "accepted", None, False, None),  # past its reply deadline, unanswered
            (None, None, None, False, None),  # past its sign deadline, unsigned; reply due later (below)
            (1, "accepted", 4, True, "basic"),
            (1, "accepted", 5, True, None)]  # verified, never called back
    # transfer: body, delivered, signed, ended, outcome (sign due delivered + 2, finish due delivered + 5)
    transfers = [(0, 0, 1, 3, "finished"), (0, 0, 3, 7, "finished"), (0, 0, 1, 2, "returned"),
                 (0, 0, None, None, None), (0, None, None, None, None), (1, 0, 1, 4, "finished")]
    with owner_engine.begin() as conn:
        for rid, (signed, outcome, replied, verified, answer) in zip(ids, plan, strict=True):
            conn.execute(text(
                "UPDATE hotline_order SET received_at = :r0, sign_due_at = :sign_due, return_due_at = :sign_due,"
                " reply_due_at = :reply_due, signed_at = :signed, sign_outcome = :outcome, replied_at = :replied"
                " WHERE report_id = :rid"),
                {"rid": rid, "r0": r0, "sign_due": at(2), "reply_due": at(6 if signed is not None else 30),
                 "signed": at(signed), "outcome": outcome, "replied": at(replied)})
            if verified:
                conn.execute(text("UPDATE report SET status = 'verified', rectified_at = :t, verified_at = :t,"
                                  " updated_at = :t WHERE id = :rid"), {"rid": rid, "t": at(replied)})
            if answer:
                conn.execute(text("INSERT INTO hotline_callback (report_id, round, answer, reason, created_at)"
                                  " VALUES (:rid, 1, :a, :why, :t)"),
                             {"rid": rid, "a": answer, "t": at(8),
                              "why": "还有味道" if answer == "unsatisfied" else ""})
            if answer == "unsatisfied":
                conn.execute(text("INSERT INTO hotline_callback (report_id, round, answer, created_at)"
                                  " VALUES (:rid, 2, 'satisfied', :t)"), {"rid": rid, "t": at(9)})
        rows = [(ids[i], body, delivered, signed, ended, outcome, at(0))
                for i, (body, delivered, signed, ended, outcome) in enumerate(transfers)]
        last_month = r0.astimezone(ZONE).replace(day=1) - timedelta(days=2)
        rows.append((ids[6], 0, 0, 1, 2, "finished", last_month))
        for rid, body, delivered, signed, ended, outcome, created in rows:
            base = created if created != at(0) else r0
            delivered_at = None if delivered is None else base + delivered * u
            conn.execute(text(
                "INSERT INTO transfer (report_id, body_id, event_id, created_at, delivered_at, sign_due_at,"
                " finish_due_at, signed_at, ended_at, outcome)"
                " VALUES (:rid, :body, :event, :created, :delivered, :sign_due, :finish_due, :signed, :ended,"
                " :outcome)"),
                {"rid": rid, "body": body_ids[body], "event": events[rid], "created": created,
                 "delivered": delivered_at, "sign_due": delivered_at and delivered_at + 2 * u,
                 "finish_due": delivered_at and delivered_at + 5 * u,
                 "signed": None if signed is None else base + signed * u,
                 "ended": None if ended is None else base + ended * u, "outcome": outcome})
    return {"r0": r0, "u": u, "gas": gas.id, "estate": estate.id, "month": r0.astimezone(ZONE).strftime("%Y-%m"),
            "since": r0.astimezone(ZONE).date().isoformat()}


def _hours(u: timedelta, *units: float) -> float:
    return round(sum(units) / len(units) * u.total_seconds() / 3600, 2)


def expected_bodies(known) -> list[dict]:
    u = known["u"]
    return [{"id": known["gas"], "name": "闵行燃气", "kind": "utility", "kind_name": "公用事业单位",
             "transferred": 5, "signed_on_time": 2, "sign_due": 4, "sign_rate": 0.5, "finished": 2,
             "finished_on_time": 1, "returned": 1, "median_hours": _hours(u, 3, 7)},
            {"id": known["estate"], "name": "锦江物业", "kind": "property", "kind_name": "物业",
             "transferred": 1, "signed_on_time": 1, "sign_due": 1, "sign_rate": 1.0, "finished": 1,
             "finished_on_time": 1, "returned": 0, "median_hours": _hours(u, 4)}]


HOTLINE = {"orders": 7, "signed_on_time": 5, "sign_due": 7, "sign_rate": 0.7143, "returned": 1, "replied": 5,
           "replied_on_time": 4, "reply_rate": 0.8, "unreplied_overdue": 1, "verified": 4, "called_back": 3,
           "callback_rate": 0.75, "answered": 3, "satisfied": 1, "basic": 1, "unsatisfied": 1,
           "satisfaction_rate": 0.6667}
NOTHING = {k: 0 for k in HOTLINE} | {k: None for k in ("sign_rate", "reply_rate", "callback_rate",
                                                        "satisfaction_rate")}


def section(session, query: str = "") -> dict:
    r = session.get(f"/api/v1/stats?section=bodies{query}")
    assert r.status_code == 200, r.text
    return r.json()["sections"]["bodies"]


def test_the_figures_are_counted_exactly_for_the_period(known, as_user):
    got = section(as_user("sup_a"), f"&since={known['since']}")
    assert got["bodies"] == expected_bodies(known)
    assert got["hotline"] == HOTLINE
    everything = section(as_user("admin"))  # no days: the whole table, the transfer of last month too
    assert [b["transferred"] for b in everything["bodies"]] == [6, 1]
    assert everything["hotline"] == HOTLINE


def test_each_caller_sees_only_their_scope(known, as_user):
    for who in ("admin", "sup_a", "staff_a"):
        got = section(as_user(who), f"&since={known['since']}")
        assert got["bodies"] == expected_bodies(known) and got["hotline"] == HOTLINE, who
    for who in ("sup_b", "staff_sibling"):
        got = section(as_user(who))
        assert got["bodies"] == [] and got["hotline"] == NOTHING, who
    page = as_user("sup_b").get("/dashboard")
    assert page.status_code == 200
    assert "本期无转派" in page.text and "本期无热线工单" in page.text
    assert "闵行燃气" not in page.text


def test_the_dashboard_shows_the_section(known, as_user):
    page = as_user("sup_a").get(f"/dashboard?since={known['since']}").text
    assert 'id="section-bodies"' in page and "转派单位与12345热线" in page
    row = f'<tr data-body="{known["gas"]}"><th scope="row">闵行燃气 <span class="hint">公用事业单位</span></th>'
    assert row in page
    assert '<td data-figure="sign_rate">50.0%</td>' in page
    for figure, shown in (("orders", "7"), ("sign_rate", "71.4%"), ("returned", "1"), ("reply_rate", "80.0%"),
                          ("unreplied_overdue", "1"), ("callback_rate", "75.0%"), ("satisfaction_rate", "66.7%"),
                          ("unsatisfied", "1")):
        assert f'<dd data-figure="{figure}">{shown}</dd>' in page, figure
    assert "本期无转派" not in page and "本期无热线工单" not in page
    english = as_user("sup_a").get(f"/dashboard?since={known['since']}&lang=en").text
    assert "Hotline 12345 orders" in english and "转派单位与12345热线" not in english


def test_the_monthly_report_has_the_section(known, as_user):
    sup = as_user("sup_a")
    book = load_workbook(io.BytesIO(sup.get(f"/dashboard/monthly.xlsx?month={known['month']}").content))
    rows = [list(r) for r in book["转派与热线"].iter_rows(min_row=4, values_only=True)]
    gas, estate = expected_bodies(known)
    assert rows[0][:7] == ["闵行燃气", 5, 2, 0.5, 1, 1, gas["median_hours"]]  # last month's transfer left out
    assert rows[1][:7] == ["锦江物业", 1, 1, 1.0, 1, 0, estate["median_hours"]]
    assert rows[-1] == [7, 0.7143, 1, 0.8, 1, 0.75, 0.6667, 1]
    if shutil.which("pdftotext") is None:
        return
    body = sup.get(f"/dashboard/monthly.pdf?month={known['month']}").content
    txt = subprocess.run(["pdftotext", "-enc", "UTF-8", "-layout", "-", "-"], input=body, capture_output=True,
                         check=True).stdout.decode()
    assert "六、转派单位与12345热线" in txt
    assert "闵行燃气" in txt and "50.0%" in txt and "71.4%" in txt and "66.7%" in txt
    other = as_user("sup_b").get(f"/dashboard/monthly.pdf?month={known['month']}").content
    txt = subprocess.run(["pdftotext", "-enc", "UTF-8", "-layout", "-", "-"], input=other, capture_output=True,
                         check=True).stdout.decode()
    assert "本期无转派" in txt and "本期无热线工单" in txt and "闵行燃气" not in txt
