#!/usr/bin/env bash
# Start a private PostgreSQL server on 127.0.0.1 for the tests and write its
# SQLAlchemy URL to .ci/.pg_url.  Runs as the 'postgres' system user because
# the server refuses to run as root.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
DATA="$(mktemp -d /tmp/course-pg.XXXXXX)"
chown postgres "$DATA"
# first free port from 54329 up, so a server left running elsewhere is no obstacle
PORT=54329
while (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do PORT=$((PORT + 1)); done
cd /  # the postgres user cannot enter the checkout's folders
runuser -u postgres -- "$PG_BIN/initdb" -D "$DATA" -A trust -U postgres >/dev/null
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$DATA -c max_connections=200" start
echo "postgresql://postgres@127.0.0.1:$PORT/postgres" > "$HERE/.pg_url"
echo "PostgreSQL running on 127.0.0.1:$PORT (data in $DATA)"
