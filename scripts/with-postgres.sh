#!/usr/bin/env bash
# Runs a command against a throw-away PostgreSQL (Debian's pg_virtualenv, from
# postgresql-common: a fresh cluster on a free port, removed afterwards).
# Inside it: the owner role zorgpad_owner (owns the schema), the group role
# zorgpad_app and two login roles in it, zorgpad_a and zorgpad_b; the schema
# created by `zorgpad init` as the owner. The command gets
#   ZORGPAD_PG_URL        postgresql://zorgpad_a:…@host:port/zorgpad (an application role)
#   ZORGPAD_PG_URL_B      the same as zorgpad_b
#   ZORGPAD_PG_OWNER_URL  the owner's URL
#   ZORGPAD_PG_ADMIN      psql arguments of the superuser (for restarts and checks)
# Usage: scripts/with-postgres.sh ZORGPAD_BINARY COMMAND [ARGS…]
set -euo pipefail
zorgpad="$(realpath "$1")"; shift
export ZORGPAD_BIN="$zorgpad"
# Several at once (ctest -j): each cluster gets a free port of its own and its
# own pid file (every pg_virtualenv cluster is named "regress").
PGPORT="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export PGPORT
piddir="$(mktemp -d /tmp/zorgpad-pg.XXXXXX)"
chmod 777 "$piddir"
trap 'rm -rf "$piddir"' EXIT
pg_virtualenv -t -o 'max_connections=200' -o 'fsync=on' -o "external_pid_file=$piddir/postgres.pid" bash -c '
set -euo pipefail
psql -q -v ON_ERROR_STOP=1 -d postgres <<SQL
CREATE ROLE zorgpad_owner LOGIN PASSWORD '"'"'owner-pw'"'"';
CREATE ROLE zorgpad_app NOLOGIN;
CREATE ROLE zorgpad_a LOGIN PASSWORD '"'"'a-pw'"'"' IN ROLE zorgpad_app;
CREATE ROLE zorgpad_b LOGIN PASSWORD '"'"'b-pw'"'"' IN ROLE zorgpad_app;
CREATE DATABASE zorgpad OWNER zorgpad_owner;
SQL
base="postgresql://%s@${PGHOST:-localhost}:${PGPORT}/zorgpad"
host="${PGHOST:-localhost}"; case "$host" in /*) host="localhost";; esac
export ZORGPAD_PG_OWNER_URL="postgresql://zorgpad_owner:owner-pw@$host:$PGPORT/zorgpad"
export ZORGPAD_PG_URL="postgresql://zorgpad_a:a-pw@$host:$PGPORT/zorgpad"
export ZORGPAD_PG_URL_B="postgresql://zorgpad_b:b-pw@$host:$PGPORT/zorgpad"
"$ZORGPAD_BIN" --db "$ZORGPAD_PG_OWNER_URL" init --app-role zorgpad_app >/dev/null
exec "$@"
' with-postgres "$@"
