#!/usr/bin/env bash
# Manage the project's private PostGIS cluster under var/pg (start | stop | status | url | app-url).
# HAZARD_PG_DIR and HAZARD_PG_PORT run another cluster beside it (a test's scratch cluster, a replica).
# `replica` makes HAZARD_PG_DIR a streaming standby of the cluster on HAZARD_PRIMARY_PORT (pg_basebackup -R)
# and starts it.
# `url` is the owner's (migrations); `app-url` the application's own role.
# Nobody else on the machine may connect: every connection, over 127.0.0.1 or the socket (in a 0700 folder),
# needs the owner's or the app role's password (scram-sha-256). Both are generated at the first start and kept
# in $PGDIR/pgpass (mode 0600, owned by whoever runs this script), a libpq password file that the URLs name
# (?passfile=...). A cluster made before this (trust) is converted at its next start.
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
PASSFILE=$PGDIR/pgpass
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

# The password of a role, from the password file (written on first use: 24 random bytes as hex).
password() {
  if [ ! -s "$PASSFILE" ]; then
    (umask 077
     { echo "127.0.0.1:*:*:postgres:$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
       echo "127.0.0.1:*:*:$APP_ROLE:$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"; } > "$PASSFILE.new")
    mv "$PASSFILE.new" "$PASSFILE"
  fi
  chmod 600 "$PASSFILE"
  awk -F: -v role="$1" '$4 == role { print $5; exit }' "$PASSFILE"
}

HBA='# Written by .ci/postgis.sh: every connection needs a password (var/pg/pgpass holds them, mode 0600).
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256'

# Give both roles their passwords and make the cluster ask for them. For a new cluster this sets the app
# role's password; for one made with `trust` it also replaces pg_hba.conf and reloads.
secure() {
  local app_pw
  app_pw=$(password "$APP_ROLE")
  PGPASSFILE=$PASSFILE "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres \
    -v owner_pw="$(password postgres)" -v app_pw="$app_pw" -v app_role="$APP_ROLE" >/dev/null <<'SQL'
ALTER ROLE postgres PASSWORD :'owner_pw';
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', :'app_role')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_role') \gexec
ALTER ROLE :"app_role" PASSWORD :'app_pw';
SQL
  if as_owner grep -qE '^[^#]*[[:space:]]trust([[:space:]]|$)' "$DATA/pg_hba.conf"; then
    echo "postgis.sh: the cluster trusted every local connection; it now asks for the passwords in $PASSFILE" >&2
    printf '%s\n' "$HBA" | as_owner tee "$DATA/pg_hba.conf" >/dev/null
    as_owner "$PGBIN/pg_ctl" -D "$DATA" reload >/dev/null
  fi
}

start() {
  mkdir -p "$PGDIR"
  open_path
  if [ "$(id -u)" = 0 ]; then chown postgres: "$PGDIR"; fi
  if [ ! -s "$DATA/PG_VERSION" ]; then
    echo "postgis.sh: creating cluster in $DATA" >&2
    local pwfile
    pwfile=$(as_owner mktemp)
    password postgres | as_owner tee "$pwfile" >/dev/null
    as_owner "$PGBIN/initdb" -D "$DATA" -U postgres --auth=scram-sha-256 --pwfile="$pwfile" -E UTF8 \
      --locale=C.UTF-8 >/dev/null
    as_owner rm -f "$pwfile"
    printf '%s\n' "$HBA" | as_owner tee "$DATA/pg_hba.conf" >/dev/null
  fi
  as_owner mkdir -p "$SOCK"
  as_owner chmod 700 "$SOCK"
  if ! as_owner "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_owner "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
      -o "-p $PORT -k $SOCK -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200 $TUNING" start >/dev/null
  fi
  for _ in $(seq 1 60); do
    "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
    sleep 0.5
  done
  "$PGBIN/pg_isready" -h 127.0.0.1 -p "$PORT" >/dev/null || { cat "$LOG" >&2; exit 1; }
  [ -n "${STANDBY:-}" ] || secure  # a standby is read-only: it has the primary's roles and passwords
}

replica() {
  mkdir -p "$PGDIR"
  open_path
  if [ "$(id -u)" = 0 ]; then chown postgres: "$PGDIR"; fi
  # The standby has the primary's roles, so the primary's password file (HAZARD_PRIMARY_PASSFILE).
  cp "${HAZARD_PRIMARY_PASSFILE:?HAZARD_PRIMARY_PASSFILE is the primary cluster password file}" "$PASSFILE"
  chmod 600 "$PASSFILE"
  if [ ! -s "$DATA/PG_VERSION" ]; then
    as_owner env PGPASSWORD="$(password postgres)" "$PGBIN/pg_basebackup" -h 127.0.0.1 \
      -p "${HAZARD_PRIMARY_PORT:?HAZARD_PRIMARY_PORT is the primary cluster port}" -U postgres \
      -D "$DATA" -R -X stream -c fast
  fi
  STANDBY=1 start
}

case "${1:-}" in
  start) start ;;
  replica) replica ;;
  stop)
    if [ -s "$DATA/PG_VERSION" ]; then as_owner "$PGBIN/pg_ctl" -D "$DATA" -m fast stop || true; fi ;;
  status) as_owner "$PGBIN/pg_ctl" -D "$DATA" status ;;
  url) echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/$DBNAME?passfile=$PASSFILE" ;;
  app-url) echo "postgresql+psycopg://$APP_ROLE@127.0.0.1:$PORT/$DBNAME?passfile=$PASSFILE" ;;
  *) echo "usage: $0 start|replica|stop|status|url|app-url" >&2; exit 2 ;;
esac
