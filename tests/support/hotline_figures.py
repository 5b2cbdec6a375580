"""The known small set of hotline orders and transfers, first written for tests/http/test_hotline_figures.py, now
shared with tests/browser/test_hotline_figures_browser.py."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
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
