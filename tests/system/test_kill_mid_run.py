"""Exactly once (issue 24): the outbox and `bodies sync`, killed with SIGKILL in the middle of their work and run
again, send and apply nothing twice. The body is a local Open311 stand-in that holds its answer while the worker
is killed; the worker is the real `hazard-snap` command in its own process, on the tests' database."""
import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from service.bodies import registry
from service.bodies.models import BodyUpdate, Transfer
from service.core.db import db
from service.core.models import Photo, ReportEvent
from service.notify.models import Notification
from tests.support.images import jpeg
from tests.support.local_http import reply, running
from tests.support.reports_api import post
from tests.support.workflow_api import move

CLI = str(Path(sys.executable).with_name("hazard-snap"))
PHOTO = jpeg(colour=(30, 140, 60))


class Body(BaseHTTPRequestHandler):
    """Takes requests once per Idempotency-Key (a retry gets the first id); serves updates; serves the after-photo.
    While `hold` is set, the first request of a kind waits on it (the moment the worker is killed)."""

    posts: list = []
    ids: dict = {}
    updates: list = []
    hold = threading.Event()
    held = threading.Event()
    holding = False

    def _wait(self):
        if Body.holding:
            Body.held.set()
            Body.hold.wait(60)

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers["Content-Length"]))
        key = self.headers.get("Idempotency-Key")
        Body.posts.append(key)
        self._wait()
        rid = Body.ids.setdefault(key, f"MH-{len(Body.ids) + 1}")
        reply(self, 201, json.dumps([{"service_request_id": rid}]).encode())

    def do_GET(self):  # noqa: N802
        path = urlsplit(self.path)
        if path.path.endswith(".jpg"):
            self._wait()
            return reply(self, 200, PHOTO, "image/jpeg")
        page = int(parse_qs(path.query)["page"][0])
        reply(self, 200, json.dumps(Body.updates if page == 1 else []).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def body(app, spot):
    Body.posts, Body.ids, Body.updates, Body.holding = [], {}, [], False
    Body.hold.clear(), Body.held.clear()
    with running(Body) as base, app.app_context():
        b = registry.add(name="闵行燃气", kind="utility", channel="open311", endpoint=f"{base}/open311/v2",
                         categories=["gas_open_flame"], area_codes=[spot["town"]], jurisdiction_id="gas.example",
                         credential="k", sign_hours=4, finish_hours=48)
        yield {"id": b.id, "base": base}
        Body.hold.set()


@pytest.fixture
def worker_env(app, app_database_url, photo_dir):
    env = os.environ | {"DATABASE_URL": app_database_url, "SECRET_KEY": app.config["SECRET_KEY"],
                        "PHOTO_DIR": str(photo_dir), "OUTBOUND_ALLOW_HOSTS": "127.0.0.1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def kill_while_held(env: dict, *args: str) -> None:
    """Run a command until the body holds its request, then SIGKILL it there."""
    Body.holding = True
    proc = subprocess.Popen([CLI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        assert Body.held.wait(120), proc.communicate(timeout=5)[0]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        Body.holding = False
        Body.hold.set()  # let the held request finish into a closed socket
    assert proc.returncode == -signal.SIGKILL


def run(env: dict, *args: str) -> str:
    done = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def transfer(app, as_user, anon_http, spot, body, n: int) -> list[str]:
    sup, ids = as_user("sup_a"), []
    for i in range(n):
        rid = post(anon_http, lon=spot["lon"], lat=spot["lat"], category="gas_open_flame",
                   description=f"燃气味 {i}").json()["id"]
        assert move(sup, rid, "transferred", note="归燃气公司", body_id=body["id"]).status_code == 200
        ids.append(rid)
    return ids


def test_the_outbox_killed_mid_delivery_sends_each_transfer_once(app, as_user, anon_http, spot, body, worker_env):
    transfer(app, as_user, anon_http, spot, body, 3)
    kill_while_held(worker_env, "notify")
    assert len(Body.posts) == 1  # killed with its first POST unanswered, before its commit
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Notification)
                                 .where(Notification.status == "pending", Notification.channel == "open311")) == 3
    assert "sent 3" in run(worker_env, "notify")
    assert len(Body.posts) == 4 and Body.posts.count(Body.posts[0]) == 2  # the one in doubt, retried by its key
    assert len(Body.ids) == 3  # so the body made one request per transfer
    with app.app_context():
        remote = sorted(t.remote_id for t in db.session.scalars(select(Transfer)))
        assert remote == ["MH-1", "MH-2", "MH-3"]
        assert db.session.scalar(select(func.count()).select_from(Notification)
                                 .where(Notification.status == "pending")) == 0
    assert "sent 0" in run(worker_env, "notify")


def test_bodies_sync_killed_mid_run_applies_each_update_once(app, as_user, anon_http, spot, body, worker_env):
    rids = transfer(app, as_user, anon_http, spot, body, 2)
    assert "sent 2" in run(worker_env, "notify")
    media = f"{body['base']}/media/after.jpg"
    Body.updates = [{"update_id": f"s{i}", "service_request_id": f"MH-{i}", "status": "in_progress",
                     "updated_datetime": "2026-12-07T10:00:00+08:00", "description": "已签收"} for i in (1, 2)] + [
                    {"update_id": f"f{i}", "service_request_id": f"MH-{i}", "status": "fixed", "media_url": media,
                     "updated_datetime": "2026-12-07T11:00:00+08:00", "description": "已修复"} for i in (1, 2)]
    kill_while_held(worker_env, "bodies", "sync")  # killed while fetching the first after-photo
    run(worker_env, "bodies", "sync")
    run(worker_env, "bodies", "sync")  # and once more: nothing new
    with app.app_context():
        outcomes = sorted((u.update_id, u.outcome) for u in db.session.scalars(select(BodyUpdate)))
        assert outcomes == [("f1", "applied"), ("f2", "applied"), ("s1", "noted"), ("s2", "noted")]
        for rid in rids:
            moved = db.session.scalars(select(ReportEvent.to_status).where(
                ReportEvent.report_id == rid, ReportEvent.kind == "transition")).all()
            assert moved.count("rectified") == 1, moved
            assert db.session.scalar(select(func.count()).select_from(Photo).where(
                Photo.report_id == rid, Photo.role == "after")) == 1
