"""Service orders for tests: one placed by a resident at the spot, and clean-up of the append-only history."""
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.support.volunteer_fixtures import clear_volunteers, make_profiles

TOMORROW = (datetime.now(UTC) + timedelta(days=1)).replace(hour=1, minute=0, second=0, microsecond=0)


def window(start: datetime = TOMORROW, hours: float = 2) -> dict:
    return {"window_start": start.isoformat(), "window_end": (start + timedelta(hours=hours)).isoformat()}


def order_body(spot, **fields) -> dict:
    return {"kind": "home_check", "description": "独居老人家中检查电线", "address": "3号楼502室",
            "lon": spot["lon"], "lat": spot["lat"], "crs": "wgs84", "contact_phone": "13912345678",
            "contact_name": "王阿姨"} | window() | fields


def place(anon_http, spot, **fields) -> dict:
    """Order a service as an anonymous resident; the answer's token and the order's id (found by the admin)."""
    r = anon_http.post("/api/v1/orders", json=order_body(spot, **fields))
    assert r.status_code == 201, r.text
    return r.json()


def clear_orders(owner_engine) -> None:
    with owner_engine.begin() as conn:
        # The history refuses DELETE and TRUNCATE; a superuser may skip triggers for clean-up between tests.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("TRUNCATE service_order, service_order_event, service_assignment, service_order_photo"
                          " RESTART IDENTITY CASCADE"))


@contextmanager
def volunteers_with_orders(accounts, owner_engine):
    """Volunteer profiles (vol, vol2 at the spot's committee, vol_sib beside it, vol_far in another town), and
    afterwards no orders and no profiles."""
    try:
        yield make_profiles(accounts, owner_engine)
    finally:
        clear_orders(owner_engine)
        clear_volunteers(owner_engine)


def newest_order_id(owner_engine) -> int:
    with owner_engine.connect() as conn:
        return conn.scalar(text("SELECT max(id) FROM service_order"))


def backdate(owner_engine, column: str, hours: float, order_id: int) -> None:
    """Move an offer's time back (the clock of PostgreSQL and the service cannot be moved together)."""
    with owner_engine.begin() as conn:
        conn.execute(text(f"UPDATE service_assignment SET {column} = {column} - make_interval(secs => :s)"
                          " WHERE order_id = :o"), {"s": hours * 3600, "o": order_id})
