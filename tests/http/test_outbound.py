"""Outbound URLs: one client (service.core.outbound) for webhooks, the SMS gateway and Open311 media; http and https
only, no loopback/private/link-local host unless listed, no redirect to another host, a timeout and a size cap.
`contacts add --webhook file:///…` used to read a local file into notification.last_error."""
import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from service.core import outbound
from service.core.db import db
from service.core.models import Area, ReportEvent
from service.notify import outbox
from service.notify.models import Notification
from tests.support.images import jpeg


class Receiver(BaseHTTPRequestHandler):
    """Records every request it gets; answers per path: /redirect-away, /redirect-here, /huge, /ok."""

    hits: list = []
    away = ""

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer()

    def do_GET(self):  # noqa: N802
        self._answer()

    def _answer(self):
        Receiver.hits.append((self.server.server_port, self.path))
        if self.path.startswith("/redirect-away"):
            self.send_response(307)
            self.send_header("Location", Receiver.away)
            self.end_headers()
        elif self.path.startswith("/redirect-here"):
            self.send_response(307)
            self.send_header("Location", "/ok")
            self.end_headers()
        else:
            body = b"x" * (5 << 20) if self.path.startswith("/huge") else json.dumps({"errcode": 0}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def servers():
    """Two receivers on 127.0.0.1: the one named in the URL and the "other host" a redirect points to."""
    Receiver.hits = []
    pair = [ThreadingHTTPServer(("127.0.0.1", 0), Receiver) for _ in range(2)]
    for s in pair:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    Receiver.away = f"http://localhost:{pair[1].server_port}/stolen"
    yield [f"http://127.0.0.1:{s.server_port}" for s in pair]
    for s in pair:
        s.shutdown()


@pytest.fixture
def event_id(app, anon_http, spot) -> int:
    """A report's first event, for the outbox rows of these tests to hang on."""
    r = anon_http.post("/api/v1/reports", data={"category": "combustibles", "lon": spot["lon"], "lat": spot["lat"]},
                       files=[("photo", ("h.jpg", jpeg(), "image/jpeg"))])
    assert r.status_code == 201, r.text
    with app.app_context():
        return db.session.scalar(select(ReportEvent.id).order_by(ReportEvent.id.desc()).limit(1))


def deliver(app, event_id: int, channel: str, target: str) -> tuple[str, str | None]:
    """Queue one message on a channel and try it once (it is the first due): (status, last error)."""
    with app.app_context():
        n = Notification(channel=channel, target=target, next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC),
                         event_id=event_id, payload={"subject": "测试", "text": "楼道堆物"})
        db.session.add(n)
        db.session.commit()
        outbox.deliver_one(datetime.now(UTC))
        db.session.refresh(n)
        return n.status, n.last_error


def test_a_webhook_of_another_scheme_reads_nothing(app, event_id, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:SECRET-LINE")
    with app.app_context():
        district = db.session.scalar(select(Area.code).where(Area.level == "district"))
    result = app.test_cli_runner().invoke(args=["contacts", "add", "--area", district, "--webhook",
                                                f"file://{secret}"])
    assert result.exit_code != 0 and "http" in result.output
    for url in (f"file://{secret}", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/", "javascript:alert(1)"):
        status, error = deliver(app, event_id, "webhook", url)
        assert status == "pending" and "SECRET" not in (error or "") and "scheme" in error, (url, error)


def test_private_and_loopback_hosts_need_the_operators_listing(app, event_id, servers, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW_HOSTS", frozenset())
    for url in (servers[0] + "/ok", "http://localhost:1/", "http://169.254.169.254/latest/meta-data/",
                "http://10.0.0.1/", "http://[::1]:1/", "http://0.0.0.0:1/"):
        status, error = deliver(app, event_id, "webhook", url)
        assert status == "pending" and "non-public" in error, (url, error)
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", servers[0] + "/sms")
    status, error = deliver(app, event_id, "sms", "13900000000")
    assert status == "pending" and "non-public" in error
    assert Receiver.hits == []  # nothing left the process
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW_HOSTS", frozenset({"127.0.0.1"}))
    assert deliver(app, event_id, "webhook", servers[0] + "/ok")[0] == "sent"
    assert deliver(app, event_id, "sms", "13900000000")[0] == "sent"


def test_redirects_stay_on_their_host_and_answers_are_capped(app, event_id, servers, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW_HOSTS", frozenset({"127.0.0.1", "localhost"}))
    status, error = deliver(app, event_id, "webhook", servers[0] + "/redirect-away")
    assert status == "pending" and "another host" in error
    assert [path for _, path in Receiver.hits] == ["/redirect-away"]  # the other host was never asked
    assert deliver(app, event_id, "webhook", servers[0] + "/redirect-here")[0] == "sent"  # same host: followed
    status, error = deliver(app, event_id, "webhook", servers[0] + "/huge")
    assert status == "pending" and "longer than" in error
    with app.app_context(), pytest.raises(outbound.OutboundError, match="timed out"):
        silent = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)  # accepts, never answers
        try:
            outbound.request("GET", f"http://127.0.0.1:{silent.server_port}/", timeout=0.5)
        finally:
            silent.server_close()


class Dripper(BaseHTTPRequestHandler):
    """Answers 200 with a 100-byte body sent one byte every 0.1 s: each read is quick, the whole answer is not."""

    sent = 0

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        try:
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                Dripper.sent += 1
                time.sleep(0.1)
        except OSError:  # the client hung up, as it should
            pass

    def log_message(self, *args):
        pass


def test_an_answer_dripping_within_each_timeout_still_ends_within_the_request_s_time(ctx):
    """A socket timeout bounds each read, not the answer: a body sent a byte at a time would hold a delivery
    worker for as long as it likes. The request's whole time is bounded (about twice its timeout)."""
    Dripper.sent = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Dripper)
    server.block_on_close = False  # the dripping thread ends on its own once the client hangs up
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(outbound.OutboundError, match="too slow"):
            outbound.request("GET", f"http://127.0.0.1:{server.server_port}/drip", timeout=0.3)
    finally:
        server.shutdown()
        server.server_close()
    assert Dripper.sent < 100  # given up before the body was complete
