"""Prometheus metrics at /metrics: request latency by endpoint, uploads, the outbox, overdue reports, replica lag.

Under gunicorn (service/ops/gunicorn_conf.py) every worker writes its samples to files in PROMETHEUS_MULTIPROC_DIR
and a scrape adds them up, whichever worker answers. Figures that live in the database are read at scrape
time, once, in SQL over the whole table.

Not public: /metrics answers only a caller presenting `Authorization: Bearer <METRICS_TOKEN>`. Without a token
configured it does not exist (404), and a wrong or missing token gets the same 404.
"""
import hmac
import os
import time

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from service.core import clock
from service.core.db import db
from service.core.models import Report
from service.notify.models import Notification
from service.reports.deadlines import LEVELS, overdue

bp = Blueprint("metrics", __name__)

REQUEST_SECONDS = Histogram("hazard_request_seconds", "Time to answer a request, by endpoint.",
                            ["endpoint", "method"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
RESPONSES = Counter("hazard_responses", "Responses by endpoint and status code.", ["endpoint", "method", "status"])
UPLOADS = Counter("hazard_uploads", "Report uploads by outcome.", ["outcome"])
UPLOAD_ENDPOINTS = frozenset({"reports_api.create_report", "open311.create_request"})


def upload_outcome(status: int) -> str:
    """Name what became of an upload: a new report, a retry answered with its report, refused, or failed."""
    if status == 201:
        return "created"
    if status < 300:
        return "replayed"
    if status == 429:
        return "limited"
    return "refused" if status < 500 else "failed"


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def start_clock():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def observe(response):
        if "metrics_started" not in g:  # a before_request handler registered earlier answered first
            return response
        endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"
        REQUEST_SECONDS.labels(endpoint, request.method).observe(time.perf_counter() - g.metrics_started)
        RESPONSES.labels(endpoint, request.method, str(response.status_code)).inc()
        if endpoint in UPLOAD_ENDPOINTS:
            UPLOADS.labels(upload_outcome(response.status_code)).inc()
        return response


class DatabaseFigures:
    """Outbox depth and age and overdue reports, read from the database when scraped."""

    def collect(self):
        now = clock.now()
        pending = Notification.status == "pending"
        depth, due, oldest = db.session.execute(select(
            func.count(), func.count().filter(Notification.next_attempt_at <= now), func.min(Notification.created_at),
        ).where(pending)).one()
        yield GaugeMetricFamily("hazard_outbox_pending", "Notifications not yet delivered.", value=depth)
        yield GaugeMetricFamily("hazard_outbox_due", "Notifications due for a delivery try now.", value=due)
        yield GaugeMetricFamily("hazard_outbox_oldest_pending_seconds", "Age of the oldest undelivered notification.",
                                value=(now - oldest).total_seconds() if oldest else 0)
        levels = dict(db.session.execute(select(Report.escalation_level, func.count()).where(overdue(now))
                                         .group_by(Report.escalation_level)).all())
        family = GaugeMetricFamily("hazard_overdue_reports", "Reports past their deadline, by escalation.",
                                   labels=["escalation"])
        for level, name in {0: "none", **LEVELS}.items():
            family.add_metric([name], levels.get(level, 0))
        yield family
        db.session.rollback()
        if "replica" in db.engines:
            from service.ops import replica

            try:
                lag = replica.lag_seconds()
            except Exception:  # noqa: BLE001 - a replica that does not answer has no lag to show; /healthz says so
                return
            yield GaugeMetricFamily("hazard_replica_lag_seconds", "How far the read replica is behind.", value=lag)


def _authorized() -> bool:
    token = current_app.config["METRICS_TOKEN"]
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@bp.get("/metrics")
def metrics():
    """Expose the metrics to Prometheus (with the metrics token only)."""
    if not _authorized():
        abort(404)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseFigures())
    return Response(generate_latest(processes) + generate_latest(database), mimetype=CONTENT_TYPE_LATEST)
