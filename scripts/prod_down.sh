#!/usr/bin/env bash
# Take the production profile down: stop the Dagster webserver, daemon and code server, the MLflow server
# (each by its own process group, recorded by scripts/prod_up.sh) and the PostgreSQL cluster. The data
# (runs, MLflow store, artifacts) stays in the profile directory.
# Usage: scripts/prod_down.sh [profile_dir]     (default .lodestar/production)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROFILE=${1:-${LODESTAR_PROD_DIR:-$ROOT/.lodestar/production}}
[ -d "$PROFILE" ] || { echo "no production profile at $PROFILE" >&2; exit 0; }
RUN=$PROFILE/run PG_DIR=$PROFILE/pg
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

stop() {  # stop NAME: SIGTERM to the server's process group, SIGKILL after 30 s
  local name=$1 pid
  [ -f "$RUN/$name.pid" ] || return 0
  pid=$(cat "$RUN/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; }
    # Run workers the daemon launched belong to the same group; give them the same end.
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$RUN/$name.pid"
  echo "stopped $name (${SECONDS}s)"
}
# Clients first (webserver, daemon), then what they talk to.
for name in webserver daemon code_server code_server_reports mlflow; do stop "$name"; done

if [ -f "$PG_DIR/data/PG_VERSION" ]; then
  if [ "$(id -u)" = 0 ]; then as_pg() { runuser -u postgres -- "$@"; }; else as_pg() { "$@"; }; fi
  if as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
    echo "stopped postgresql"
  fi
fi
