"""Observability: /metrics for Prometheus (token only; summed over gunicorn workers, a killed one included) and
JSON logs with a request id."""
import json
import os
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bench.chaos import Gunicorn
from service.core.db import db
from service.core.models import Area, Report
from service.notify.models import AreaContact, Notification
from tests.support.processes import wait_for
from tests.support.reports_api import post

TOKEN = "m" * 40


def samples(text: str) -> dict:
    """{(sample name, frozenset of labels): value} from the exposition text."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def scrape(get, base: str = "") -> dict:
    r = get(base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    return samples(r.text)


def test_metrics_are_not_public(app, client, accounts, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "")
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404  # no token: no endpoint
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    for header in ({}, {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": TOKEN},
                   {"Authorization": f"Bearer {accounts['admin']['token']}"}, {"X-Forwarded-For": "127.0.0.1"}):
        assert client.get("/metrics", headers=header).status_code == 404, header
    assert "hazard_request_seconds" in client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text


def test_metrics_count_requests_uploads_outbox_and_overdue(app, client, anon_http, spot, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    with app.app_context():
        town = db.session.scalar(select(Area).where(Area.code == spot["town"]))
        db.session.add(AreaContact(area_id=town.id, channel="email", target="town@example.test"))
        db.session.commit()
    before = scrape(client.get)
    first = post(anon_http, lon=spot["lon"], lat=spot["lat"], client_report_id="metrics-1")
    assert first.status_code == 201
    assert post(anon_http, lon=spot["lon"], lat=spot["lat"], client_report_id="metrics-1").status_code == 200
    assert post(anon_http, lon=spot["lon"], lat=spot["lat"], category="nonsense").status_code == 422
    assert post(anon_http, lon=spot["lon"], lat=spot["lat"]).status_code == 201
    with app.app_context():
        report = db.session.get(Report, first.json()["id"])
        report.due_at = datetime.now(UTC) - timedelta(hours=1)
        db.session.commit()
        pending = db.session.scalar(select(func.count()).select_from(Notification))
    after = scrape(client.get)
    for outcome, more in (("created", 2), ("replayed", 1), ("refused", 1)):
        assert value(after, "hazard_uploads_total", outcome=outcome) - value(
            before, "hazard_uploads_total", outcome=outcome) == more, outcome
    upload = {"endpoint": "reports_api.create_report", "method": "POST"}
    assert value(after, "hazard_request_seconds_count", **upload) - value(
        before, "hazard_request_seconds_count", **upload) == 4
    assert value(after, "hazard_responses_total", status="422", **upload) - value(
        before, "hazard_responses_total", status="422", **upload) == 1
    assert pending == 2 and value(after, "hazard_outbox_pending") == 2 and value(after, "hazard_outbox_due") == 2
    assert value(after, "hazard_outbox_oldest_pending_seconds") >= 0
    assert value(after, "hazard_overdue_reports", escalation="none") == 1
    assert value(after, "hazard_overdue_reports", escalation="town") == 0


@pytest.fixture
def gunicorn(app_database_url, tmp_path):
    """The app under gunicorn with the project's settings and 3 workers; yields (server, log path)."""
    log = tmp_path / "gunicorn.log"
    env = os.environ | {"DATABASE_URL": app_database_url, "PHOTO_DIR": str(tmp_path / "photos"),
                        "SECRET_KEY": secrets.token_hex(32), "METRICS_TOKEN": TOKEN}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = Gunicorn(env, log, workers=3)
    yield server, log
    server.stop()


def test_gunicorn_workers_share_metrics_and_log_json_with_request_ids(gunicorn):
    server, log = gunicorn
    base = server.base
    wait_for(lambda: len(server.workers()) == 3, "3 workers")
    given = [f"req-{uuid.uuid4()}" for _ in range(30)]
    malformed = ["tiny-id", "x" * 200, "has space in it", "semi;colon<script>", "-leading-dash-123"]
    with requests.Session() as s:
        for rid in given + malformed:
            s.headers["Connection"] = "close"  # a new connection each time: any worker may answer
            echoed = s.get(base + "/healthz", headers={"X-Request-ID": rid}).headers["X-Request-ID"]
            assert echoed == rid if rid in given else len(echoed) == 32 and echoed != rid
    # Every scrape, whichever worker answers it, sums all workers; the first /healthz came before the loop.
    healthz = {"endpoint": "health.healthz", "method": "GET"}
    counts = {value(scrape(requests.get, base), "hazard_request_seconds_count", **healthz) for _ in range(6)}
    assert counts == {1 + len(given) + len(malformed)}
    victim = server.kill_worker()
    wait_for(lambda: victim not in server.workers() and len(server.workers()) == 3, "a new worker")
    counts = {value(scrape(requests.get, base), "hazard_request_seconds_count", **healthz) for _ in range(6)}
    assert counts == {1 + len(given) + len(malformed)}  # what the killed worker counted is kept
    server.stop()
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "service.access"]
    for rid in given:
        (line,) = [a for a in access if a.get("request_id") == rid]
        assert line["status"] == 200 and line["endpoint"] == "health.healthz" and line["path"] == "/healthz"
    text = log.read_text()
    assert not any(bad in text for bad in malformed)
    assert any("SIGKILL" in line["message"] for line in lines if line["logger"] == "gunicorn.error")
