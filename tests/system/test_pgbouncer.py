"""The app through a real PgBouncer (Debian's) in transaction mode: every kind of work it does to the database
(uploads under an advisory transaction lock, keyset lists run often enough for psycopg to prepare them,
streamed exports, tiles, workflow moves) answers while a few server connections are shared by many clients."""
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from service import create_app
from service.core.db import engine_options
from tests.support.live import LiveSession
from tests.support.notifications import free_port
from tests.support.processes import listening
from tests.support.reports_api import post
from tests.support.workflow_api import move

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
SERVER_CONNECTIONS = 2


@pytest.fixture(scope="module")
def bouncer(database_url):
    """PgBouncer in transaction mode in front of the test cluster; yields its port. A second alias,
    `<db>_single`, has one server connection, so two clients take turns on it."""
    if not os.path.exists(PGBOUNCER):
        pytest.fail(f"{PGBOUNCER} missing: install Debian's pgbouncer (make test does, via .ci/apt.sh)")
    upstream, port = make_url(database_url), free_port()
    home = Path(tempfile.mkdtemp(prefix="hazard-pgbouncer-"))
    # PgBouncer logs in to the cluster with these passwords (the private cluster's are in its password file).
    (home / "users.txt").write_text("".join(f'"{role}" "{pw}"\n' for role, pw in passwords(upstream).items()))
    (home / "pgbouncer.ini").write_text(f"""[databases]
{upstream.database}_single = host={upstream.host} port={upstream.port} dbname={upstream.database} pool_size=1
* = host={upstream.host} port={upstream.port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {home}/users.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = {SERVER_CONNECTIONS}
max_client_conn = 200
logfile = {home}/pgbouncer.log
""")
    as_owner = []
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        shutil.chown(home, "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    proc = subprocess.Popen([*as_owner, PGBOUNCER, str(home / "pgbouncer.ini")], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    listening(port, proc, lambda: (home / "pgbouncer.log").read_text())
    yield port
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)
    shutil.rmtree(home, ignore_errors=True)


def passwords(url) -> dict[str, str]:
    """The roles' passwords: the URL's own, else from the libpq password file it names, else none."""
    found = {"postgres": "", "hazard_app": ""}
    passfile = url.query.get("passfile")
    if passfile:
        for line in Path(passfile).read_text().splitlines():
            role, pw = line.split(":")[3:5]
            found[role] = pw
    if url.password:
        found[url.username] = url.password
    return found


def through(url: str, port: int, database: str | None = None) -> str:
    u = make_url(url)
    return u.set(port=port, database=database or u.database).render_as_string(hide_password=False)


def admin(port: int, command: str) -> list[dict]:
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="pgbouncer", autocommit=True,
                         prepare_threshold=None) as conn, conn.cursor() as cur:
        cur.execute(command)
        names = [c.name for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@pytest.fixture(scope="module")
def pooled_server(app, bouncer, app_database_url, photo_dir):
    """A second instance of the app whose DATABASE_URL is PgBouncer's, served over real HTTP."""
    pooled = create_app(app.config | {"SQLALCHEMY_DATABASE_URI": through(app_database_url, bouncer),
                                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
                                      "DATABASE_POOLED": True})
    server = make_server("127.0.0.1", 0, pooled, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_the_app_works_through_pgbouncer_in_transaction_mode(pooled_server, bouncer, accounts, spot):
    before = sum(row["total_xact_count"] for row in admin(bouncer, "SHOW STATS"))

    def session(name: str | None = None) -> LiveSession:
        return LiveSession(pooled_server, accounts[name]["token"] if name else None)

    def work(i: int) -> list[int]:
        with session() as anon, session("admin") as admin_http:
            codes = [post(anon, lon=spot["lon"], lat=spot["lat"], client_report_id=f"pooled-{i}").status_code]
            for _ in range(8):  # the same query often enough that psycopg would prepare it
                codes.append(admin_http.get("/api/v1/reports", params={"limit": 2}).status_code)
            codes.append(admin_http.get("/api/v1/reports.csv").status_code)
            codes.append(admin_http.get("/tiles/reports/16/54890/26779.pbf").status_code)
            return codes

    with ThreadPoolExecutor(8) as pool:
        codes = [c for result in pool.map(work, range(16)) for c in result]
    assert codes.count(201) == 16 and all(c < 400 for c in codes), sorted(set(codes))
    with session("admin") as admin_http:
        listed = admin_http.get("/api/v1/reports", params={"limit": 100}).json()
        assert listed["total"] == 16
        rid = listed["reports"][0]["id"]
    with session("sup_a") as sup:
        assert move(sup, rid, "accepted").status_code == 200
    config = {row["key"]: row["value"] for row in admin(bouncer, "SHOW CONFIG")}
    assert config["pool_mode"] == "transaction" and config["default_pool_size"] == str(SERVER_CONNECTIONS)
    assert sum(row["total_xact_count"] for row in admin(bouncer, "SHOW STATS")) - before >= 16 * 11


@pytest.mark.parametrize("pooled", [False, True])
def test_prepared_statements_break_through_pgbouncer_unless_the_app_knows(bouncer, app_database_url, pooled):
    """Two clients take turns on one server connection; psycopg prepares a statement after 5 runs, under the
    same name on each client, which that one server connection then holds twice unless DATABASE_POOLED."""
    single = through(app_database_url, bouncer, make_url(app_database_url).database + "_single")
    engine = create_engine(single, **engine_options({"SQLALCHEMY_ENGINE_OPTIONS": {}, "DATABASE_POOLED": pooled}))
    errors = []
    with engine.connect() as first, engine.connect() as second:
        for _ in range(8):
            for conn in (first, second):
                try:
                    conn.execute(text("SELECT count(*) FROM area WHERE level = :level"), {"level": "town"})
                    conn.commit()
                except Exception as e:  # noqa: BLE001 - the point is which error the driver raises
                    errors.append(type(e.orig).__name__ if hasattr(e, "orig") else type(e).__name__)
                    conn.rollback()
    engine.dispose()
    if pooled:
        assert errors == []
    else:
        assert errors and set(errors) <= {"DuplicatePreparedStatement", "InvalidSqlStatementName"}
