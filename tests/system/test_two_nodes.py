"""Two app nodes: two gunicorn instances on different ports share one database and one photo store. A session
made on one works on the other (and ends on both), and rate limits, the login throttle and idempotency hold
across both, because all of that state lives in PostgreSQL."""
import os
import re
import secrets
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from bench.chaos import Gunicorn
from service.accounts import auth
from service.core.db import db
from service.core.models import Report, User
from tests.support.images import jpeg
from tests.support.live import PASSWORD
from tests.support.reports_api import post

PER_MINUTE = 3


@pytest.fixture(scope="module")
def nodes(app_database_url):
    """Nodes A and B: one database, one photo directory, one secret key; 3 anonymous uploads a minute."""
    shared = Path(tempfile.mkdtemp(prefix="hazard-nodes-"))
    env = os.environ | {"DATABASE_URL": app_database_url, "PHOTO_DIR": str(shared / "photos"),
                        "SECRET_KEY": secrets.token_hex(32), "PUBLIC_REPORTS_PER_MINUTE": str(PER_MINUTE)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    servers = [Gunicorn(env, shared / f"{name}.log", workers=1) for name in "ab"]
    yield [s.base for s in servers]
    for s in servers:
        s.stop()
    shutil.rmtree(shared, ignore_errors=True)


def log_in(s: requests.Session, base: str, phone: str, password: str) -> requests.Response:
    page = s.get(base + "/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return s.post(base + "/login", data={"csrf_token": token, "phone": phone, "password": password},
                  allow_redirects=False)


def test_a_session_made_on_one_node_works_on_the_other_and_ends_on_both(app, nodes):
    a, b = nodes
    with app.app_context():
        user = User(name="两节点测试", phone="13911112222", role="district_admin")
        auth.set_password(user, PASSWORD)
        db.session.add(user)
        db.session.commit()
    try:
        with requests.Session() as s:
            assert log_in(s, a, "13911112222", PASSWORD).status_code == 302
            assert s.get(b + "/api/v1/reports").status_code == 200
            assert "两节点测试" in s.get(b + "/", allow_redirects=True).text
            result = app.test_cli_runner().invoke(args=["users", "set-password", "13911112222"],
                                                  input="another-horse-8\n")
            assert result.exit_code == 0, result.output
            assert s.get(a + "/api/v1/reports").status_code == 401
            assert s.get(b + "/api/v1/reports").status_code == 401
    finally:
        with app.app_context():
            db.session.delete(db.session.scalar(select(User).where(User.phone == "13911112222")))
            db.session.commit()


def test_the_anonymous_rate_limit_counts_attempts_on_both_nodes(nodes, spot):
    a, b = nodes
    answers = []
    for i in range(PER_MINUTE + 1):
        with requests.Session() as s:
            s.base = [a, b][i % 2]
            answers.append(s.post(s.base + "/api/v1/reports", files=[("photo", ("h.jpg", jpeg(), "image/jpeg"))],
                                  data={"category": "ebike_charging", "lon": spot["lon"], "lat": spot["lat"],
                                        "client_report_id": f"limit-{i}"}))
    assert [r.status_code for r in answers] == [201] * PER_MINUTE + [429]
    assert answers[-1].json()["error"]["code"] == "rate_limited_burst"
    retry = requests.post(a + "/api/v1/reports", files=[("photo", ("h.jpg", jpeg(), "image/jpeg"))],
                          data={"category": "ebike_charging", "lon": spot["lon"], "lat": spot["lat"],
                                "client_report_id": "limit-1"})  # made on B; a retry on A stays free
    assert retry.status_code == 200 and retry.json()["id"] == answers[1].json()["id"]


def test_the_login_throttle_counts_failures_on_both_nodes(nodes, accounts):
    a, b = nodes
    phone = accounts["sup_b"]["phone"]
    with requests.Session() as s:
        codes = [log_in(s, [a, b][i % 2], phone, "wrong-guess").status_code for i in range(5)]
        assert codes == [401] * 5
        assert log_in(s, a, phone, PASSWORD).status_code == 429  # this address, this phone: locked on A too
        assert log_in(s, b, phone, PASSWORD).status_code == 429


def test_one_report_when_both_nodes_get_the_same_upload_at_once(app, nodes, accounts, spot):
    photo = jpeg(colour=(10, 120, 30))

    def send(base: str) -> requests.Response:
        class Http(requests.Session):
            def request(self, method, url, *args, **kwargs):
                return super().request(method, base + url, *args, **kwargs)

        with Http() as s:
            s.headers["Authorization"] = f"Bearer {accounts['vol']['token']}"
            return post(s, photo=photo, lon=spot["lon"], lat=spot["lat"], client_report_id="both-nodes-1")

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, nodes * 4))
    assert sorted(r.status_code for r in answers) == [200] * 7 + [201]
    assert len({r.json()["id"] for r in answers}) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Report)
                                 .where(Report.client_report_id == "both-nodes-1")) == 1
