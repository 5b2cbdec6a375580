"""A real streaming replica (pg_basebackup, started by .ci/postgis.sh replica) of a scratch primary: exports,
tiles and stats read from it, a person who just wrote reads their own write from the primary, and the lag is on
/healthz and /metrics."""
import io
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from bench import chaos
from service import create_app
from tests.support.images import jpeg
from tests.support.processes import wait_for

TOKEN = "r" * 40


@pytest.fixture(scope="module")
def replicated():
    """(primary, standby, app env, points): a migrated primary with the demo district and its standby."""
    work = Path(tempfile.mkdtemp(prefix="hazard-replica-"))
    primary, standby = chaos.Cluster(work / "primary"), chaos.Cluster(work / "standby")
    standby.env["HAZARD_PRIMARY_PORT"] = primary.env["HAZARD_PG_PORT"]
    standby.env["HAZARD_PRIMARY_PASSFILE"] = str(work / "primary" / "pgpass")
    try:
        primary.pg("start")
        env, points = chaos.prepare(*primary.urls(), work / "photos")
        standby.pg("replica")
        yield primary, standby, env, points
    finally:
        standby.pg("stop")
        primary.pg("stop")
        shutil.rmtree(work, ignore_errors=True)


def superuser(cluster: chaos.Cluster):
    return psycopg.connect(cluster.urls()[0].replace("+psycopg", ""), autocommit=True)


def test_reads_from_the_replica_except_ones_own_writes_and_the_lag_is_shown(replicated):
    primary, standby, env, points = replicated
    token = chaos.cli(env, "users", "create", "--name", "管理员", "--phone", "13800000000", "--role",
                      "district_admin", "--token").split("token: ")[1].strip()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": primary.urls()[1],
                      "DATABASE_OWNER_URL": primary.urls()[0], "DATABASE_REPLICA_URL": standby.urls()[1],
                      "PHOTO_DIR": env["PHOTO_DIR"], "METRICS_TOKEN": TOKEN})
    bearer = {"Authorization": f"Bearer {token}"}
    writer, reader = app.test_client(), app.test_client()

    def features(client) -> int:
        r = client.get("/api/v1/reports.geojson", headers=bearer)
        assert r.status_code == 200
        return len(r.get_json()["features"])

    def lag():
        return reader.get("/healthz").get_json()["replica"]["lag_s"]

    wait_for(lambda: lag() == 0, "the replica catching up")  # it has the user and its token
    with superuser(standby) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    created = writer.post("/api/v1/reports", headers=bearer, data={
        "category": "combustibles", "lon": str(points[0][0]), "lat": str(points[0][1]),
        "photo": (io.BytesIO(jpeg()), "h.jpg", "image/jpeg")})
    assert created.status_code == 201, created.get_json()
    assert features(writer) == 1  # who just wrote reads from the primary
    assert features(reader) == 0  # everyone else from the paused replica
    assert reader.get("/api/v1/stats", headers=bearer).status_code == 200
    assert reader.get("/tiles/reports/10/857/418.pbf", headers=bearer).status_code == 200
    assert wait_for(lambda: lag() > 0, "lag while replay is paused") > 0
    metrics = reader.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert "hazard_replica_lag_seconds" in metrics
    with superuser(standby) as conn:
        conn.execute("SELECT pg_wal_replay_resume()")
    wait_for(lambda: features(reader) == 1, "the replica replaying the report")
    wait_for(lambda: lag() == 0, "no lag once replayed")
    with superuser(standby) as conn:  # it really is a standby: it refuses writes
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
