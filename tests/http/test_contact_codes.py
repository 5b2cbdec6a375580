"""A contact a resident leaves gets a one-time code before anything else (27.10): nothing but the code is sent
until it is typed back on the tracking page; limits per report, per address and per day; wrong and expired
codes; an address confirmed once is not asked again."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.core.db import db
from service.notify import outbox as notify
from service.receipts.models import ContactCode, ReportReceipt
from tests.support.contact_codes import CODE, queued, the_code, wrong
from tests.support.receipts import csrf, sent, track_path
from tests.support.workflow_api import move, rectify, walk

PHONE = "13912345678"


def stored_codes(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ContactCode))


def form(anon_http, path, action, **data):
    return anon_http.post(f"{path}/{action}", data={"csrf_token": csrf(anon_http, path)} | data)


@pytest.fixture
def gateway(app, robot, monkeypatch):  # noqa: F811 - the fixture imported above
    """A real SMS gateway on 127.0.0.1: records every text message the outbox delivers."""
    url, receiver = robot
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", url)
    return receiver


def deliver(app) -> None:
    with app.app_context():
        notify.deliver_due()


def test_a_new_contact_hears_only_its_code_until_it_is_typed_back(app, anon_http, as_user, spot, gateway):
    body = sent(anon_http, spot, contact=f"电话 {PHONE}")
    assert body["receipt"]["updates"] == "code_sent"
    path = track_path(body)
    page = anon_http.get(path)
    assert "验证码已发送至 139****5678" in page.text and 'autocomplete="one-time-code"' in page.text
    walk(as_user, body["id"], ["accepted", "dispatched"])  # two moves the resident would be told of
    deliver(app)
    assert [m["phone"] for m in gateway.received] == [PHONE]  # the code, and nothing else, reached the phone
    code = CODE.search(gateway.received[0]["text"]).group(1)
    assert "track" not in gateway.received[0]["text"] and body["receipt"]["number"] in gateway.received[0]["text"]
    with app.app_context():
        assert db.session.get(ReportReceipt, body["id"]).notify_channel is None

    refused = form(anon_http, path, "confirm", code=wrong(code))
    assert refused.status_code == 422 and "验证码不正确" in refused.text and "还可尝试 4 次" in refused.text
    ok = form(anon_http, path, "confirm", code=code)
    assert ok.status_code == 200 and "验证成功，处理进展将发送至 139****5678" in ok.text
    staff = as_user("staff_a")
    assert move(staff, body["id"], "rectifying").status_code == 200
    assert rectify(staff, body["id"]).status_code == 200
    deliver(app)
    texts = [m["text"] for m in gateway.received]
    assert len(texts) == 2 and "已整改" in texts[1] and "验证码" not in texts[1]

    again = sent(anon_http, spot, contact=PHONE)  # the same phone, confirmed once: no second code
    assert again["receipt"]["updates"] == "on"
    assert [t for _c, _t, t in queued(app, again["id"])] == []
    walk(as_user, again["id"], ["accepted"])
    assert [(c, t) for c, t, _m in queued(app, again["id"])] == [("sms", PHONE)]


def test_a_contact_typed_on_the_tracking_page_waits_for_its_code_too(app, anon_http, as_user, spot):
    body = sent(anon_http, spot)
    assert body["receipt"]["updates"] == "off"
    path = track_path(body)
    r = form(anon_http, path, "updates", contact="resident@example.org")
    assert r.status_code == 200 and "验证码已发送至 r***@example.org" in r.text
    walk(as_user, body["id"], ["accepted"])
    [(channel, target, text)] = queued(app, body["id"])
    assert (channel, target) == ("email", "resident@example.org") and CODE.search(text)
    assert form(anon_http, path, "confirm", code=the_code(app, body["id"])).status_code == 200
    walk(as_user, body["id"], ["dispatched"])
    assert [(c, "已派单" in m) for c, _t, m in queued(app, body["id"])][-1] == ("email", True)


def test_code_limits_per_report_per_address_and_per_day_store_nothing(app, anon_http, spot, monkeypatch):
    monkeypatch.setitem(app.config, "CONTACT_CODE_INTERVAL_S", 0)
    body = sent(anon_http, spot, contact=PHONE)
    path = track_path(body)
    monkeypatch.setitem(app.config, "CONTACT_CODE_INTERVAL_S", 600)
    too_soon = form(anon_http, path, "resend")
    assert too_soon.status_code == 429 and "秒后再获取" in too_soon.text
    monkeypatch.setitem(app.config, "CONTACT_CODE_INTERVAL_S", 0)
    for _ in range(2):
        assert form(anon_http, path, "resend").status_code == 200
    before = (stored_codes(app), len(queued(app, body["id"])))
    per_report = form(anon_http, path, "resend")
    assert per_report.status_code == 429 and "本条上报今天获取验证码的次数已达上限" in per_report.text
    assert (stored_codes(app), len(queued(app, body["id"]))) == before == (3, 3)

    monkeypatch.setitem(app.config, "CONTACT_CODES_PER_ADDRESS", 4)
    other = sent(anon_http, spot, contact=PHONE)  # the 4th code to this phone today, from another report
    assert other["receipt"]["updates"] == "code_sent"
    third = sent(anon_http, spot, contact=PHONE)  # the 5th would pass the address's limit: the report stands
    assert third["receipt"]["updates"] == "off" and queued(app, third["id"]) == []
    per_address = form(anon_http, track_path(third), "updates", contact=PHONE)
    assert per_address.status_code == 429 and "该手机号或邮箱今天接收验证码的次数已达上限" in per_address.text

    monkeypatch.setitem(app.config, "CONTACT_CODES_PER_DAY", stored_codes(app))
    per_day = form(anon_http, track_path(third), "updates", contact="someone@example.org")
    assert per_day.status_code == 429 and "今天发送的验证码已达上限" in per_day.text
    assert stored_codes(app) == 4 and queued(app, third["id"]) == []
    with app.app_context():
        assert db.session.get(ReportReceipt, third["id"]).notify_channel is None


def test_wrong_codes_wear_a_code_out_and_an_expired_code_is_refused(app, anon_http, spot, clock, monkeypatch):
    monkeypatch.setitem(app.config, "CONTACT_CODE_INTERVAL_S", 0)
    body = sent(anon_http, spot, contact=PHONE)
    path, code = track_path(body), the_code(app, body["id"])
    bad = wrong(code)
    for left in (4, 3, 2, 1):
        r = form(anon_http, path, "confirm", code=bad)
        assert r.status_code == 422 and f"还可尝试 {left} 次" in r.text
    worn = form(anon_http, path, "confirm", code=bad)
    assert worn.status_code == 422 and "错误次数过多" in worn.text
    right_too_late = form(anon_http, path, "confirm", code=code)
    assert right_too_late.status_code == 422 and "错误次数过多" in right_too_late.text
    assert "验证码已发送至" not in anon_http.get(path).text  # no live code left to type

    assert form(anon_http, path, "resend").status_code == 200
    fresh = the_code(app, body["id"])
    clock.shift(timedelta(minutes=app.config["CONTACT_CODE_TTL_MIN"], seconds=1))
    expired = form(anon_http, path, "confirm", code=fresh)
    assert expired.status_code == 422 and "验证码已过期" in expired.text
    for junk in ("", "12345", "１２３４５６", "1" * 100):
        r = form(anon_http, path, "confirm", code=junk)
        assert r.status_code == 422, junk
    with app.app_context():
        assert db.session.get(ReportReceipt, body["id"]).notify_channel is None


def test_an_older_code_no_longer_counts_once_a_new_one_is_sent(app, anon_http, spot, monkeypatch):
    monkeypatch.setitem(app.config, "CONTACT_CODE_INTERVAL_S", 0)
    body = sent(anon_http, spot, contact=PHONE)
    path, first = track_path(body), the_code(app, body["id"])
    assert form(anon_http, path, "updates", contact="resident@example.org").status_code == 200
    second = the_code(app, body["id"])
    if first != second:  # one in a million they coincide; then the check below says nothing
        r = form(anon_http, path, "confirm", code=first)
        assert r.status_code == 422
    assert form(anon_http, path, "confirm", code=second).status_code == 200
    with app.app_context():
        receipt = db.session.get(ReportReceipt, body["id"])
        assert (receipt.notify_channel, receipt.notify_target) == ("email", "resident@example.org")
