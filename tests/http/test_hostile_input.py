"""Hostile input costs the attacker more than the server: decode bombs, attempt limits, JSON caps, leaks."""
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from service.core.db import db
from service.core.models import Area, Report
from service.photos import pipeline as photos
from service.photos import sandbox
from tests.support import bombs
from tests.support.images import jpeg
from tests.support.intake_phones import at, send
from tests.support.volunteer_fixtures import clear_volunteers, make_profiles
from tests.support.workflow_api import move

BOMBS = {  # file -> the cheap check that refuses it before any decode
    "progressive_scan_bomb": "photo_too_complex",
    "webp_pixel_bomb": "photo_pixels_per_byte",
    "png_1bit_bomb": "photo_pixels_per_byte",
    "heic_many_images": "photo_frames",
    "mpo_many_frames": "photo_frames",
}


@pytest.fixture(scope="module")
def bomb_files() -> dict[str, bytes]:
    return {name: getattr(bombs, name)() for name in BOMBS}


@pytest.fixture
def loose_checks(app, monkeypatch):
    """Switch the cheap checks off and lower the ceilings, so bombs reach the sandboxed decoder."""
    for key, value in {"MAX_PIXELS_PER_BYTE": 10**9, "MAX_JPEG_SCANS": 10**6, "MAX_PHOTO_FRAMES": 10**6,
                       "DECODE_CPU_S": 1, "DECODE_MEMORY_MB": 96, "DECODE_WALL_S": 20.0}.items():
        monkeypatch.setitem(app.config, key, value)


@pytest.mark.parametrize("name", BOMBS)
def test_bombs_are_refused_before_decoding(http, spot, bomb_files, name):
    r = send(http, [bomb_files[name]], **at(spot))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == BOMBS[name]


def test_a_scan_bomb_past_the_cheap_checks_hits_the_cpu_ceiling(app, http, spot, bomb_files, loose_checks,
                                                                  monkeypatch):
    """2000 scans of 8000x8000 take some 20 CPU seconds in Pillow; the child is ended at one."""
    monkeypatch.setitem(app.config, "DECODE_MEMORY_MB", 768)
    r = send(http, [bomb_files["progressive_scan_bomb"]], **at(spot))
    assert r.status_code == 422 and r.json()["error"]["code"] == "photo_too_complex", r.text


@pytest.mark.parametrize(("name", "codes"), [("png_1bit_bomb", {"photo_too_complex"}),
                                             ("webp_pixel_bomb", {"photo_too_complex", "photo_corrupt"})])
def test_pixel_bombs_past_the_cheap_checks_hit_the_memory_ceiling(http, spot, bomb_files, loose_checks, name, codes):
    """Without the cheap checks the decoder meets the memory ceiling: a 4xx, never a 500 or a stored report.
    (libwebp reports a refused allocation as a broken file, so its refusal may read as 'corrupt'.)"""
    r = send(http, [bomb_files[name]], **at(spot))
    assert r.status_code == 422 and r.json()["error"]["code"] in codes, r.text


def test_the_memory_ceiling_is_what_refused_them(http, spot, bomb_files, loose_checks, app, monkeypatch):
    monkeypatch.setitem(app.config, "DECODE_MEMORY_MB", 1024)
    monkeypatch.setitem(app.config, "DECODE_CPU_S", 30)
    assert send(http, [bomb_files["png_1bit_bomb"]], **at(spot)).status_code == 201


def test_many_frames_past_the_cheap_checks_decode_only_the_first(http, spot, bomb_files, loose_checks):
    for name in ("heic_many_images", "mpo_many_frames"):
        assert send(http, [bomb_files[name]], **at(spot)).status_code == 201


def test_fields_and_location_are_checked_before_any_decode(http, spot, bomb_files, loose_checks):
    bomb = bomb_files["progressive_scan_bomb"]
    started = time.monotonic()
    assert send(http, [bomb], **at(spot), category="nope").json()["error"]["code"] == "bad_category"
    assert send(http, [bomb], lon="100.0", lat="30.0").json()["error"]["code"] == "outside_area"
    assert send(http, [bomb]).json()["error"]["code"] == "no_location"
    assert time.monotonic() - started < 10  # a decode would take a CPU second each, under the lowered ceiling


def test_a_burst_of_bombs_leaves_healthz_answering(app, http, spot, bomb_files, loose_checks, monkeypatch):
    """Six uploads that each burn the full CPU ceiling in parallel; the web server keeps answering."""
    monkeypatch.setitem(app.config, "DECODE_MEMORY_MB", 768)
    bomb = bomb_files["progressive_scan_bomb"]
    with ThreadPoolExecutor(6) as pool:
        uploads = [pool.submit(send, http, [bomb], **at(spot)) for _ in range(6)]
        time.sleep(0.5)
        waits = []
        while not all(u.done() for u in uploads):
            started = time.monotonic()
            assert http.get("/healthz").status_code == 200
            waits.append(time.monotonic() - started)
            time.sleep(0.2)
        codes = {u.result().status_code for u in uploads}
    assert codes <= {422, 503}, codes  # refused by the ceiling, or busy: never a 500, never stored
    assert waits and max(waits) < 2.0, waits


def test_requests_of_three_photos_share_the_slots_without_starving(app):
    """Four threads each decoding three photos with four slots per process: each waits its turn, none is
    refused as busy (taking slots one by one, two could each hold two and wait for the other)."""
    photo = jpeg((320, 240))
    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(lambda _: sandbox.derive_all([photo] * 3, photos.DEFAULT_CEILINGS), range(8)))
    assert [len(d) for d in done] == [3] * 8


# Attempts, not successes, are counted for anonymous uploads.

def test_refused_attempts_count_and_a_burst_is_limited(app, anon_http, spot, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_REPORTS_PER_MINUTE", 3)
    for _ in range(3):
        assert send(anon_http, [b"not a photo"], **at(spot)).status_code == 415
    r = send(anon_http, [jpeg()], **at(spot))
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited_burst"


def test_hourly_limit_counts_attempts(app, anon_http, spot, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_REPORTS_PER_HOUR", 2)
    assert send(anon_http, [jpeg()], lon="100.0", lat="30.0").status_code == 422  # outside the area
    assert send(anon_http, [jpeg()], **at(spot)).status_code == 201
    assert send(anon_http, [jpeg()], **at(spot)).json()["error"]["code"] == "rate_limited"


def test_the_limit_holds_under_parallel_requests(app, live_server, spot, monkeypatch):
    from tests.support.live import LiveSession

    monkeypatch.setitem(app.config, "PUBLIC_REPORTS_PER_MINUTE", 4)
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda _: send(LiveSession(live_server), [b"junk"], **at(spot)).status_code,
                              range(16)))
    assert sorted(codes) == [415] * 4 + [429] * 12


def test_retries_of_a_stored_report_stay_free(app, anon_http, spot, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_REPORTS_PER_MINUTE", 1)
    photo = jpeg()
    first = send(anon_http, [photo], **at(spot), client_report_id="retry-1")
    assert first.status_code == 201
    for _ in range(3):
        again = send(anon_http, [photo], **at(spot), client_report_id="retry-1")
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert send(anon_http, [photo], **at(spot), client_report_id="new").status_code == 429


# JSON is parsed only where it is taken, within caps.

def test_routes_without_json_never_parse_it(http):
    deep = "[" * 100_000 + "]" * 100_000
    for path in ("/healthz", "/api/v1/categories"):
        r = http.request("GET", path, data=deep, headers={"Content-Type": "application/json"})
        assert r.status_code == 200
        r = http.request("GET", path, files={"photo": ("x.jpg", b"\0" * 1_000_000)})
        assert r.status_code == 200  # nor a form body sent with a GET


@pytest.mark.parametrize(("body", "status", "code"), [
    ("[" * 20_000 + "]" * 20_000, 400, "json_too_deep"),  # the parser's own recursion limit
    ('{"to": "accepted", "data": ' + "[" * 19 + "1" + "]" * 19 + "}", 400, "json_too_deep"),  # over 16 levels
    (json.dumps({"to": "accepted", "note": "x" * 70_000}), 413, "json_too_large"),
    ('{"to": "acc', 400, "bad_json"),
    (b'{"to": "\xff"}', 400, "bad_json"),
])
def test_json_bodies_are_capped(as_user, anon_http, spot, body, status, code):
    rid = send(anon_http, [jpeg()], **at(spot)).json()["id"]
    r = as_user("sup_a").post(f"/api/v1/reports/{rid}/transitions", data=body,
                              headers={"Content-Type": "application/json"})
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text


def test_volunteer_routes_read_json_the_same_way(as_user, roster):
    staff, url = as_user("staff_a"), f"/api/v1/volunteers/{roster['vol']}/hours"
    nul = staff.post(url, json={"hours": 1, "date": "2026-01-05", "note": "a\x00b"})
    assert nul.status_code == 422 and nul.json()["error"]["code"] == "bad_text"
    deep = staff.post(url, data="[" * 20_000 + "]" * 20_000, headers={"Content-Type": "application/json"})
    assert deep.status_code == 400 and deep.json()["error"]["code"] == "json_too_deep"


# One serializer, one visibility rule.

@pytest.fixture
def elsewhere_spot(app, accounts) -> dict:
    with app.app_context():
        area = db.session.scalar(select(Area).where(Area.code == accounts["elsewhere_code"]))
        pt = db.session.scalar(select(func.ST_AsText(func.ST_PointOnSurface(area.geom))).where(Area.id == area.id))
    lon, lat = (float(v) for v in pt[6:-1].split())
    return {"lon": lon, "lat": lat}


def test_ids_of_other_reports_show_only_where_the_caller_may_look(app, as_user, spot, elsewhere_spot):
    photo = jpeg(colour=(12, 140, 210))
    here = send(as_user("vol"), [photo], **at(spot)).json()["id"]
    there = send(as_user("vol2"), [photo], **at(elsewhere_spot)).json()["id"]
    with app.app_context():
        assert str(db.session.get(Report, uuid.UUID(there)).duplicate_photo_of) == here
    assert move(as_user("admin"), there, "duplicate", duplicate_of=here).status_code == 200
    sees_here = {"admin": True, "sup_b": False, "staff_b": False, "vol2": False}
    for who, may in sees_here.items():
        s = as_user(who)
        single = s.get(f"/api/v1/reports/{there}").json()
        listed = next(r for r in s.get("/api/v1/reports").json()["reports"] if r["id"] == there)
        for shown in (single, listed):
            assert shown["duplicate_photo_of"] == (here if may else None), who
            assert shown["duplicate_of"] == (here if may else None), who
        assert all("duplicate_of" not in e["data"] for e in single["events"]) != may, who
        assert (here in json.dumps(single) or here in json.dumps(listed)) == may, who
    for who in ("sup_a", "staff_a", "vol"):  # the other way round: nothing of the other town shows
        s = as_user(who)
        assert s.get(f"/api/v1/reports/{there}").status_code == 404
        assert there not in s.get("/api/v1/reports").text and there not in s.get(f"/api/v1/reports/{here}").text


# Dispatch picks an assignee by id from a scoped list.

@pytest.fixture
def roster(app, accounts, owner_engine):
    """vol and vol2 on the spot's committee's roster, vol_sib on its sibling's, vol_far elsewhere."""
    yield make_profiles(accounts, owner_engine)
    clear_volunteers(owner_engine)


def test_dispatch_picks_from_the_scoped_list(as_user, anon_http, accounts, spot, roster):
    rid = send(anon_http, [jpeg()], **at(spot)).json()["id"]
    sup = as_user("sup_a")
    listed = sup.get(f"/api/v1/reports/{rid}/assignees").json()["assignees"]
    assert sorted(v["id"] for v in listed) == sorted(roster[n] for n in ("vol", "vol2", "vol_sib"))
    assert accounts["vol"]["phone"] not in json.dumps(listed)  # masked
    assert as_user("staff_a").get(f"/api/v1/reports/{rid}/assignees").status_code == 403
    assert as_user("vol").get(f"/api/v1/reports/{rid}/assignees").status_code == 404
    move(sup, rid, "accepted")
    answers = [move(sup, rid, "dispatched", assignee_id=other).json()
               for other in (roster["vol_far"], accounts["staff_a"]["id"], 987_654, "abc")]
    assert all(a == answers[0] for a in answers) and answers[0]["error"]["code"] == "unknown_volunteer"
    assert move(sup, rid, "dispatched", assignee_id=roster["vol"]).status_code == 200
