"""Two real servers (issue 24): a second instance of this service, with its own database, served by gunicorn, is
the body a report is transferred to. The first delivers the report over Open311 with a signed link to its photo;
the body takes it in as a report of its own and works it through to verified; `bodies sync` on the first brings
the sign-for and the rectification back, with the body's after-photo fetched from the body and stored, and the
town verifies it."""
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bench.chaos import Gunicorn, free_port
from service.bodies import registry
from service.bodies.models import Transfer
from service.core import migrate
from service.core.db import db
from service.core.models import Photo, Report
from service.notify import outbox
from tests.support.database import app_url, recreate_database
from tests.support.images import jpeg
from tests.support.reports_api import post
from tests.support.workflow_api import move

CLI = str(Path(sys.executable).with_name("hazard-snap"))


def _cli(env: dict, *args: str, stdin: str = "") -> str:
    done = subprocess.run([CLI, *args], env=env, input=stdin, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def body_server(database_url, live_server, spot):
    """The body: this service again, on its own database and photo store, with a key for the first server and a
    district admin's token; it fetches media only from the first server."""
    owner = make_url(database_url)
    owner = owner.set(database=owner.database + "_body").render_as_string(hide_password=False)
    recreate_database(owner)
    migrate.upgrade(owner)
    app_db = app_url(owner)
    migrate.grant_app_role(owner, make_url(app_db).username, make_url(app_db).password)
    home = Path(tempfile.mkdtemp(prefix="hazard-body-"))
    port = free_port()
    env = os.environ | {"DATABASE_URL": app_db, "DATABASE_OWNER_URL": owner, "PHOTO_DIR": str(home / "photos"),
                        "SECRET_KEY": secrets.token_hex(32), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
                        "OPEN311_MEDIA_HOSTS": live_server.removeprefix("http://")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    _cli(env | {"DATABASE_URL": owner}, "demo-data", "--if-empty")
    key = _cli(env, "apikeys", "create", "--name", "闵行火患随手拍", "--area", "310112").split("api_key: ")[1].strip()
    token = _cli(env, "users", "create", "--name", "燃气公司调度", "--phone", "13700001111", "--role",
                 "district_admin", "--token").split("token: ")[1].strip()
    staff = _cli(env, "users", "create", "--name", "燃气公司维修班", "--phone", "13700002222", "--role",
                 "committee_staff", "--area", spot["code"], "--token").split("token: ")[1].strip()
    server = Gunicorn(env, home / "gunicorn.log", workers=1, port=port)
    yield {"base": server.base, "key": key, "token": token, "staff": staff}
    server.stop()
    shutil.rmtree(home, ignore_errors=True)


def test_a_report_goes_to_the_body_and_its_work_comes_back(app, as_user, anon_http, spot, body_server, live_server,
                                                           monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", live_server)  # where the body fetches our photo
    with app.app_context():
        body_id = registry.add(name="闵行燃气（第二服务）", kind="utility", channel="open311",
                               endpoint=body_server["base"] + "/open311/v2", categories=["gas_open_flame"],
                               area_codes=[spot["town"]], jurisdiction_id="310112", credential=body_server["key"],
                               sign_hours=4, finish_hours=48).id
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"], category="gas_open_flame",
               description="地下室燃气味很重").json()["id"]
    sup = as_user("sup_a")
    assert move(sup, rid, "transferred", note="燃气归燃气公司", body_id=body_id).status_code == 200
    with app.app_context():
        assert outbox.deliver_due() == (1, 0)
        remote = db.session.scalar(select(Transfer.remote_id).where(Transfer.report_id == rid))
    assert remote

    # On the body's side: a report of its own, with our photo fetched through the signed link.
    there = requests.Session()
    there.headers["Authorization"] = f"Bearer {body_server['token']}"
    got = there.get(f"{body_server['base']}/api/v1/reports/{remote}")
    assert got.status_code == 200, got.text
    assert got.json()["description"] == "地下室燃气味很重" and got.json()["category"] == "gas_open_flame"
    assert got.json()["photos"]
    crew = requests.Session()
    crew.headers["Authorization"] = f"Bearer {body_server['staff']}"
    for who, to in ((there, "accepted"), (there, "dispatched"), (crew, "rectifying")):
        r = who.post(f"{body_server['base']}/api/v1/reports/{remote}/transitions", json={"to": to, "note": to})
        assert r.status_code == 200, r.text
    r = crew.post(f"{body_server['base']}/api/v1/reports/{remote}/transitions", data={"to": "rectified",
                   "note": "已关阀检修"}, files=[("photo", ("after.jpg", jpeg(colour=(10, 170, 60)), "image/jpeg"))])
    assert r.status_code == 200, r.text
    r = there.post(f"{body_server['base']}/api/v1/reports/{remote}/transitions", json={"to": "verified",
                                                                                     "note": "内部复核"})
    assert r.status_code == 200, r.text

    result = app.test_cli_runner().invoke(args=["bodies", "sync"])
    assert result.exit_code == 0 and "'applied': 1" in result.output and "'refused': 0" in result.output, result.output
    with app.app_context():
        report = db.session.get(Report, rid)
        transfer = db.session.scalar(select(Transfer).where(Transfer.report_id == rid))
        after = db.session.scalars(select(Photo).where(Photo.report_id == rid, Photo.role == "after")).all()
        assert report.status == "rectified" and transfer.signed_at is not None and transfer.outcome == "finished"
        assert len(after) == 1
    assert move(sup, rid, "verified", note="街镇复核通过").json()["status"] == "verified"
    again = app.test_cli_runner().invoke(args=["bodies", "sync"])
    assert "'applied': 0" in again.output and "'noted': 0" in again.output  # nothing twice
