#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on 127.0.0.1 at a free port, owned by a non-root user.
# Usage: scripts/pg_start.sh <data_dir>   ->   prints "export LODESTAR_PG_...=..." lines to eval.
# Stop it with scripts/pg_stop.sh <data_dir>. PostgreSQL refuses to run as root, so as root the cluster
# runs as the `postgres` system user (runuser); otherwise as the calling user.
set -euo pipefail
DATA_DIR=${1:?usage: pg_start.sh <data_dir>}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL binaries not found (set PG_BIN)" >&2; exit 2; }
PORT=${LODESTAR_PG_PORT_WANTED:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
mkdir -p "$DATA_DIR"
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$DATA_DIR"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi
as_pg "$PG_BIN/initdb" -D "$DATA_DIR/data" -U lodestar --auth=trust -E UTF8 --locale=C.UTF-8 >"$DATA_DIR/initdb.log" 2>&1
as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR/data" -l "$DATA_DIR/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null
as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PORT" -U lodestar lodestar
echo "export LODESTAR_PG_HOST=127.0.0.1 LODESTAR_PG_PORT=$PORT LODESTAR_PG_USER=lodestar LODESTAR_PG_DATABASE=lodestar"
