"""Sessions and tokens end on a password change or disable; tokens expire; the login throttle; the DB role."""
import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, ProgrammingError

from service.accounts import auth
from service.core import migrate
from service.core.db import db
from service.core.models import ApiToken, LoginFailure, User
from tests.support.accounts import cli
from tests.support.database import recreate_database
from tests.support.live import PASSWORD, LiveSession
from tests.support.secure_defaults import _login


@pytest.fixture
def person(app, spot):
    """A fresh committee member with a password and a token, removed afterwards."""
    with app.app_context():
        user = User(name="临时", phone="13700000001", role="volunteer")
        auth.set_password(user, PASSWORD)
        db.session.add(user)
        db.session.flush()
        info = {"id": user.id, "phone": user.phone, "token": auth.issue_token(user)}
        db.session.commit()
    yield info
    with app.app_context():
        db.session.execute(ApiToken.__table__.delete().where(ApiToken.user_id == info["id"]))
        db.session.execute(User.__table__.delete().where(User.id == info["id"]))
        db.session.commit()


@pytest.mark.parametrize("command", [("users", "set-password"), ("users", "disable")])
def test_password_change_or_disable_ends_sessions_and_tokens(app, live_server, person, command):
    browser, api = _login(live_server, person["phone"]), LiveSession(live_server, person["token"])
    assert browser.get(live_server + "/me/reports", allow_redirects=False).status_code == 200
    assert api.get("/api/v1/reports").status_code == 200
    result = cli(app, *command, person["phone"], input="another-password-9\n")
    assert result.exit_code == 0, result.output
    assert browser.get(live_server + "/me/reports", allow_redirects=False).status_code == 302
    assert api.get("/api/v1/reports").status_code == 401
    if command[1] == "set-password":  # the new password opens a new session
        assert _login_password(live_server, person["phone"], "another-password-9") == 302


def _login_password(live_server, phone, password) -> int:
    import requests

    s = requests.Session()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', s.get(live_server + "/login").text)[1]
    return s.post(live_server + "/login", data={"csrf_token": token, "phone": phone, "password": password},
                  allow_redirects=False).status_code


def _token_row(app, user_id) -> ApiToken:
    with app.app_context():
        return db.session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)).one()


def test_tokens_expire_and_record_their_use_at_most_once_a_minute(app, live_server, person, owner_engine):
    api = LiveSession(live_server, person["token"])
    row = _token_row(app, person["id"])
    assert row.last_used_at is None and timedelta(days=89) < row.expires_at - datetime.now(UTC) <= timedelta(days=90)
    assert api.get("/api/v1/reports").status_code == 200
    first = _token_row(app, person["id"]).last_used_at
    assert first is not None and datetime.now(UTC) - first < timedelta(seconds=30)
    assert api.get("/api/v1/reports").status_code == 200
    assert _token_row(app, person["id"]).last_used_at == first  # throttled: no write within the minute
    with owner_engine.begin() as conn:
        conn.execute(update(ApiToken).where(ApiToken.user_id == person["id"]).values(
            last_used_at=first - timedelta(minutes=2)))
    assert api.get("/api/v1/reports").status_code == 200
    assert _token_row(app, person["id"]).last_used_at > first
    with owner_engine.begin() as conn:
        conn.execute(update(ApiToken).where(ApiToken.user_id == person["id"]).values(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert api.get("/api/v1/reports").status_code == 401


def _from(client, addr: str, phone: str, password: str) -> int:
    page = client.get("/login", environ_base={"REMOTE_ADDR": addr}).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    return client.post("/login", data={"csrf_token": token, "phone": phone, "password": password},
                       environ_base={"REMOTE_ADDR": addr}).status_code


def test_guesses_from_one_address_do_not_lock_the_owner_out_elsewhere(app, accounts):
    phone, limit = accounts["sup_b"]["phone"], app.config["LOGIN_MAX_FAILURES"]
    attacker, owner = app.test_client(), app.test_client()
    assert [_from(attacker, "203.0.113.9", phone, "guess") for _ in range(limit)] == [401] * limit
    assert _from(attacker, "203.0.113.9", phone, PASSWORD) == 429  # even the right password waits there
    assert _from(owner, "198.51.100.7", phone, PASSWORD) == 302  # a new address with the right password


def test_one_address_spraying_many_phones_is_stopped(app, accounts, owner_engine):
    limit = app.config["LOGIN_MAX_FAILURES"]
    with owner_engine.begin() as conn:
        conn.execute(LoginFailure.__table__.insert(), [
            {"phone": f"1500000{i:04d}", "remote_addr": "203.0.113.10"} for i in range(4 * limit)])
    assert _from(app.test_client(), "203.0.113.10", accounts["staff_b"]["phone"], PASSWORD) == 429
    assert _from(app.test_client(), "203.0.113.11", accounts["staff_b"]["phone"], PASSWORD) == 302


def test_a_phone_under_attack_from_many_addresses_still_admits_a_clean_address(app, accounts, owner_engine):
    phone, limit = accounts["staff_sibling"]["phone"], app.config["LOGIN_MAX_FAILURES"]
    with owner_engine.begin() as conn:
        conn.execute(LoginFailure.__table__.insert(), [
            {"phone": phone, "remote_addr": f"192.0.2.{i}"} for i in range(4 * limit)])
    assert _from(app.test_client(), "192.0.2.1", phone, PASSWORD) == 429  # one strike each while under attack
    assert _from(app.test_client(), "198.51.100.8", phone, PASSWORD) == 302


def test_a_successful_login_clears_that_address_failures(app, accounts):
    phone, limit = accounts["vol"]["phone"], app.config["LOGIN_MAX_FAILURES"]
    client = app.test_client()
    for _ in range(limit - 1):
        assert _from(client, "203.0.113.12", phone, "typo") == 401
    assert _from(client, "203.0.113.12", phone, PASSWORD) == 302
    again = app.test_client()
    assert [_from(again, "203.0.113.12", phone, "typo") for _ in range(limit - 1)] == [401] * (limit - 1)


def test_the_app_connects_as_a_role_that_owns_nothing(app):
    with app.app_context():
        me, superuser = db.session.execute(text(
            "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")).one()
        owned = db.session.scalar(text("SELECT count(*) FROM pg_tables WHERE tableowner = current_user"))
    assert me == "hazard_app" and not superuser and owned == 0


def test_history_is_append_only_by_privilege(app, report_id_for_roles):
    with app.app_context():
        assert db.session.execute(text("UPDATE report SET description = description")).rowcount == 1
        db.session.rollback()  # other tables are writable, so the refusals below are about report_event
        for statement in ("UPDATE report_event SET note = 'rewritten'", "DELETE FROM report_event",
                          "TRUNCATE report_event CASCADE"):
            with pytest.raises(ProgrammingError, match="permission denied for table report_event"):
                db.session.execute(text(statement))
            db.session.rollback()
        for statement, refusal in (("ALTER TABLE report_event DISABLE TRIGGER USER", "must be owner"),
                                   ("SET session_replication_role = replica", "permission denied")):
            with pytest.raises(DBAPIError, match=refusal):
                db.session.execute(text(statement))
            db.session.rollback()
        rights = db.session.execute(text(
            "SELECT has_table_privilege('report_event', 'INSERT'), has_table_privilege('report_event', 'UPDATE'),"
            " has_table_privilege('report_event', 'DELETE')")).one()
    assert tuple(rights) == (True, False, False)


@pytest.fixture
def report_id_for_roles(anon_http, spot):
    from tests.support.reports_api import post

    return post(anon_http, lon=spot["lon"], lat=spot["lat"]).json()["id"]


def test_grants_refuse_an_owner_or_superuser_role(database_url):
    with pytest.raises(migrate.RoleError, match="superuser or a member of the schema owner"):
        migrate.grant_app_role(database_url, make_url(database_url).username)


def test_db_upgrade_migrates_as_owner_and_creates_the_app_role(database_url, photo_dir):
    from service import create_app

    owner = make_url(database_url).set(database=make_url(database_url).database + "_roles")
    owner_url = owner.render_as_string(hide_password=False)
    recreate_database(owner_url)
    password = secrets.token_hex(16)
    with create_engine(owner.set(database="postgres"), isolation_level="AUTOCOMMIT").connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = 'hazard_app_cli'")):  # from an earlier run
            conn.execute(text(f"ALTER ROLE hazard_app_cli PASSWORD '{password}'"))  # (other databases grant it)
    app_url = owner.set(username="hazard_app_cli", password=password).render_as_string(hide_password=False)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app_url, "DATABASE_OWNER_URL": owner_url,
                      "PHOTO_DIR": str(photo_dir)})
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "hazard_app_cli: rights granted" in result.output
    engine = create_engine(app_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM \"user\"")) == 0  # reads as the new role
            assert conn.scalar(text("SELECT has_table_privilege('report_event', 'UPDATE')")) is False
    finally:
        engine.dispose()


def test_the_app_role_refreshes_area_statistics_through_analyze_areas(app, owner_engine):
    """A boundary import plans its re-assignment with the new cells' statistics: only the owner may ANALYZE,
    so the app's role does it through analyze_areas() (migration 0024); a bare ANALYZE of its own is skipped."""
    forget = text("DELETE FROM pg_statistic WHERE starelid IN ('area'::regclass, 'area_cell'::regclass)")
    known = text("SELECT count(DISTINCT tablename) FROM pg_stats WHERE tablename IN ('area', 'area_cell')")
    with owner_engine.begin() as conn:
        conn.execute(forget)
    with app.app_context():
        db.session.execute(text("ANALYZE area, area_cell"))  # skipped with a warning: the role owns neither
        assert db.session.scalar(known) == 0
        db.session.execute(text("SELECT analyze_areas()"))
        assert db.session.scalar(known) == 2
        db.session.commit()


def _copy(live_server, browser):
    """Another client holding a copy of browser's cookies, as someone who saved the cookie would."""
    import requests

    copy = requests.Session()
    copy.cookies.update(browser.cookies)
    return copy


def _logout(live_server, browser) -> None:
    page = browser.get(live_server + "/inbox").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    assert browser.post(live_server + "/logout", data={"csrf_token": token}, allow_redirects=False).status_code == 302


def test_logout_ends_the_session_for_a_saved_cookie_too(live_server, accounts):
    phone = accounts["staff_a"]["phone"]
    browser, other_device = _login(live_server, phone), _login(live_server, phone)
    saved = _copy(live_server, browser)
    assert saved.get(live_server + "/inbox", allow_redirects=False).status_code == 200
    _logout(live_server, browser)
    assert saved.get(live_server + "/inbox", allow_redirects=False).status_code == 302
    assert saved.get(live_server + "/api/v1/reports").status_code == 401
    # Logout ends the session it was sent from, not the same person's session on another device.
    assert other_device.get(live_server + "/inbox", allow_redirects=False).status_code == 200


def _age_sessions(owner_engine, user_id: int, **ago: timedelta) -> None:
    from service.accounts.models import UserSession

    values = {column: datetime.now(UTC) - delta for column, delta in ago.items()}
    with owner_engine.begin() as conn:
        conn.execute(update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
                     .values(**values))


@pytest.mark.parametrize("ago", [{"last_seen_at": timedelta(hours=8, minutes=1)},
                                 {"created_at": timedelta(days=7, minutes=1), "last_seen_at": timedelta(0)}])
def test_staff_sessions_end_when_idle_or_too_old(live_server, accounts, owner_engine, ago):
    staff = accounts["staff_a"]
    browser = _login(live_server, staff["phone"])
    _age_sessions(owner_engine, staff["id"], last_seen_at=timedelta(hours=7, minutes=59))
    assert browser.get(live_server + "/inbox", allow_redirects=False).status_code == 200  # in use: kept alive
    _age_sessions(owner_engine, staff["id"], **ago)
    assert browser.get(live_server + "/inbox", allow_redirects=False).status_code == 302
    again = _login(live_server, staff["phone"])
    assert again.get(live_server + "/inbox", allow_redirects=False).status_code == 200


def test_session_limits_are_configurable_and_a_volunteer_phone_stays_signed_in(app, live_server, accounts,
                                                                                owner_engine, monkeypatch):
    vol = _login(live_server, accounts["vol"]["phone"])
    _age_sessions(owner_engine, accounts["vol"]["id"], last_seen_at=timedelta(days=3))
    assert vol.get(live_server + "/me/reports", allow_redirects=False).status_code == 200
    monkeypatch.setitem(app.config, "VOLUNTEER_SESSION_DAYS", 2)
    _age_sessions(owner_engine, accounts["vol"]["id"], last_seen_at=timedelta(days=3))
    assert vol.get(live_server + "/me/reports", allow_redirects=False).status_code == 302
    monkeypatch.setitem(app.config, "STAFF_SESSION_IDLE_HOURS", 0.5)
    staff = _login(live_server, accounts["staff_a"]["phone"])
    _age_sessions(owner_engine, accounts["staff_a"]["id"], last_seen_at=timedelta(minutes=31))
    assert staff.get(live_server + "/inbox", allow_redirects=False).status_code == 302
