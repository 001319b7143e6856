#!/usr/bin/env bash
# Starts Debian's PostgreSQL for the tests on a loopback port (default 55432), with its own
# data folder, trust auth on loopback only, and fsync off (test data is throwaway).
# Idempotent: does nothing if it is already up. `scripts/postgres.sh stop` stops it.
set -euo pipefail
source "$(dirname "$0")/env.sh"
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$pg_bin" ] || { echo "postgres: not installed; run scripts/setup.sh" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-start}" = stop ]; then
  [ -f "$PG_DATA/postmaster.pid" ] && as_pg "$pg_bin/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null || true
  exit 0
fi
# `scripts/postgres.sh tidy`: drops the databases that earlier test and bench runs made on this
# server (each database test makes one and leaves it, to look at when it failed).
if [ "${1:-start}" = tidy ]; then
  psql=("$pg_bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qAt)
  for db in $("${psql[@]}" -c "SELECT datname FROM pg_database WHERE datname LIKE 'techbiz\_test\_%' OR datname LIKE 'techbiz\_bench\_%'"); do
    "${psql[@]}" -c "DROP DATABASE IF EXISTS $db" >/dev/null || true
  done
  exit 0
fi
if "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
  exit 0
fi
if [ ! -f "$PG_DATA/PG_VERSION" ]; then
  mkdir -p "$PG_DATA"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$PG_DATA"
  as_pg "$pg_bin/initdb" -D "$PG_DATA" -U postgres -A trust --no-sync -E UTF8 >/dev/null
fi
as_pg "$pg_bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 start -o \
  "-p $PG_PORT -c listen_addresses=127.0.0.1 -k /tmp -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
echo "postgres: up on 127.0.0.1:$PG_PORT"
