"""Accounts: the users CLI, the login page (CSRF, throttling), cookie sessions on the API, public reports."""
import re

import pytest
import requests

from tests.support.accounts import cli
from tests.support.images import jpeg
from tests.support.live import PASSWORD, LiveSession
from tests.support.reports_api import post


def test_users_create_list_and_token(app, live_server, spot):
    town = spot["town"]
    result = cli(app, "users", "create", "--name", "王督导", "--phone", "13800000001", "--role", "town_supervisor",
                 "--area", town, "--password-stdin", "--token", input="s3cret-password\n")
    assert result.exit_code == 0, result.output
    token = re.search(r"token: (\S+)", result.output).group(1)
    assert LiveSession(live_server, token).get("/api/v1/reports").status_code == 200
    listed = cli(app, "users", "list").output
    assert "13800000001\ttown_supervisor\t" + town in listed
    again = cli(app, "users", "create", "--name", "x", "--phone", "13800000001", "--role", "volunteer")
    assert again.exit_code != 0 and "already registered" in again.output
    wrong = cli(app, "users", "create", "--name", "y", "--phone", "13800000002", "--role", "committee_staff",
                "--area", town)
    assert wrong.exit_code != 0 and "committee code" in wrong.output
    from service.core.db import db
    from service.core.models import ApiToken, User

    with app.app_context():
        user = db.session.query(User).filter_by(phone="13800000001").one()
        stored = db.session.query(ApiToken).filter_by(user_id=user.id).one().token_hash
        assert token not in stored and len(stored) == 64  # only the hash is kept
        assert user.password_hash.startswith("scrypt:")
        db.session.query(ApiToken).filter_by(user_id=user.id).delete()
        db.session.delete(user)
        db.session.commit()


def _login_form(session: requests.Session, base: str) -> str:
    page = session.get(base + "/login")
    assert page.status_code == 200 and "登录" in page.text
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)


def test_login_page_sets_a_session_and_the_api_then_needs_csrf(live_server, accounts, spot):
    s = requests.Session()
    token = _login_form(s, live_server)
    r = s.post(live_server + "/login", data={"csrf_token": token, "phone": accounts["staff_a"]["phone"],
                                             "password": PASSWORD}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].endswith("/inbox")
    assert "待整改" in s.get(live_server + "/inbox").text
    files = [("photo", ("a.jpg", jpeg(), "image/jpeg"))]
    data = {"category": "other", "lon": spot["lon"], "lat": spot["lat"]}
    no_token = s.post(live_server + "/api/v1/reports", data=data, files=files)
    assert no_token.status_code == 400 and "刷新" in no_token.json()["error"]["message"]
    page_token = re.search(r'name="csrf-token" content="([^"]+)"', s.get(live_server + "/report").text).group(1)
    ok = s.post(live_server + "/api/v1/reports", data=data, files=files, headers={"X-CSRFToken": page_token})
    assert ok.status_code == 201


def test_login_without_csrf_or_with_a_wrong_password_fails(live_server, accounts):
    s = requests.Session()
    phone = accounts["vol"]["phone"]
    assert s.post(live_server + "/login", data={"phone": phone, "password": PASSWORD}).status_code == 400
    token = _login_form(s, live_server)
    r = s.post(live_server + "/login", data={"csrf_token": token, "phone": phone, "password": "wrong"})
    assert r.status_code == 401 and "不正确" in r.text


def test_failed_logins_are_throttled(live_server, accounts, app):
    s = requests.Session()
    token = _login_form(s, live_server)
    phone = accounts["vol2"]["phone"]
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        s.post(live_server + "/login", data={"csrf_token": token, "phone": phone, "password": "guess"})
    r = s.post(live_server + "/login", data={"csrf_token": token, "phone": phone, "password": PASSWORD})
    assert r.status_code == 429 and "15 分钟" in r.text  # even the right password waits


def test_public_reports_are_rate_limited_per_address_and_can_be_switched_off(anon_http, as_user, app, spot,
                                                                             monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_REPORTS_PER_HOUR", 2)
    for _ in range(2):
        assert post(anon_http, lon=spot["lon"], lat=spot["lat"]).status_code == 201
    r = post(anon_http, lon=spot["lon"], lat=spot["lat"])
    assert r.status_code == 429 and "登录" in r.json()["error"]["message"]
    assert post(as_user("vol"), lon=spot["lon"], lat=spot["lat"]).status_code == 201  # volunteers are not limited
    monkeypatch.setitem(app.config, "PUBLIC_REPORTS", False)
    assert post(anon_http, lon=spot["lon"], lat=spot["lat"]).status_code == 401


@pytest.mark.parametrize("name", ["vol", "staff_a", "sup_a", "admin"])
def test_each_role_lands_on_its_home_page(live_server, accounts, name):
    s = requests.Session()
    token = _login_form(s, live_server)
    r = s.post(live_server + "/login", data={"csrf_token": token, "phone": accounts[name]["phone"],
                                             "password": PASSWORD})
    assert r.status_code == 200
    expected = {"vol": "我的上报", "staff_a": "待整改", "sup_a": "督办工作台", "admin": "督办工作台"}[name]
    assert f"<h1>{expected}</h1>" in r.text


def test_tokens_can_be_reissued_and_revoked_and_passwords_reset(app, live_server, accounts):
    phone = accounts["vol2"]["phone"]
    old = LiveSession(live_server, accounts["vol2"]["token"])
    out = cli(app, "users", "token", phone).output
    fresh = LiveSession(live_server, re.search(r"token: (\S+)", out).group(1))
    assert fresh.get("/api/v1/reports").status_code == 200 and old.get("/api/v1/reports").status_code == 200
    out = cli(app, "users", "token", phone, "--revoke-all").output
    assert "revoked 2 tokens" in out
    assert fresh.get("/api/v1/reports").status_code == 401 and old.get("/api/v1/reports").status_code == 401
    accounts["vol2"]["token"] = re.search(r"token: (\S+)", out).group(1)  # later tests use the new one
    assert cli(app, "users", "set-password", phone, input="short\n").exit_code != 0
    assert cli(app, "users", "set-password", phone, input=PASSWORD + "\n").exit_code == 0
    assert LiveSession(live_server, accounts["vol2"]["token"]).get("/api/v1/reports").status_code == 401
    accounts["vol2"]["token"] = re.search(r"token: (\S+)", cli(app, "users", "token", phone).output).group(1)
