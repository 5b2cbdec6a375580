"""On site and after: check-in distance, check-out before check-in, the ledger from on-site time, outcome photos,
the resident's rating, and escalation of offers nobody answered."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.support.images import jpeg
from tests.support.orders_fixtures import backdate, newest_order_id, place, volunteers_with_orders

FAR = 0.011  # degrees of longitude: about 1.05 km at Minhang's latitude


@pytest.fixture
def profiles(app, accounts, owner_engine):
    with volunteers_with_orders(accounts, owner_engine) as found:
        yield found


@pytest.fixture
def accepted(anon_http, as_user, spot, owner_engine, profiles):
    """An order accepted by vol: (order id, tracking token)."""
    token = place(anon_http, spot)["token"]
    oid = newest_order_id(owner_engine)
    assert as_user("sup_a").post(f"/api/v1/orders/{oid}/dispatch", json={"volunteer_ids": [profiles["vol"]]}).ok
    assert as_user("vol").post(f"/api/v1/orders/{oid}/accept", json={}).ok
    return oid, token


def here(spot, dlon=0.0):
    return {"lon": spot["lon"] + dlon, "lat": spot["lat"]}


def test_check_in_far_away_is_refused_with_the_distance(as_user, spot, accepted):
    oid, _token = accepted
    blind = as_user("vol").post(f"/api/v1/orders/{oid}/check-in", json={})
    assert blind.status_code == 422 and "允许浏览器定位" in blind.json()["error"]["message"]
    far = as_user("vol").post(f"/api/v1/orders/{oid}/check-in", json=here(spot, FAR))
    assert far.status_code == 422 and far.json()["error"]["code"] == "too_far"
    metres = int(re.search(r"约 (\d+) 米", far.json()["error"]["message"]).group(1))
    assert 950 < metres < 1150
    near = as_user("vol").post(f"/api/v1/orders/{oid}/check-in", json=here(spot, 0.0005))
    assert near.status_code == 200 and near.json()["status"] == "in_service"
    offer = near.json()["offers"][0]
    assert offer["state"] == "checked_in" and 40 < offer["checked_in_distance_m"] < 60


def test_check_out_before_check_in_is_409(as_user, spot, accepted):
    oid, _token = accepted
    early = as_user("vol").post(f"/api/v1/orders/{oid}/check-out", json=here(spot))
    assert early.status_code == 409 and "签退" in early.json()["error"]["message"]


def test_check_out_records_on_site_hours_outcome_and_photos(as_user, anon_http, spot, owner_engine, accepted,
                                                           profiles, app):
    oid, token = accepted
    vol = as_user("vol")
    assert vol.post(f"/api/v1/orders/{oid}/check-in", json=here(spot)).ok
    backdate(owner_engine, "checked_in_at", 1.5, oid)
    files = [("photo", ("after.jpg", jpeg(colour=(30, 160, 30)), "image/jpeg"))]
    far = vol.post(f"/api/v1/orders/{oid}/check-out", data=here(spot, FAR) | {"outcome": "已检查"}, files=files)
    assert far.status_code == 422  # away from the site: nothing written
    done = vol.post(f"/api/v1/orders/{oid}/check-out", data=here(spot) | {"outcome": "检查了电线和燃气，已更换插排"},
                    files=files)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "completed" and body["outcome"] == "检查了电线和燃气，已更换插排"
    entry_id = body["offers"][0]["hour_entry_id"]
    hours = vol.get(f"/api/v1/volunteers/{profiles['vol']}/hours").json()["entries"]
    assert [(e["id"], e["source"], e["status"]) for e in hours] == [(entry_id, "task", "pending")]
    assert hours[0]["hours"] == pytest.approx(1.5, abs=0.02)
    assert hours[0]["started_at"] and hours[0]["ended_at"]
    tracked = anon_http.get(f"/api/v1/orders/track/{token}").json()
    assert tracked["outcome"] == body["outcome"] and len(tracked["photos"]) == 1
    assert [v["name"] for v in tracked["volunteers"]] == ["志*****"]  # 志愿者vol, masked
    photo = anon_http.get(f"/request/t/{token}/photos/{tracked['photos'][0]}")
    assert photo.status_code == 200 and photo.headers["Content-Type"] == "image/jpeg"
    assert "private" in photo.headers["Cache-Control"]
    swept = app.test_cli_runner().invoke(args=["photos", "sweep", "--older-than", "0"])
    assert "published, 0 removed" in swept.output  # the outcome photo's files are referenced: the sweep keeps them
    assert anon_http.get(f"/request/t/{token}/photos/{tracked['photos'][0]}").status_code == 200
    other = place(anon_http, spot)["token"]
    assert anon_http.get(f"/request/t/{other}/photos/{tracked['photos'][0]}").status_code == 404
    assert as_user("sup_a").get(f"/orders/{oid}/photos/{tracked['photos'][0]}").status_code == 200
    assert as_user("sup_b").get(f"/orders/{oid}/photos/{tracked['photos'][0]}").status_code == 404


def test_resident_rates_once_after_completion(as_user, anon_http, spot, owner_engine, accepted):
    oid, token = accepted
    early = anon_http.post(f"/api/v1/orders/track/{token}/rating", json={"rating": 5})
    assert early.status_code == 409
    vol = as_user("vol")
    vol.post(f"/api/v1/orders/{oid}/check-in", json=here(spot))
    backdate(owner_engine, "checked_in_at", 1, oid)
    assert vol.post(f"/api/v1/orders/{oid}/check-out", json=here(spot)).ok
    assert anon_http.post(f"/api/v1/orders/track/{token}/rating", json={"rating": 9}).status_code == 422
    rated = anon_http.post(f"/api/v1/orders/track/{token}/rating", json={"rating": 4, "comment": "很耐心"})
    assert rated.status_code == 200 and rated.json()["rating"] == 4
    again = anon_http.post(f"/api/v1/orders/track/{token}/rating", json={"rating": 1})
    assert again.status_code == 409 and "已评价" in again.json()["error"]["message"]
    assert anon_http.post("/api/v1/orders/track/wrong/rating", json={"rating": 5}).status_code == 404
    assert as_user("sup_a").get(f"/api/v1/orders/{oid}").json()["rating_comment"] == "很耐心"


def test_overlapping_or_over_24h_time_refuses_the_check_out_and_writes_nothing(as_user, spot, owner_engine,
                                                                                accepted, profiles):
    oid, _token = accepted
    vol = as_user("vol")
    vol.post(f"/api/v1/orders/{oid}/check-in", json=here(spot))
    backdate(owner_engine, "checked_in_at", 25, oid)
    over = vol.post(f"/api/v1/orders/{oid}/check-out", json=here(spot))
    assert over.status_code == 422 and "24 小时" in over.json()["error"]["message"]
    backdate(owner_engine, "checked_in_at", -23, oid)  # now two hours ago
    with owner_engine.connect() as conn:
        started = conn.scalar(text("SELECT checked_in_at FROM service_assignment WHERE order_id = :o"), {"o": oid})
    staff = as_user("staff_a")
    manual = staff.post(f"/api/v1/volunteers/{profiles['vol']}/hours", json={
        "started_at": (started + timedelta(minutes=30)).isoformat(),
        "ended_at": (started + timedelta(minutes=60)).isoformat()})
    assert manual.status_code == 201, manual.text
    clash = vol.post(f"/api/v1/orders/{oid}/check-out", json=here(spot))
    assert clash.status_code == 409 and "重叠" in clash.json()["error"]["message"]
    after = as_user("sup_a").get(f"/api/v1/orders/{oid}").json()
    assert after["status"] == "in_service" and after["offers"][0]["state"] == "checked_in"


def test_escalation_returns_unanswered_orders_once(anon_http, as_user, spot, owner_engine, profiles, app):
    place(anon_http, spot)
    oid = newest_order_id(owner_engine)
    with owner_engine.begin() as conn:
        conn.execute(text("INSERT INTO area_contact (area_id, channel, target) SELECT id, 'email', 'town@example.org'"
                          " FROM area WHERE code = :c"), {"c": spot["town"]})
    as_user("sup_a").post(f"/api/v1/orders/{oid}/dispatch", json={"volunteer_ids": [profiles["vol"], profiles["vol2"]]})
    runner = app.test_cli_runner()
    assert "returned to the dispatcher: 0" in runner.invoke(args=["orders", "escalate"]).output  # not yet due
    backdate(owner_engine, "offered_at", 3, oid)
    first = runner.invoke(args=["orders", "escalate"])
    assert first.exit_code == 0 and "orders with expired offers: 1, returned to the dispatcher: 1" in first.output
    body = as_user("sup_a").get(f"/api/v1/orders/{oid}").json()
    assert body["status"] == "submitted" and {o["state"] for o in body["offers"]} == {"expired"}
    assert body["events"][-1]["action"] == "expire" and body["events"][-1]["to"] == "submitted"
    again = runner.invoke(args=["orders", "escalate"])
    assert "orders with expired offers: 0, returned to the dispatcher: 0" in again.output
    with owner_engine.connect() as conn:
        mails = conn.scalars(text("SELECT payload->>'subject' FROM notification WHERE target = 'town@example.org'"
                                  " ORDER BY id")).all()
    assert mails == ["三单服务无人接单，请重新派单"]
    late = as_user("vol").post(f"/api/v1/orders/{oid}/accept", json={})
    assert late.status_code == 409 and "待派单" in late.json()["error"]["message"]


def test_escalation_keeps_an_order_someone_accepted(anon_http, as_user, spot, owner_engine, profiles, app):
    place(anon_http, spot, volunteers_needed="2")
    oid = newest_order_id(owner_engine)
    as_user("sup_a").post(f"/api/v1/orders/{oid}/dispatch", json={"volunteer_ids": [profiles["vol"], profiles["vol2"]]})
    assert as_user("vol").post(f"/api/v1/orders/{oid}/accept", json={}).json()["status"] == "dispatched"
    backdate(owner_engine, "offered_at", 3, oid)
    assert "returned to the dispatcher: 1" in app.test_cli_runner().invoke(args=["orders", "escalate"]).output
    body = as_user("sup_a").get(f"/api/v1/orders/{oid}").json()
    assert body["status"] == "submitted"  # back in the queue for one more volunteer
    assert sorted(o["state"] for o in body["offers"]) == ["accepted", "expired"]
