"""The private cluster (.ci/postgis.sh) lets in only who holds a password: no other OS user or process on the
machine connects as the superuser (it used to trust every connection from 127.0.0.1), the passwords live in a
0600 file the URLs name, and a cluster made the old way is converted at its next start."""
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from bench import chaos
from tests.support.paths import ROOT

PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))


def private(database_url: str):
    url = make_url(database_url)
    if "passfile" not in url.query:
        pytest.skip("DATABASE_URL names an existing PostGIS, not the private cluster of .ci/postgis.sh")
    return url


def refused(**conninfo) -> str:
    """The error of a connection attempt that must fail (no password is offered: passfile=/dev/null)."""
    with pytest.raises(psycopg.OperationalError) as failed:
        psycopg.connect(passfile="/dev/null", connect_timeout=10, **conninfo).close()
    return str(failed.value)


def test_no_password_no_connection_and_the_passwords_are_the_owners_alone(database_url):
    url = private(database_url)
    passfile = Path(url.query["passfile"])
    assert stat.S_IMODE(passfile.stat().st_mode) == 0o600 and passfile.stat().st_uid == os.geteuid()
    for role in ("postgres", "hazard_app"):
        assert "password" in refused(host="127.0.0.1", port=url.port, user=role, dbname="postgres")
    with psycopg.connect(host="127.0.0.1", port=url.port, user="postgres", dbname="postgres",
                         passfile=str(passfile)) as conn:  # with the file, it connects
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    socket_dir = passfile.parent / "run"
    assert stat.S_IMODE(socket_dir.stat().st_mode) & 0o077 == 0  # no other user reaches the socket


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"), reason="needs root to act as another user")
def test_another_os_user_cannot_connect_as_the_superuser(database_url):
    """The review's proof: `runuser -u nobody -- psql -h 127.0.0.1 -p 5439 -U postgres` connected."""
    url = private(database_url)
    for host in ("127.0.0.1", str(Path(url.query["passfile"]).parent / "run")):
        done = subprocess.run(["runuser", "-u", "nobody", "--", "psql", "-w", "-X", "-h", host, "-p", str(url.port),
                               "-U", "postgres", "-d", "postgres", "-c", "SELECT 1"], capture_output=True, text=True,
                              cwd="/", timeout=60)
        assert done.returncode != 0, done.stdout
        assert "password" in done.stderr or "Permission denied" in done.stderr, done.stderr


def test_a_cluster_that_trusted_everyone_is_converted_at_its_next_start():
    work = Path(tempfile.mkdtemp(prefix="hazard-trust-"))
    cluster = chaos.Cluster(work / "pg")
    data = work / "pg" / "data"
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    try:
        (work / "pg").mkdir()
        if as_owner:
            os.chmod(work, 0o755)
            shutil.chown(work / "pg", "postgres")
        subprocess.run([*as_owner, str(PGBIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"],
                       check=True, capture_output=True)  # the way `make run` made clusters before
        started = subprocess.run([str(ROOT / ".ci/postgis.sh"), "start"], env=cluster.env, capture_output=True,
                                 text=True, timeout=300)
        assert started.returncode == 0, started.stderr
        assert "now asks for the passwords" in started.stderr
        port = int(cluster.env["HAZARD_PG_PORT"])
        assert "password" in refused(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
        owner, app = (make_url(u) for u in cluster.urls())
        for url in (owner, app):
            with psycopg.connect(host="127.0.0.1", port=port, user=url.username, dbname="postgres",
                                 passfile=url.query["passfile"]) as conn:
                assert conn.execute("SELECT current_user").fetchone() == (url.username,)
    finally:
        cluster.pg("stop")
        shutil.rmtree(work, ignore_errors=True)
