"""Who reads a resident's phone and address on a 三单 service order (order_contact in service/orders/models.py):
the volunteer who holds the order, until it is completed plus ORDER_CONTACT_GRACE_H; never one who declined or was
only offered it; and other volunteers' names only for staff."""
from datetime import timedelta

import pytest

from tests.support.images import jpeg
from tests.support.orders_fixtures import backdate, newest_order_id, order_body, place, volunteers_with_orders

PRIVATE = ("13912345678", "王阿姨", "3号楼502室")  # orders_fixtures.order_body's contact and address


@pytest.fixture
def profiles(app, accounts, owner_engine):
    with volunteers_with_orders(accounts, owner_engine) as found:
        yield found


@pytest.fixture
def offered(anon_http, as_user, spot, owner_engine, profiles) -> int:
    """An order offered to vol and vol2 (one volunteer needed)."""
    place(anon_http, spot)
    oid = newest_order_id(owner_engine)
    r = as_user("sup_a").post(f"/api/v1/orders/{oid}/dispatch", json={"volunteer_ids": [profiles["vol"],
                                                                                       profiles["vol2"]]})
    assert r.status_code == 200, r.text
    return oid


def private_in(text: str) -> list[str]:
    return [p for p in PRIVATE if p in text]


def test_declined_or_only_offered_volunteers_read_no_contact(as_user, offered, accounts):
    vol, vol2 = as_user("vol"), as_user("vol2")
    waiting = vol.get(f"/api/v1/orders/{offered}")
    assert waiting.status_code == 200 and private_in(waiting.text) == []  # enough to answer, nothing private
    assert waiting.json()["contact_visible"] is False and waiting.json()["lon"] is None
    assert vol2.post(f"/api/v1/orders/{offered}/decline", json={}).status_code == 200
    taken = vol.post(f"/api/v1/orders/{offered}/accept", json={}).json()
    assert taken["contact_phone"] == "13912345678" and taken["address"] == "3号楼502室" and taken["lon"]
    page = vol.get(f"/orders/{offered}").text
    assert private_in(page) == list(PRIVATE)
    for answer in (vol2.get(f"/api/v1/orders/{offered}"), vol2.get(f"/orders/{offered}")):
        assert answer.status_code == 200 and private_in(answer.text) == [], answer.url  # declined: nothing private
    assert private_in(vol2.get("/me/tasks").text) == []
    # Other volunteers' names: staff only. vol sees their own offer, and not who declined.
    assert [o["volunteer_id"] for o in taken["offers"]] == [accounts["vol"]["id"]]
    assert "vol2" not in vol.get(f"/api/v1/orders/{offered}").text and "vol2" not in page
    declined = [e for e in taken["events"] if e["action"] == "decline"]
    assert declined and declined[0]["actor"] is None
    staff = as_user("sup_a").get(f"/api/v1/orders/{offered}").json()
    assert {o["name"] for o in staff["offers"]} == {"志愿者vol", "志愿者vol2"}
    assert staff["contact_phone"] == "13912345678"


def test_the_holder_loses_the_contact_a_grace_after_completion(as_user, anon_http, spot, owner_engine, profiles,
                                                               app, clock):
    place(anon_http, spot)
    oid = newest_order_id(owner_engine)
    vol = as_user("vol")
    assert as_user("sup_a").post(f"/api/v1/orders/{oid}/dispatch", json={"volunteer_ids": [profiles["vol"]]}).ok
    assert vol.post(f"/api/v1/orders/{oid}/accept", json={}).ok
    here = {"lon": spot["lon"], "lat": spot["lat"]}
    assert vol.post(f"/api/v1/orders/{oid}/check-in", json=here).ok
    backdate(owner_engine, "checked_in_at", 1, oid)
    files = [("photo", ("after.jpg", jpeg(colour=(30, 160, 30)), "image/jpeg"))]
    done = vol.post(f"/api/v1/orders/{oid}/check-out", data=here | {"outcome": "已检查"}, files=files).json()
    assert done["status"] == "completed" and done["contact_phone"] == "13912345678"
    [photo] = done["photos"]
    grace = timedelta(hours=app.config["ORDER_CONTACT_GRACE_H"])
    clock.shift(grace - timedelta(minutes=1))
    assert vol.get(f"/api/v1/orders/{oid}").json()["contact_phone"] == "13912345678"
    assert vol.get(f"/orders/{oid}/photos/{photo}").status_code == 200
    clock.shift(timedelta(minutes=2))
    after = vol.get(f"/api/v1/orders/{oid}")
    assert private_in(after.text) == [] and after.json()["photos"] == []
    assert private_in(vol.get(f"/orders/{oid}").text) == []
    assert private_in(vol.get("/me/tasks").text) == []
    assert vol.get(f"/orders/{oid}/photos/{photo}").status_code == 404
    assert as_user("sup_a").get(f"/api/v1/orders/{oid}").json()["contact_phone"] == "13912345678"  # staff keep it


def test_a_cancelled_order_shows_no_contact_to_its_volunteer(as_user, anon_http, spot, owner_engine, profiles):
    anon_http.post("/api/v1/orders", json=order_body(spot))
    oid = newest_order_id(owner_engine)
    assert as_user("sup_a").post(f"/api/v1/orders/{oid}/dispatch", json={"volunteer_ids": [profiles["vol"]]}).ok
    assert as_user("vol").post(f"/api/v1/orders/{oid}/accept", json={}).json()["contact_visible"] is True
    assert as_user("sup_a").post(f"/api/v1/orders/{oid}/cancel", json={}).ok
    assert private_in(as_user("vol").get(f"/api/v1/orders/{oid}").text) == []
