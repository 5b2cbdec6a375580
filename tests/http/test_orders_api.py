"""三单 service orders over real HTTP: ordering, tracking, scope, the transition table, racing accepts."""
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from geo import coords
from tests.support.live import LiveSession
from tests.support.orders_fixtures import TOMORROW, newest_order_id, order_body, place, volunteers_with_orders, window

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def profiles(app, accounts, owner_engine):
    with volunteers_with_orders(accounts, owner_engine) as found:
        yield found


def order_id_of(owner_engine) -> int:
    return newest_order_id(owner_engine)


def dispatch(session, oid, *ids, **extra):
    return session.post(f"/api/v1/orders/{oid}/dispatch", json={"volunteer_ids": list(ids)} | extra)


def act(session, oid, move, **body):
    return session.post(f"/api/v1/orders/{oid}/{move}", json=body)


def test_resident_orders_without_account_and_tracks_only_their_order(anon_http, spot, owner_engine, profiles):
    first = place(anon_http, spot)
    second = place(anon_http, spot, kind="building_talk", contact_phone="13800001111")
    assert first["token"] != second["token"] and first["tracking_url"].endswith(first["token"])
    mine = anon_http.get(f"/api/v1/orders/track/{first['token']}").json()
    assert mine["status"] == "submitted" and mine["kind"] == "home_check" and mine["volunteers"] == []
    assert set(mine) == {"status", "status_label", "kind", "kind_label", "window_start", "window_end", "volunteers",
                         "outcome", "completed_at", "rating", "rated_at", "photos",
                         "photos_pending"}
    assert "13912345678" not in str(mine) and "王阿姨" not in str(mine)
    assert anon_http.get(f"/api/v1/orders/track/{second['token']}").json()["kind"] == "building_talk"
    other_last = "y" if first["token"].endswith("x") else "x"  # a token may itself end in x
    for wrong in (first["token"][:-1] + other_last, "x", first["token"] + "x"):
        assert anon_http.get(f"/api/v1/orders/track/{wrong}").status_code == 404
        assert anon_http.get(f"/request/t/{wrong}").status_code == 404
    page = anon_http.get(f"/request/t/{first['token']}")
    assert page.status_code == 200 and "家庭消防安全检查" in page.text and "13912345678" not in page.text
    with owner_engine.connect() as conn:  # only the hash is kept
        hashes = conn.scalars(text("SELECT tracking_hash FROM service_order")).all()
    assert first["token"] not in hashes and len(hashes) == 2
    assert anon_http.get("/api/v1/orders").status_code == 401


@pytest.mark.parametrize(("fields", "code"), [
    ({"kind": "party"}, "bad_kind"), ({"contact_phone": "12345"}, "bad_contact_phone"),
    ({"lon": "", "lat": ""}, "no_location"), ({"crs": "utm"}, "bad_crs"), ({"lon": 200}, "bad_lon"),
    ({"lon": 116.4, "lat": 39.9}, "outside_area"), ({"window_start": "明天上午"}, "bad_window_start"),
    (window(hours=-1), "window_backwards"), (window(hours=13), "window_too_long"),
    ({"window_start": "2020-01-01T09:00", "window_end": "2020-01-01T10:00"}, "window_past"),
    ({"description": "火" * 1001}, "bad_description"), ({"volunteers_needed": "11"}, "bad_volunteers_needed"),
])
def test_bad_input_is_a_chinese_4xx_and_writes_nothing(anon_http, spot, owner_engine, profiles, fields, code):
    r = anon_http.post("/api/v1/orders", json=order_body(spot, **fields))
    assert r.status_code == 422 and r.json()["error"]["code"] == code
    assert CHINESE.search(r.json()["error"]["message"])
    assert newest_order_id(owner_engine) is None


def test_a_json_order_missing_a_field_is_told_which(anon_http, spot, owner_engine, profiles):
    """The body's schema checks shapes only there: the intake names the missing field, not a generic help."""
    for missing, code in (("kind", "bad_kind"), ("contact_phone", "bad_contact_phone"),
                          ("window_start", "bad_window_start")):
        sent = {k: v for k, v in order_body(spot).items() if k != missing}
        r = anon_http.post("/api/v1/orders", json=sent)
        assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    assert anon_http.post("/api/v1/orders", json=order_body(spot, kind=["a"])).json()["error"]["code"] == "bad_body"
    assert newest_order_id(owner_engine) is None


def test_bad_bodies_and_ids(anon_http, as_user, spot, profiles):
    assert anon_http.post("/api/v1/orders", json=[1]).status_code == 400
    assert anon_http.post("/api/v1/orders", data=b"{", headers={"Content-Type": "application/json"}).status_code == 400
    for path in ("/api/v1/orders/²", "/api/v1/orders/999999", "/api/v1/orders/-1/suggestions"):
        assert as_user("admin").get(path).status_code == 404
    assert as_user("admin").get("/api/v1/orders", params={"limit": "0"}).status_code == 422
    assert as_user("admin").get("/api/v1/orders", params={"status": "nope"}).status_code == 422
    assert as_user("admin").get("/api/v1/orders", params={"cursor": "x_y"}).status_code == 422


def test_gcj02_input_is_stored_in_wgs84_and_assigned_like_a_report(anon_http, as_user, spot, owner_engine, profiles):
    glon, glat = coords.wgs84_to_gcj02(spot["lon"], spot["lat"])
    place(anon_http, spot, lon=glon, lat=glat, crs="gcj02")
    body = as_user("admin").get(f"/api/v1/orders/{newest_order_id(owner_engine)}").json()
    assert body["committee"] == spot["code"] and body["town"] == spot["town"]
    assert coords.distance_m(body["lon"], body["lat"], spot["lon"], spot["lat"]) < 0.5


def test_each_role_sees_its_area_and_volunteers_only_their_offers(anon_http, as_user, spot, owner_engine, profiles):
    place(anon_http, spot)
    oid = newest_order_id(owner_engine)
    for who in ("admin", "sup_a", "staff_a"):
        listed = as_user(who).get("/api/v1/orders").json()
        assert [o["id"] for o in listed["orders"]] == [oid] and listed["total"] == 1, who
    for who in ("sup_b", "staff_b", "staff_sibling", "vol"):
        assert as_user(who).get("/api/v1/orders").json() == {"orders": [], "total": 0, "next_cursor": None}, who
        assert as_user(who).get(f"/api/v1/orders/{oid}").status_code == 404, who
    assert dispatch(as_user("sup_a"), oid, profiles["vol"]).status_code == 200
    assert as_user("vol").get(f"/api/v1/orders/{oid}").status_code == 200
    assert as_user("vol2").get(f"/api/v1/orders/{oid}").status_code == 404
    assert [t["id"] for t in as_user("vol").get("/api/v1/orders/mine").json()["tasks"]] == [oid]


def test_queue_pages_by_keyset_with_a_total(anon_http, as_user, spot, owner_engine, profiles):
    for _ in range(5):
        place(anon_http, spot)
    seen, cursor = [], None
    while True:
        body = as_user("sup_a").get("/api/v1/orders", params={"limit": 2} | ({"cursor": cursor} if cursor else {}))
        body = body.json()
        assert body["total"] == 5 and len(body["orders"]) <= 2
        seen += [o["id"] for o in body["orders"]]
        if not (cursor := body["next_cursor"]):
            break
    assert seen == sorted(seen) and len(set(seen)) == 5


def test_suggestions_nearest_first_skilled_in_scope_and_free(anon_http, as_user, spot, owner_engine, profiles):
    p = profiles
    place(anon_http, spot)
    oid = newest_order_id(owner_engine)
    admin = as_user("admin").get(f"/api/v1/orders/{oid}/suggestions").json()["volunteers"]
    assert [v["id"] for v in admin] == [p["vol"], p["vol2"], p["vol_sib"], p["vol_far"]]
    assert admin[0]["distance_m"] == 0 and admin[2]["distance_m"] < admin[3]["distance_m"]
    town = as_user("sup_a").get(f"/api/v1/orders/{oid}/suggestions").json()["volunteers"]
    assert [v["id"] for v in town] == [p["vol"], p["vol2"], p["vol_sib"]]
    assert as_user("sup_a").get(f"/api/v1/orders/{oid}/suggestions", params={"skill": "厨师"}).json()[
        "volunteers"] == []
    assert as_user("staff_a").get(f"/api/v1/orders/{oid}/suggestions").status_code == 403
    # vol accepts another order at an overlapping time: no longer suggested, nor dispatchable.
    place(anon_http, spot, **window(hours=3))
    other = newest_order_id(owner_engine)
    assert dispatch(as_user("sup_a"), other, p["vol"]).status_code == 200
    assert act(as_user("vol"), other, "accept").status_code == 200
    town = as_user("sup_a").get(f"/api/v1/orders/{oid}/suggestions").json()["volunteers"]
    assert [v["id"] for v in town] == [p["vol2"], p["vol_sib"]]
    refused = dispatch(as_user("sup_a"), oid, p["vol"])
    assert refused.status_code == 422 and str(p["vol"]) in refused.json()["error"]["message"]
    assert dispatch(as_user("sup_a"), oid, p["vol_far"]).status_code == 422  # outside the town's roster


def test_team_dispatch_offers_every_free_member_and_notifies(anon_http, as_user, spot, owner_engine, profiles, app):
    place(anon_http, spot)
    oid = newest_order_id(owner_engine)
    body = dispatch(as_user("sup_a"), oid, team="七宝志愿服务队").json()
    assert body["status"] == "dispatched"
    offered = {profiles[n] for n in ("vol", "vol2", "vol_sib")}
    assert {o["volunteer_id"] for o in body["offers"]} == offered
    with owner_engine.connect() as conn:
        sent = conn.execute(text("SELECT n.channel, u.id, n.payload->>'text' FROM notification n"
                                 " JOIN \"user\" u ON u.phone = n.target WHERE n.order_event_id IS NOT NULL")).all()
    assert {(c, uid) for c, uid, _t in sent} == {("sms", v) for v in offered} and len(sent) == 3
    assert all(f"/orders/{oid}" in t and "请尽快接单" in t for _c, _u, t in sent)
    assert dispatch(as_user("sup_a"), oid, team="无此队").status_code == 422


@pytest.mark.parametrize(("who", "setup", "move", "status"), [
    ("sup_a", [], "cancel", 200), ("staff_a", [], "dispatch", 403), ("staff_a", [], "cancel", 403),
    ("vol", ["dispatch"], "cancel", 403), ("sup_a", ["dispatch"], "accept", 403),
    ("vol", ["dispatch"], "check_in", 409), ("vol", ["dispatch", "accept"], "accept", 409),
    ("vol", ["dispatch", "accept"], "decline", 409), ("vol", ["dispatch", "cancel"], "accept", 409),
    ("vol", ["dispatch", "accept"], "check_out", 409), ("sup_a", ["dispatch", "accept"], "dispatch", 409),
    ("sup_a", ["cancel"], "cancel", 409), ("sup_b", [], "cancel", 404), ("staff_b", [], "dispatch", 404),
    ("vol2", ["dispatch"], "accept", 404),
])
def test_illegal_is_409_forbidden_403_out_of_scope_404(anon_http, as_user, spot, owner_engine, profiles,
                                                         who, setup, move, status):
    place(anon_http, spot)
    oid, vid = newest_order_id(owner_engine), profiles["vol"]
    steps = {"dispatch": lambda: dispatch(as_user("sup_a"), oid, vid),
             "accept": lambda: act(as_user("vol"), oid, "accept"),
             "cancel": lambda: act(as_user("sup_a"), oid, "cancel")}
    for step in setup:
        assert steps[step]().status_code == 200, step
    r = dispatch(as_user(who), oid, vid) if move == "dispatch" else act(
        as_user(who), oid, move.replace("_", "-"), lon=spot["lon"], lat=spot["lat"])
    assert r.status_code == status, r.text
    if status != 200:
        assert CHINESE.search(r.json()["error"]["message"])


def test_accept_after_cancel_and_double_accept_say_why(anon_http, as_user, spot, owner_engine, profiles):
    place(anon_http, spot)
    oid = newest_order_id(owner_engine)
    dispatch(as_user("sup_a"), oid, profiles["vol"], profiles["vol2"])
    assert act(as_user("vol"), oid, "accept").json()["status"] == "accepted"
    again = act(as_user("vol"), oid, "accept")
    assert again.status_code == 409 and "已接单" in again.json()["error"]["message"]
    late = act(as_user("vol2"), oid, "accept")  # one volunteer was needed: the other offer was withdrawn
    assert late.status_code == 409 and "已接单" in late.json()["error"]["message"]
    act(as_user("sup_a"), oid, "cancel")
    after = act(as_user("vol"), oid, "check-in", lon=spot["lon"], lat=spot["lat"])
    assert after.status_code == 409 and "已取消" in after.json()["error"]["message"]


def test_declines_by_everyone_return_the_order_to_the_queue(anon_http, as_user, spot, owner_engine, profiles):
    place(anon_http, spot)
    oid = newest_order_id(owner_engine)
    dispatch(as_user("sup_a"), oid, profiles["vol"], profiles["vol2"])
    assert act(as_user("vol"), oid, "decline").json()["status"] == "dispatched"
    body = act(as_user("vol2"), oid, "decline").json()
    assert body["status"] == "submitted" and [e["action"] for e in body["events"]] == [
        "submit", "dispatch", "decline", "decline"]
    assert dispatch(as_user("sup_a"), oid, profiles["vol"]).status_code == 422  # already offered once


def test_racing_accepts_of_a_one_volunteer_order_give_one_acceptance(anon_http, live_server, accounts, spot,
                                                                       owner_engine, profiles, as_user):
    for day in range(3):
        place(anon_http, spot, **window(TOMORROW + timedelta(days=day)))  # each winner is busy on their day
        oid = newest_order_id(owner_engine)
        assert dispatch(as_user("sup_a"), oid, profiles["vol"], profiles["vol2"]).status_code == 200
        sessions = [LiveSession(live_server, accounts[n]["token"]) for n in ("vol", "vol2")]
        start, answers = threading.Barrier(2), []
        threads = [threading.Thread(target=_accept_together, args=(s, oid, start, answers)) for s in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(answers) == [200, 409]
        with owner_engine.connect() as conn:
            states = conn.scalars(text("SELECT state FROM service_assignment WHERE order_id = :o ORDER BY state"),
                                  {"o": oid}).all()
            events = conn.scalar(text("SELECT count(*) FROM service_order_event WHERE order_id = :o"
                                      " AND action = 'accept'"), {"o": oid})
        assert states == ["accepted", "withdrawn"] and events == 1
        for s in sessions:
            s.close()


def _accept_together(session, oid, start, answers):
    start.wait()
    answers.append(session.post(f"/api/v1/orders/{oid}/accept", json={}).status_code)


def test_history_is_append_only_for_the_app_role(anon_http, spot, owner_engine, profiles, app):
    from service.core.db import db

    place(anon_http, spot)
    with app.app_context():
        for sql in ("UPDATE service_order_event SET note = 'x'", "DELETE FROM service_order_event"):
            with pytest.raises(DBAPIError):
                db.session.execute(text(sql))
            db.session.rollback()
    with owner_engine.begin() as conn, pytest.raises(DBAPIError):
        conn.execute(text("DELETE FROM service_order_event"))  # the trigger stops the owner too


def test_orders_are_on_the_volunteers_task_page(anon_http, as_user, spot, owner_engine, profiles):
    place(anon_http, spot)
    oid = newest_order_id(owner_engine)
    dispatch(as_user("sup_a"), oid, profiles["vol"], profiles["vol2"])
    act(as_user("vol2"), oid, "decline")
    page = as_user("vol").get("/me/tasks")
    assert page.status_code == 200 and f'id="task-order-{oid}"' in page.text and "家庭消防安全检查" in page.text
    assert f'href="/orders/{oid}"' in page.text and "待接单" in page.text
    assert f"task-order-{oid}" not in as_user("vol2").get("/me/tasks").text  # declined: no longer theirs
    assert [t["id"] for t in as_user("vol").get("/api/v1/orders/mine").json()["tasks"]] == [oid]


def test_request_page_refuses_bad_input_in_chinese_and_keeps_what_was_typed(anon_http, spot, owner_engine,
                                                                              profiles):
    page = anon_http.get("/request")
    assert page.status_code == 200 and "预约消防志愿服务" in page.text
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    form = {k: str(v) for k, v in order_body(spot, contact_phone="12345").items()} | {"csrf_token": token}
    bad = anon_http.post("/request", data=form)
    assert bad.status_code == 422 and "请填写正确的联系电话" in bad.text and "独居老人家中检查电线" in bad.text
    assert anon_http.post("/request", data=form | {"csrf_token": "forged"}).status_code == 400
    good = anon_http.post("/request", data=form | {"contact_phone": "021-6412 3456"}, allow_redirects=False)
    assert good.status_code == 303 and re.search(r"/request/t/[A-Za-z0-9_-]{32}\?new=1$", good.headers["Location"])
    assert newest_order_id(owner_engine) == 1


def test_anonymous_orders_share_the_upload_limit(app, anon_http, spot, profiles):
    before = app.config["PUBLIC_REPORTS_PER_MINUTE"]
    app.config["PUBLIC_REPORTS_PER_MINUTE"] = 2
    try:
        answers = [anon_http.post("/api/v1/orders", json=order_body(spot)) for _ in range(3)]
    finally:
        app.config["PUBLIC_REPORTS_PER_MINUTE"] = before
    assert [r.status_code for r in answers] == [201, 201, 429]
    assert CHINESE.search(answers[2].json()["error"]["message"])


def test_guessed_tracking_links_are_limited_and_pages_are_not_cached(app, anon_http, spot, profiles):
    token = place(anon_http, spot)["token"]
    page = anon_http.get(f"/request/t/{token}")
    assert page.headers["Cache-Control"] == "private, no-store" and page.headers["X-Robots-Tag"] == "noindex"
    before = app.config["TRACKING_MISSES"]
    app.config["TRACKING_MISSES"] = 3
    try:
        guesses = [anon_http.get(f"/api/v1/orders/track/guess{i}").status_code for i in range(4)]
        valid = anon_http.get(f"/request/t/{token}").status_code  # the same answer for a valid link, telling nothing
    finally:
        app.config["TRACKING_MISSES"] = before
    assert guesses == [404, 404, 404, 429] and valid == 429


def test_a_volunteer_cannot_accept_two_overlapping_orders(anon_http, as_user, spot, owner_engine, profiles):
    place(anon_http, spot)
    first = newest_order_id(owner_engine)
    place(anon_http, spot, **window(TOMORROW + timedelta(hours=1)))
    second = newest_order_id(owner_engine)
    for oid in (first, second):  # offered both before accepting either
        assert dispatch(as_user("sup_a"), oid, profiles["vol"]).status_code == 200
    assert act(as_user("vol"), first, "accept").status_code == 200
    clash = act(as_user("vol"), second, "accept")
    assert clash.status_code == 409 and f"第 {first} 号" in clash.json()["error"]["message"]
    assert act(as_user("vol"), second, "decline").json()["status"] == "submitted"


def test_dashboard_counts_orders_served_and_the_median_hours_to_accept_and_complete(anon_http, as_user, spot,
                                                                                   owner_engine, profiles):
    place(anon_http, spot)
    served = place(anon_http, spot)
    oid = order_id_of(owner_engine)
    assert dispatch(as_user("sup_a"), oid, profiles["vol"]).status_code == 200
    with owner_engine.begin() as conn:  # as if it had been accepted after 1 h and completed 5 h after ordering
        conn.execute(text("UPDATE service_assignment SET state = 'checked_out', responded_at = offered_at"
                          " + interval '1 hour' WHERE order_id = :o"), {"o": oid})
        conn.execute(text("UPDATE service_order SET status = 'completed', completed_at = created_at"
                          " + interval '5 hours' WHERE id = :o"), {"o": oid})
    assert served["token"]
    mine = as_user("sup_a").get("/api/v1/stats?section=volunteers").json()["sections"]["volunteers"]["orders"]
    assert mine == {"made": 2, "served": 1, "median_hours_to_accept": 1.0, "median_hours_to_complete": 5.0}
    theirs = as_user("sup_b").get("/api/v1/stats?section=volunteers").json()["sections"]["volunteers"]["orders"]
    assert theirs == {"made": 0, "served": 0, "median_hours_to_accept": None, "median_hours_to_complete": None}
    page = as_user("sup_a").get("/dashboard").text
    assert 'data-figure="orders_served">1<' in page
