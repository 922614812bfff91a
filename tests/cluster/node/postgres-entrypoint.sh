#!/bin/sh
# The official postgres image's entrypoint, on this machine's Postgres:
# the first start makes the cluster in PGDATA with POSTGRES_USER (its
# password POSTGRES_PASSWORD) and POSTGRES_DB, and lets every host in with
# a password; then the server runs in the foreground. It listens on the
# pod's IP (the node stand-in passes it as STANDIN_POD_IP), which is what
# `listen_addresses='*'` reaches in a pod of its own.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
user="${POSTGRES_USER:-postgres}"
database="${POSTGRES_DB:-$user}"
socket=/var/run/postgresql

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "Error: Database is uninitialized and superuser password is not specified." >&2
    exit 1
  fi
  mkdir -p "$PGDATA" "$socket"
  chmod 700 "$PGDATA"
  password_file="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$password_file"
  initdb --username="$user" --pwfile="$password_file" -D "$PGDATA" \
    --auth-local=trust --auth-host=scram-sha-256
  rm -f "$password_file"
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=$socket" -w start
  if [ "$database" != postgres ]; then
    psql -v ON_ERROR_STOP=1 -h "$socket" -U "$user" -d postgres \
      -c "CREATE DATABASE \"$database\""
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop
  echo "PostgreSQL init process complete; ready for start up."
fi

if [ "${1:-}" = postgres ]; then
  exec "$@" -c "listen_addresses=${STANDIN_POD_IP:-localhost}" -c "unix_socket_directories=$socket"
fi
exec "$@"
