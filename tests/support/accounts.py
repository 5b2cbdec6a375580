"""Helpers first written for tests/http/test_accounts.py, now shared by several test modules."""
from service.accounts import auth
from service.core.db import db
from service.core.models import User


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
