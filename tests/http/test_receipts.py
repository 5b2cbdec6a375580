"""Residents follow their report: the receipt in the 201, the private tracking page, updates, rating, revoking."""
import re

import pytest
from sqlalchemy import text

from service.accounts.auth import token_digest
from service.core.db import db
from service.receipts.models import ReportRating, ReportReceipt
from tests.support.live import PASSWORD, LiveSession
from tests.support.receipts import confirm, csrf, notices, sent, track_path
from tests.support.reports_api import post
from tests.support.workflow_api import walk

NUMBER = re.compile(r"MH-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}")


def test_anonymous_201_carries_a_receipt_stored_hashed_and_a_resend_gets_the_same(anon_http, http, spot, app):
    body = sent(anon_http, spot, client_report_id="phone-1")
    receipt = body["receipt"]
    assert NUMBER.fullmatch(receipt["number"])
    token = receipt["tracking_url"].rsplit("/", 1)[1]
    assert len(token) >= 43  # 256 bits
    with app.app_context():
        row = db.session.get(ReportReceipt, body["id"])
        assert row.token_hash == token_digest(token) and token not in (row.token_hash, row.number)
    again = post(anon_http, lon=spot["lon"], lat=spot["lat"], client_report_id="phone-1")
    assert again.status_code == 200 and again.json()["receipt"] == receipt
    secret = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "another-secret-key-of-at-least-32-characters"
    try:  # after a key rotation the old link still opens, but a resend cannot rebuild it: no wrong link is given
        rotated = post(anon_http, lon=spot["lon"], lat=spot["lat"], client_report_id="phone-1")
        assert rotated.status_code == 200 and "receipt" not in rotated.json()
    finally:
        app.config["SECRET_KEY"] = secret
    assert anon_http.get(track_path(body)).status_code == 200
    signed_in = post(http, lon=spot["lon"], lat=spot["lat"])
    assert signed_in.status_code == 201 and "receipt" not in signed_in.json()  # volunteers use /me/reports


def test_tracking_page_shows_progress_and_nothing_private(anon_http, as_user, spot, accounts):
    body = sent(anon_http, spot, description="张三家门口堆了纸箱", contact="13812345678", address="某小区 3 号楼")
    other = sent(anon_http, spot, description="另一条上报的描述")
    path = track_path(body)
    page = anon_http.get(path)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-store" and page.headers["X-Robots-Tag"] == "noindex"
    assert body["receipt"]["number"] in page.text and "待受理" in page.text and spot["name"] in page.text
    assert 'id="track-due"' in page.text
    walk(as_user, body["id"], ["accepted", "dispatched", "rectifying", "rectified"])
    page = anon_http.get(path).text
    assert "已整改" in page
    for private in ("张三家门口", "13812345678", "某小区", "另一条上报", other["id"], "to accepted", "修好了",
                    "测试sup_a", "测试staff_a", body["id"]):
        assert private not in page, private
    photos = re.findall(r'<img src="(/track/[^"]+/after/\d+\.jpg)"', page)
    assert len(photos) == 1
    photo = anon_http.get(photos[0])
    assert photo.status_code == 200 and photo.headers["Content-Type"] == "image/jpeg"
    assert b"Exif" not in photo.content[:200]  # the public copy, EXIF stripped
    assert anon_http.get(photos[0].replace("/after/", "/after/9")).status_code == 404
    assert anon_http.get(track_path(other).replace("/track/", "/track/x")).status_code == 404


def test_after_photo_is_hidden_until_rectified(anon_http, as_user, spot):
    body = sent(anon_http, spot)
    walk(as_user, body["id"], ["accepted", "dispatched", "rectifying", "rectified", "rectifying"])
    page = anon_http.get(track_path(body)).text
    assert "整改中" in page and "/after/" not in page


def test_guessed_tokens_are_404_then_rate_limited(anon_http, spot, app):
    body = sent(anon_http, spot)
    app.config["TRACKING_MISSES"] = 3
    try:
        for guess in ("abc", "A" * 43, "x" * 101):
            assert anon_http.get(f"/track/{guess}").status_code == 404
        limited = anon_http.get(track_path(body))  # even the right link waits: a 429 tells nothing
        assert limited.status_code == 429 and "十分钟后再试" in limited.text
        assert anon_http.get("/track/abc", headers={"Accept": "application/json"}).json()["error"]["code"] == \
            "tracking_rate_limited"
    finally:
        app.config["TRACKING_MISSES"] = 20


def test_revoked_link_is_a_404_and_a_resend_no_longer_returns_it(anon_http, spot):
    body = sent(anon_http, spot, client_report_id="phone-2")
    path = track_path(body)
    token = csrf(anon_http, path)
    refused = anon_http.post(path + "/revoke", data={"csrf_token": token})
    assert refused.status_code == 422 and "我确认作废此链接" in refused.text
    done = anon_http.post(path + "/revoke", data={"csrf_token": token, "confirm": "on"})
    assert done.status_code == 200 and "链接已作废" in done.text
    assert anon_http.get(path).status_code == 404
    again = post(anon_http, lon=spot["lon"], lat=spot["lat"], client_report_id="phone-2")
    assert again.status_code == 200 and "receipt" not in again.json()


def test_forms_need_the_csrf_token(anon_http, spot):
    path = track_path(sent(anon_http, spot))
    assert anon_http.post(path + "/revoke", data={"confirm": "on"}).status_code == 400
    assert anon_http.get(path).status_code == 200


def test_updates_go_to_the_contact_left_and_stop_when_asked(anon_http, as_user, spot, app):
    by_phone = sent(anon_http, spot, contact="电话 13812345678")
    confirm(anon_http, app, by_phone)
    walk(as_user, by_phone["id"], ["accepted"])
    [_code, (channel, target, message)] = notices(app, by_phone["id"])
    assert (channel, target) == ("sms", "13812345678")
    assert by_phone["receipt"]["number"] in message and "已受理" in message and "整改期限" in message
    assert "to accepted" not in message and "测试sup_a" not in message

    body = sent(anon_http, spot)
    path = track_path(body)
    token = csrf(anon_http, path)
    bad = anon_http.post(path + "/updates", data={"csrf_token": token, "contact": "not a contact"})
    assert bad.status_code == 422 and "有效的手机号" in bad.text
    ok = anon_http.post(path + "/updates", data={"csrf_token": token, "contact": "resident@example.org"})
    assert ok.status_code == 200 and "r***@example.org" in ok.text  # followed the 303
    confirm(anon_http, app, body)
    walk(as_user, body["id"], ["accepted", "dispatched"])
    assert [(c, t) for c, t, _m in notices(app, body["id"])] == [("email", "resident@example.org")] * 3
    anon_http.post(path + "/updates", data={"csrf_token": token, "contact": ""})
    with app.app_context():
        assert db.session.get(ReportReceipt, body["id"]).notify_channel is None


def test_rating_after_verification_once_and_shown_to_supervisors(anon_http, as_user, spot, app, owner_engine):
    body = sent(anon_http, spot)
    path = track_path(body)
    token = csrf(anon_http, path)
    early = anon_http.post(path + "/rating", data={"csrf_token": token, "stars": "5"})
    assert early.status_code == 409 and "核查结案后" in early.text
    walk(as_user, body["id"], ["accepted", "dispatched", "rectifying", "rectified", "verified"])
    assert "提交评价" in anon_http.get(path).text
    bad = anon_http.post(path + "/rating", data={"csrf_token": token, "stars": "6"})
    assert bad.status_code == 422
    done = anon_http.post(path + "/rating", data={"csrf_token": token, "stars": "4", "comment": "<b>很快</b>"})
    assert done.status_code == 200 and "★★★★☆" in done.text and "&lt;b&gt;很快&lt;/b&gt;" in done.text
    assert anon_http.post(path + "/rating", data={"csrf_token": token, "stars": "1"}).status_code == 409
    detail = as_user("sup_a").get(f"/reports/{body['id']}")
    assert 'id="rating"' in detail.text and "★★★★☆" in detail.text
    assert f'<dd id="receipt-number">{body["receipt"]["number"]}</dd>' in detail.text  # quoted on the phone
    with owner_engine.connect() as conn, pytest.raises(Exception, match="permission denied"):
        conn.execute(text("SET ROLE hazard_app"))
        conn.execute(text("UPDATE report_rating SET stars = 5"))  # given once: append-only by privilege


def _signed_in(live_server, phone: str) -> LiveSession:
    s = LiveSession(live_server)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', s.get("/login").text).group(1)
    assert s.post("/login", data={"csrf_token": token, "phone": phone, "password": PASSWORD}).status_code == 200
    return s


def test_volunteer_rates_own_verified_report_on_me_reports(as_user, accounts, spot, app, live_server):
    rid = post(as_user("vol"), lon=spot["lon"], lat=spot["lat"]).json()["id"]
    walk(as_user, rid, ["accepted", "dispatched", "rectifying", "rectified", "verified"])
    other = _signed_in(live_server, accounts["vol2"]["phone"])
    token = csrf(other, "/me/reports")
    assert other.post(f"/me/reports/{rid}/rating", data={"stars": "3", "csrf_token": token}).status_code == 404
    vol = _signed_in(live_server, accounts["vol"]["phone"])
    mine = vol.get("/me/reports").text
    assert f'action="/me/reports/{rid}/rating"' in mine and "整改期限" not in mine.split(rid)[1][:400]
    token = re.search(r'name="csrf_token" value="([^"]+)"', mine).group(1)
    done = vol.post(f"/me/reports/{rid}/rating", data={"stars": "5", "comment": "满意", "csrf_token": token})
    assert done.status_code == 200 and "感谢您的评价" in done.text and "★★★★★" in done.text
    again = vol.post(f"/me/reports/{rid}/rating", data={"stars": "1", "csrf_token": token})
    assert again.status_code == 200 and "不能修改" in again.text  # the flash after the redirect
    with app.app_context():
        assert db.session.get(ReportRating, rid).stars == 5
