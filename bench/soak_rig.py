"""The soak's rig (bench/soak.py): a primary with a synchronous streaming standby, Debian's PgBouncer in transaction
mode in front, gunicorn behind it, and what an operator does to them: a failover and a rolling upgrade.

- The standby is made by `.ci/postgis.sh replica` (pg_basebackup -R) and then named in the primary's
  synchronous_standby_names, so a commit is acknowledged only once the standby has it: a primary that crashes
  loses no acknowledged report. (Asynchronous replication would lose the last ones; README "Failover" says so.)
- Failover: the primary is stopped -m immediate (a crash), the standby promoted (pg_ctl promote), PgBouncer's
  [databases] entry re-pointed at it and reloaded (RELOAD on its console). Nothing in the app is restarted.
- Rolling upgrade: `hazard-snap db upgrade` (the expand revision) while the load goes on, a watcher sampling
  pg_locks.waitstart every 50 ms, then gunicorn's workers replaced one by one (SIGHUP), as a node's new code.
"""
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bench import chaos

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))


def as_postgres() -> list[str]:
    """PostgreSQL and PgBouncer refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def plain(url: str) -> str:
    """A SQLAlchemy URL as libpq takes it."""
    return url.replace("+psycopg", "")


class Pair:
    """A primary and its synchronous standby, each a scratch cluster of .ci/postgis.sh."""

    def __init__(self, work: Path):
        self.primary, self.standby = chaos.Cluster(work / "primary"), chaos.Cluster(work / "standby")
        self.standby.env["HAZARD_PRIMARY_PORT"] = self.primary.env["HAZARD_PG_PORT"]
        self.standby.env["HAZARD_PRIMARY_PASSFILE"] = str(work / "primary" / "pgpass")
        self.current = self.primary

    def start_standby(self) -> None:
        self.standby.pg("replica")
        with psycopg.connect(plain(self.primary.urls()[0]), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
            conn.execute("SELECT pg_reload_conf()")
            deadline = time.monotonic() + 60
            while conn.execute("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'"
                               ).fetchone()[0] == 0:
                if time.monotonic() > deadline:
                    raise RuntimeError("the standby did not become synchronous")
                time.sleep(0.2)

    def port(self) -> int:
        return int(self.current.env["HAZARD_PG_PORT"])

    def owner_url(self) -> str:
        return self.current.urls()[0]

    def _ctl(self, cluster: chaos.Cluster, *args: str) -> None:
        data = Path(cluster.env["HAZARD_PG_DIR"]) / "data"
        subprocess.run([*as_postgres(), str(PGBIN / "pg_ctl"), "-D", str(data), *args], check=True,
                       capture_output=True)

    def crash_and_promote(self) -> None:
        """The primary dies (immediate stop: no shutdown checkpoint, sessions cut); the standby takes over."""
        self._ctl(self.primary, "-m", "immediate", "stop")
        self._ctl(self.standby, "-w", "-t", "60", "promote")
        self.current = self.standby

    def stop(self) -> None:
        for cluster in (self.standby, self.primary):
            try:
                cluster.pg("stop")
            except RuntimeError:
                pass


def _passwords(url) -> dict[str, str]:
    """The roles' passwords from the libpq password file the cluster's URL names."""
    found = {}
    for line in Path(url.query["passfile"]).read_text().splitlines():
        role, password = line.split(":")[3:5]
        found[role] = password
    return found


class Bouncer:
    """PgBouncer in transaction mode in front of whichever cluster is the primary."""

    def __init__(self, home: Path, upstream_url: str, pool_size: int = 20):
        self.home, self.port, self.pool_size = home, chaos.free_port(), pool_size
        home.mkdir(parents=True, exist_ok=True)
        upstream = make_url(upstream_url)
        (home / "users.txt").write_text("".join(f'"{r}" "{p}"\n' for r, p in _passwords(upstream).items()))
        self.point(upstream.port, reload=False)
        self.proc = subprocess.Popen([*as_postgres(), PGBOUNCER, str(home / "pgbouncer.ini")], start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.admin("SHOW VERSION")
                return
            except psycopg.OperationalError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"pgbouncer did not start: {self.log()[-2000:]}") from None
                time.sleep(0.2)

    def log(self) -> str:
        path = self.home / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def point(self, port: int, reload: bool = True) -> None:
        """(Re-)point every database at the cluster on `port`; with reload, PgBouncer closes its old server
        connections as they come free and opens new ones there."""
        (self.home / "pgbouncer.ini").write_text(f"""[databases]
* = host=127.0.0.1 port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.home}/users.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = {self.pool_size}
max_client_conn = 500
server_login_retry = 1
server_connect_timeout = 5
logfile = {self.home}/pgbouncer.log
""")
        if os.geteuid() == 0:
            for path in (self.home, *self.home.iterdir()):
                shutil.chown(path, "postgres")
        if reload:
            self.admin("RELOAD")

    def admin(self, command: str) -> None:
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="pgbouncer",
                             autocommit=True, prepare_threshold=None, connect_timeout=5) as conn:
            conn.execute(command)

    def url(self, cluster_url: str) -> str:
        """A cluster's URL, through this PgBouncer."""
        return make_url(cluster_url).set(port=self.port).render_as_string(hide_password=False)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)


class LockWatch(threading.Thread):
    """The longest wait for any lock, and for a lock on the report table, sampled every 50 ms (pg_locks.waitstart,
    PostgreSQL 14+): a statement that stalls uploads shows as their waits on report."""

    SQL = ("SELECT extract(epoch FROM now() - l.waitstart), l.locktype = 'relation' AND l.relation = "
           "'report'::regclass, concat_ws(' ', l.locktype, l.relation::regclass, l.mode, 'by:', left(a.query, 80))"
           " FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted AND l.waitstart IS NOT NULL"
           " ORDER BY 1 DESC")

    def __init__(self, owner_url: str):
        super().__init__(daemon=True)
        self.url, self.done = plain(owner_url), threading.Event()
        self.any_s = self.report_s = 0.0
        self.longest = ""  # what the longest wait was for, and the waiting statement

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.done.is_set():
                for seconds, on_report, what in conn.execute(self.SQL).fetchall():
                    if float(seconds) > self.any_s:
                        self.any_s, self.longest = float(seconds), what
                    if on_report:
                        self.report_s = max(self.report_s, float(seconds))
                time.sleep(0.05)

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=10)


def roll(server: chaos.Gunicorn, timeout_s: float = 120) -> bool:
    """Replace every gunicorn worker (SIGHUP: new workers start, the old finish their requests and go), as a
    node's new code is brought in; True once none of the old workers is left and all are back."""
    old = server.workers()
    os.kill(server.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = server.workers()
        if not now & old and len(now) == len(old):
            return True
        time.sleep(0.2)
    return False


def rolling_upgrade(pair: Pair, env: dict, server: chaos.Gunicorn) -> dict:
    """Expand (migrate to head) under load with the lock watcher running, then the new code worker by worker;
    nothing to contract (the revision is expand-only)."""
    watch = LockWatch(pair.owner_url())
    watch.start()
    started = time.monotonic()
    output = chaos.cli(env | {"DATABASE_OWNER_URL": pair.owner_url()}, "db", "upgrade")
    migrated = time.monotonic()
    rolled = roll(server)
    watch.stop()
    return {"migration_s": migrated - started, "roll_s": time.monotonic() - migrated, "workers_replaced": rolled,
            "longest_report_lock_wait_s": round(watch.report_s, 3), "longest_lock_wait_s": round(watch.any_s, 3),
            "longest_wait_was": watch.longest,
            "output": output.strip().splitlines()[-1]}
