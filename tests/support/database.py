"""The test database: its URL as the owner and as the application's role, and dropping and creating it."""
import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

APP_ROLE = "hazard_app"


def owner_url() -> str:
    """The test database as its owner (TEST_DATABASE_URL, else the owner's or app's URL + "_test")."""
    if os.environ.get("TEST_DATABASE_URL"):
        return os.environ["TEST_DATABASE_URL"]
    base = os.environ.get("DATABASE_OWNER_URL") or os.environ.get("DATABASE_URL")
    if not base:
        pytest.exit("DATABASE_URL is not set: run the tests with `make test`", returncode=2)
    url = make_url(base)
    return url.set(database=url.database + "_test").render_as_string(hide_password=False)


def app_url(owner: str) -> str:
    """The test database as the application's role (TEST_APP_DATABASE_URL, else role APP_ROLE, no password)."""
    if os.environ.get("TEST_APP_DATABASE_URL"):
        return os.environ["TEST_APP_DATABASE_URL"]
    u = make_url(owner)  # URL.set(password=None) would keep the owner's password
    return URL.create(u.drivername, APP_ROLE, None, u.host, u.port, u.database, u.query).render_as_string(
        hide_password=False)


def recreate_database(url: str) -> None:
    """Drop and create the database named in url (it must be a *_test* database)."""
    target = make_url(url)
    assert "test" in target.database, "refusing to drop a database whose name lacks 'test'"
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
