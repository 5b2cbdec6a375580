"""The operations API: GET /healthz, whether the app and its database answer and how far the read replica lags."""
from flask import Blueprint, jsonify
from sqlalchemy import text

from service.core.db import db
from service.ops import replica

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz():
    """Report whether the app and its database answer, and how far the read replica lags (when there is one)."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any DB failure means unhealthy, whatever the driver raised
        db.session.rollback()
        return jsonify(status="degraded", db="down"), 503
    if "replica" not in db.engines:
        return jsonify(status="ok", db="ok")
    try:
        lag = {"lag_s": round(replica.lag_seconds(), 3)}
    except Exception:  # noqa: BLE001 - a replica that does not answer is reported, the primary still serves
        lag = "down"
    return jsonify(status="ok", db="ok", replica=lag)
