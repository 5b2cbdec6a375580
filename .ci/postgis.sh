#!/usr/bin/env bash
# Manage the project's private PostGIS cluster under var/pg (start | stop | status | url | app-url).
# HAZARD_PG_DIR and HAZARD_PG_PORT run another cluster beside it (a test's scratch cluster, a replica).
# `replica` makes HAZARD_PG_DIR a streaming standby of the cluster on HAZARD_PRIMARY_PORT (pg_basebackup -R)
# and starts it.
# `url` is the owner's (migrations); `app-url` the application's own role, which `hazard-snap db upgrade` creates.
# PostgreSQL refuses to run as root, so when we are root the cluster belongs to the
# `postgres` OS user and every command runs through runuser.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PORT=${HAZARD_PG_PORT:-5439}
PGDIR=${HAZARD_PG_DIR:-$top/var/pg}
DATA=$PGDIR/data
SOCK=$PGDIR/run
LOG=$PGDIR/postgres.log
DBNAME=${HAZARD_DB_NAME:-hazard_snap}
APP_ROLE=${HAZARD_APP_ROLE:-hazard_app}
# The defaults (128 MB of buffers, 1 GB of WAL between checkpoints) are sized for a laptop: at 10^6 reports
# the report table and its indexes (~800 MB) did not stay in memory, and re-assigning after a redraw spent a
# fifth of its time writing buffers out. Memory is only taken as it is used.
TUNING=${HAZARD_PG_TUNING:--c shared_buffers=1GB -c max_wal_size=4GB}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The postgres user must be able to traverse every parent of the cluster's directory (CI clones anywhere).
open_path() {
  [ "$(id -u)" = 0 ] || return 0
  local d=$PGDIR
  while [ "$d" != / ]; do
    if ! runuser -u postgres -- test -x "$d"; then
      echo "postgis.sh: granting search permission on $d so the postgres user can reach $PGDIR" >&2
      chmod o+x "$d"
    fi
    d=$(dirname "$d")
  done
}

start() {
  mkdir -p "$PGDIR"
  open_path
  if [ "$(id -u)" = 0 ]; then chown postgres: "$PGDIR"; fi
  if [ ! -s "$DATA/PG_VERSION" ]; then
    echo "postgis.sh: creating cluster in $DATA" >&2
    as_owner "$PGBIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  as_owner mkdir -p "$SOCK"
  if ! as_owner "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_owner "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
      -o "-p $PORT -k $SOCK -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200 $TUNING" start >/dev/null
  fi
  for _ in $(seq 1 60); do
    "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
    sleep 0.5
  done
  "$PGBIN/pg_isready" -h 127.0.0.1 -p "$PORT" >/dev/null || { cat "$LOG" >&2; exit 1; }
}

replica() {
  mkdir -p "$PGDIR"
  open_path
  if [ "$(id -u)" = 0 ]; then chown postgres: "$PGDIR"; fi
  if [ ! -s "$DATA/PG_VERSION" ]; then
    as_owner "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "${HAZARD_PRIMARY_PORT:?HAZARD_PRIMARY_PORT is the primary cluster port}" -U postgres \
      -D "$DATA" -R -X stream -c fast
  fi
  start
}

case "${1:-}" in
  start) start ;;
  replica) replica ;;
  stop)
    if [ -s "$DATA/PG_VERSION" ]; then as_owner "$PGBIN/pg_ctl" -D "$DATA" -m fast stop || true; fi ;;
  status) as_owner "$PGBIN/pg_ctl" -D "$DATA" status ;;
  url) echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/$DBNAME" ;;
  app-url) echo "postgresql+psycopg://$APP_ROLE@127.0.0.1:$PORT/$DBNAME" ;;
  *) echo "usage: $0 start|replica|stop|status|url|app-url" >&2; exit 2 ;;
esac
