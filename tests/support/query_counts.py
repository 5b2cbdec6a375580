"""Helpers first written for tests/http/test_query_counts.py, now shared by several test modules."""
from contextlib import contextmanager

from sqlalchemy import event

from service.core.db import db


@contextmanager
def statements(app):
    """Count the SQL statements the app runs meanwhile (the live server runs in this process)."""
    with app.app_context():
        engine = db.engine
    seen = []

    def hook(conn, cursor, statement, *args):
        if "api_token" not in statement:  # a token's last_used_at is written at most once a minute
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", hook)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", hook)


def cost(app, as_user, path, who) -> int:
    session = as_user(who)
    with statements(app) as seen:
        response = session.get(path)
    assert response.status_code == 200, (path, response.text[:300])
    return len(seen)

