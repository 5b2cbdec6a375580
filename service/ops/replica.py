"""Reads for tiles, stats and exports from a streaming replica (DATABASE_REPLICA_URL), and the replica's lag.

Who is asking is always read from the primary (a revoked session must not live on in a replica's lag); only
the figures themselves come from the replica. A person who just wrote reads from the primary for
REPLICA_STICKY_S seconds (a cookie set on each successful write), so they see their own change at once; others
may see the district a moment late. The cookie can only send reads to the primary, so it needs no signature.
"""
import time

from flask import Flask, g, request
from sqlalchemy import text

from service import security
from service.accounts.auth import actor
from service.core.db import db

READ_ENDPOINTS = frozenset({"maps.tile", "maps.heat", "dashboard.stats", "dashboard.page",
                            "reports_api.export_reports"})
STICKY_COOKIE = "primary_until"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Zero when the replica has replayed all it received; else how old its newest replayed transaction is.
LAG_SQL = text("SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
               "ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END")


def binds(config) -> dict:
    """The replica as a Flask-SQLAlchemy bind when configured, with the primary's engine options."""
    url = config.get("DATABASE_REPLICA_URL")
    return {"replica": {"url": url, **config["SQLALCHEMY_ENGINE_OPTIONS"]}} if url else {}


def lag_seconds() -> float:
    """How far the replica is behind the primary, in seconds (raises when it does not answer)."""
    with db.engines["replica"].connect() as conn:
        return float(conn.execute(LAG_SQL).scalar() or 0)


def _sticky() -> bool:
    try:
        return float(request.cookies.get(STICKY_COOKIE, "0")) > time.time()
    except ValueError:
        return False


def init_app(app: Flask) -> None:
    if not app.config.get("DATABASE_REPLICA_URL"):
        return
    sticky_s = app.config["REPLICA_STICKY_S"]

    @app.before_request
    def route_reads():
        if request.endpoint in READ_ENDPOINTS and request.method in SAFE_METHODS and not _sticky():
            actor()  # who is asking comes from the primary, before reads turn to the replica
            g.read_replica = True

    @app.after_request
    def stick_after_write(response):
        if request.method not in SAFE_METHODS and response.status_code < 400:
            response.set_cookie(STICKY_COOKIE, str(int(time.time() + sticky_s)), max_age=int(sticky_s),
                                httponly=True, samesite="Lax", secure=security.cookie_secure())
        return response
