"""Helpers first written for tests/http/test_recurrence.py, now shared by several test modules."""
from sqlalchemy import text


def links_plan(app, lon: float, lat: float, category: str) -> str:
    """EXPLAIN of the statement intake runs to find a report's site and the report it repeats."""
    from service.core.db import db
    from service.sites.linking import LINKS, links_params

    with app.app_context():
        plan = "\n".join(r[0] for r in db.session.execute(text("EXPLAIN " + LINKS.text),
                                                           links_params(lon, lat, category)))
        db.session.rollback()
    return plan

