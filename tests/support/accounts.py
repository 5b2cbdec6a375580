"""Helpers first written for tests/http/test_accounts.py, now shared by several test modules."""
import re

from service.accounts import auth
from service.core.db import db
from service.core.models import User
from tests.support.live import PASSWORD


def cli(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def enable_again(app, accounts, name: str) -> None:
    """Undo a test's `users disable`: the session-wide account is active again with a fresh token (disabling
    revoked the old one for good)."""
    with app.app_context():
        user = db.session.get(User, accounts[name]["id"])
        user.active = True
        accounts[name]["token"] = auth.issue_token(user)
        db.session.commit()


def signed_in(app, who: str, accounts):
    """A test client with a cookie session, signed in through the login form."""
    client = app.test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").text)[1]
    r = client.post("/login", data={"csrf_token": token, "phone": accounts[who]["phone"], "password": PASSWORD})
    assert r.status_code == 302, r.text[:300]
    return client


def csrf(client) -> str:
    """A CSRF token of the client's session, read from a page."""
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/report").text)[1]
