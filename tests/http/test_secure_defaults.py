"""Secure by default: a real SECRET_KEY, Secure cookies over HTTPS, security headers, CSRF, scoped photos."""
import re
import secrets

import flask
import pytest
import requests
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from service import create_app, security
from service.accounts import sessions
from service.core.db import db
from service.core.models import Photo, User
from tests.support.reports_api import post
from tests.support.secure_defaults import _login
from tests.support.workflow_api import walk

OLD_PUBLIC_KEY = "dev-only-change-me"


@pytest.fixture
def production_env(monkeypatch, tmp_path):
    """The environment of a production start: no SECRET_KEY, no key file, HAZARD_ENV unset."""
    for name in ("SECRET_KEY", "HAZARD_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / "absent"))
    return monkeypatch


def test_production_refuses_to_start_without_a_real_secret_key(production_env, tmp_path):
    with pytest.raises(security.ConfigError, match="SECRET_KEY.*make run"):
        create_app()
    for weak in (OLD_PUBLIC_KEY, "short"):
        production_env.setenv("SECRET_KEY", weak)
        with pytest.raises(security.ConfigError):
            create_app()
    key = secrets.token_hex(32)
    production_env.setenv("SECRET_KEY", key)
    assert create_app().config["SECRET_KEY"] == key


def test_the_key_file_is_read_and_development_gets_a_random_key(production_env, tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(secrets.token_hex(32) + "\n")
    production_env.setenv("SECRET_KEY_FILE", str(key_file))
    assert create_app().config["SECRET_KEY"] == key_file.read_text().strip()
    production_env.setenv("SECRET_KEY_FILE", str(tmp_path / "absent"))
    production_env.setenv("HAZARD_ENV", "development")
    first, second = create_app().config["SECRET_KEY"], create_app().config["SECRET_KEY"]
    assert len(first) >= 32 and first != second != OLD_PUBLIC_KEY


def _session_cookie(key: str, user: User, sid: str) -> str:
    """A session cookie for user signed with key, made as Flask makes it (so an attacker knowing the key can)."""
    iface = SecureCookieSessionInterface()
    signer = URLSafeTimedSerializer(key, salt=iface.salt, serializer=iface.serializer, signer_kwargs={
        "key_derivation": iface.key_derivation, "digest_method": iface.digest_method})
    return signer.dumps({"_user_id": user.get_id(), "_fresh": True, "sid": sid})


def test_a_cookie_signed_with_the_old_public_key_is_refused(app, accounts):
    with app.app_context():
        admin = db.session.get(User, accounts["admin"]["id"])
        with app.test_request_context():
            sessions.begin(admin)  # a live session on the server, as a sign-in makes
            sid = flask.session[sessions.SESSION_KEY]
        db.session.commit()
        genuine, forged = _session_cookie(app.secret_key, admin, sid), _session_cookie(OLD_PUBLIC_KEY, admin, sid)
    client = app.test_client()
    client.set_cookie("session", genuine)
    assert client.get("/queues").status_code == 200  # a correctly signed cookie works
    client.set_cookie("session", forged)
    assert client.get("/queues").status_code == 302  # back to the login page
    client.set_cookie("session", _session_cookie(app.secret_key, admin, "no-such-session"))
    assert client.get("/queues").status_code == 302  # signed with the right key, but no session on the server


def test_session_cookie_is_secure_over_https_only(app):
    plain = app.test_client().get("/login")
    assert "session=" in plain.headers["Set-Cookie"] and "Secure" not in plain.headers["Set-Cookie"]
    tls = app.test_client().get("/login", base_url="https://localhost")
    assert "Secure" in tls.headers["Set-Cookie"] and "HttpOnly" in tls.headers["Set-Cookie"]
    lang = app.test_client().get("/login?lang=en", base_url="https://localhost").headers.getlist("Set-Cookie")
    assert all("Secure" in c for c in lang) and len(lang) == 2


def test_behind_a_proxy_the_forwarded_scheme_decides(database_url, app_database_url, photo_dir):
    proxied = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app_database_url, "PROXY_HOPS": 1,
                          "PHOTO_DIR": str(photo_dir)})
    plain = proxied.test_client().get("/login", headers={"X-Forwarded-Proto": "http"})
    assert "Secure" not in plain.headers["Set-Cookie"]
    tls = proxied.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in tls.headers["Set-Cookie"]


@pytest.mark.parametrize("path", ["/report", "/login", "/healthz", "/api/v1/nothing", "/static/app.css"])
def test_every_response_carries_the_security_headers(client, path):
    r = client.get(path)
    csp = dict(part.strip().split(" ", 1) for part in r.headers["Content-Security-Policy"].split(";"))
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert "unsafe-inline" not in csp["script-src"] and "'nonce-" in csp["script-src"]
    assert csp["img-src"].split() == ["'self'", "data:", "blob:", "https://*.is.autonavi.com",
                                      "https://tile.openstreetmap.org"]
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Frame-Options"] == "DENY"


def test_tile_hosts_follow_the_configured_tile_urls(app_database_url, photo_dir):
    assert security.tile_hosts("https://{s}.tile.example.org/{z}/{x}/{y}.png", "/tiles/{z}/{x}/{y}.png",
                               "http://t{s}.tianditu.gov.cn:8080/x") == {
        "https://*.tile.example.org", "http://*.tianditu.gov.cn:8080"}
    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app_database_url, "PHOTO_DIR": str(photo_dir),
                        "MAP_TILES_URL": "https://t{s}.tianditu.gov.cn/DataServer?x={x}&y={y}&l={z}"})
    page = other.test_client().get("/report")
    assert "https://*.tianditu.gov.cn" in page.headers["Content-Security-Policy"]
    assert "tile.openstreetmap.org" not in page.headers["Content-Security-Policy"]
    assert 'data-tiles-wgs84="https://t{s}.tianditu.gov.cn/' in page.text  # the page uses what CSP allows


def test_csrf_is_skipped_only_when_a_bearer_token_authenticated(live_server, accounts):
    url = live_server + "/api/v1/reports/00000000-0000-0000-0000-000000000000/transitions"
    body = {"to": "accepted", "note": ""}
    browser = _login(live_server, accounts["sup_a"]["phone"])
    page_token = re.search(r'name="csrf-token" content="([^"]+)"', browser.get(live_server + "/report").text)[1]
    assert browser.post(url, json=body, headers={"X-CSRFToken": page_token}).status_code == 404  # passes CSRF
    for header in ("Bearer forged", "Basic eDp5", f"Bearer {accounts['sup_b']['token']}"):
        r = browser.post(url, json=body, headers={"Authorization": header})
        assert r.status_code == 400 and r.json()["error"]["code"] == "csrf", header
    bearer = requests.post(url, json=body, headers={"Authorization": f"Bearer {accounts['sup_a']['token']}"})
    assert bearer.status_code == 404  # a real token needs no CSRF token


def _keys(app, report_id: str, role: str) -> Photo:
    with app.app_context():
        return db.session.scalars(select(Photo).where(Photo.report_id == report_id, Photo.role == role)).first()


def test_public_copies_are_public_originals_and_after_photos_are_scoped(app, anon_http, as_user, spot,
                                                                       monkeypatch):
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    walk(as_user, rid, ["accepted", "dispatched", "rectifying", "rectified"])
    before, after = _keys(app, rid, "before"), _keys(app, rid, "after")
    opened = []
    storage = app.extensions["photo_storage"]
    monkeypatch.setattr(storage, "open", lambda key: opened.append(key) or type(storage).open(storage, key))
    for key in (before.public_key, before.thumb_key):
        r = anon_http.get(f"/photos/{key}")
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/jpeg"
        assert "public" in r.headers["Cache-Control"] and "immutable" in r.headers["Cache-Control"]
    assert opened == [before.public_key, before.thumb_key]  # served through the storage interface
    for key in (before.original_key, after.original_key, after.public_key, after.thumb_key):
        assert anon_http.get(f"/photos/{key}").status_code == 404, key
        assert as_user("sup_b").get(f"/photos/{key}").status_code == 404, key  # another town
        r = as_user("sup_a").get(f"/photos/{key}")
        assert r.status_code == 200 and r.content[:2] == b"\xff\xd8", key
        assert "private" in r.headers["Cache-Control"] and "public" not in r.headers["Cache-Control"]
    assert anon_http.get("/photos/o/00/" + "0" * 64 + ".jpg").status_code == 404
    assert anon_http.get("/photos/../setup.cfg").status_code == 404
