#!/usr/bin/env bash
# Bring the production profile up on this machine, every server on 127.0.0.1:
#   PostgreSQL (Debian's binaries; a password-protected cluster under <profile>/pg),
#   two Dagster code servers, for the `lodestar` and `reports` code locations (orchestration.locations;
#   deploy/production/workspace.yaml points at them),
#   dagster-daemon (run queue, schedules, sensors, automation) and dagster-webserver, both on a PostgreSQL
#   instance (deploy/production/dagster.yaml), and an MLflow tracking server on a PostgreSQL backend store
#   with an artifact root under <profile>/mlflow-artifacts.
# Usage:  LODESTAR_PG_PASSWORD=... scripts/prod_up.sh [profile_dir]     (default .lodestar/production)
# Ports (defaults): LODESTAR_PROD_PG_PORT 5433, LODESTAR_PROD_DAGSTER_PORT 3000, LODESTAR_PROD_MLFLOW_PORT 5000,
# LODESTAR_PROD_CODE_PORT 4266, LODESTAR_PROD_REPORTS_CODE_PORT 4267. Writes <profile>/prod.env (no secret in it) to `source` before running
# `lodestar demo` or any client on the profile. Idempotent: a server already running is left alone.
# Stop everything with scripts/prod_down.sh [profile_dir]; the data stays in the profile.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROFILE=${1:-${LODESTAR_PROD_DIR:-$ROOT/.lodestar/production}}
: "${LODESTAR_PG_PASSWORD:?set LODESTAR_PG_PASSWORD: the profile\'s PostgreSQL password comes from the environment only}"
BIN=${LODESTAR_VENV_BIN:-$ROOT/.venv/bin}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL binaries not found: run scripts/install_system.sh as root (or set PG_BIN)" >&2; exit 2; }
[ -x "$BIN/dagster-daemon" ] || { echo "no Dagster in $BIN: run make test (installs the [production] extra)" >&2; exit 2; }
"$BIN/python" -c 'import dagster_postgres' 2>/dev/null \
  || { echo "dagster-postgres missing in $BIN: install the [production] extra (make test does)" >&2; exit 2; }

PG_PORT=${LODESTAR_PROD_PG_PORT:-5433}
DAGSTER_PORT=${LODESTAR_PROD_DAGSTER_PORT:-3000}
MLFLOW_PORT=${LODESTAR_PROD_MLFLOW_PORT:-5000}
CODE_PORT=${LODESTAR_PROD_CODE_PORT:-4266}
REPORTS_CODE_PORT=${LODESTAR_PROD_REPORTS_CODE_PORT:-4267}
PG_USER=lodestar

mkdir -p "$PROFILE"
PROFILE=$(cd "$PROFILE" && pwd)
RUN=$PROFILE/run LOGS=$PROFILE/logs PG_DIR=$PROFILE/pg
mkdir -p "$RUN" "$LOGS" "$PROFILE/dagster_home" "$PROFILE/compute_logs" "$PROFILE/mlflow-artifacts"

# --- PostgreSQL -------------------------------------------------------------------------------------------
# PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` system user.
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PG_DIR" && chown postgres: "$PG_DIR" && chmod 700 "$PG_DIR"
  runuser -u postgres -- test -x "$PG_DIR" \
    || { echo "the postgres user cannot reach $PG_DIR: make the profile's parent directories traversable (o+x)" >&2; exit 2; }
  as_pg() { runuser -u postgres -- "$@"; }
else
  mkdir -p "$PG_DIR" && chmod 700 "$PG_DIR"
  as_pg() { "$@"; }
fi
if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
  # The password reaches initdb through a file only the cluster's owner can read, removed right after.
  pwfile=$(mktemp "$PG_DIR/.pw.XXXXXX")
  trap 'rm -f "$pwfile"' EXIT
  printf '%s\n' "$LODESTAR_PG_PASSWORD" >"$pwfile"
  [ "$(id -u)" = 0 ] && chown postgres: "$pwfile"
  chmod 600 "$pwfile"
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U "$PG_USER" --pwfile="$pwfile" --auth=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$LOGS/initdb.log" 2>&1
  rm -f "$pwfile"
fi
if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=200" start >/dev/null
fi
export PGPASSWORD=$LODESTAR_PG_PASSWORD
for db in dagster mlflow; do
  exists=$("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc "select 1 from pg_database where datname = '$db'")
  [ "$exists" = 1 ] || "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$db"
done
# dagster-postgres reads the password from LODESTAR_PG_PASSWORD (its config says so); MLflow's driver
# (libpq) from PGPASSWORD. Neither is written to a file or a command line.

# --- environment every server (and `source prod.env`) shares ---------------------------------------------
export LODESTAR_PG_HOST=127.0.0.1 LODESTAR_PG_PORT=$PG_PORT LODESTAR_PG_USER=$PG_USER LODESTAR_PG_DATABASE=lodestar
export LODESTAR_DAGSTER_PG_DB=dagster LODESTAR_DAGSTER_LOG_DIR=$PROFILE/compute_logs LODESTAR_CODE_PORT=$CODE_PORT \
  LODESTAR_REPORTS_CODE_PORT=$REPORTS_CODE_PORT
export DAGSTER_HOME=$PROFILE/dagster_home
export MLFLOW_TRACKING_URI=http://127.0.0.1:$MLFLOW_PORT
export DBT_PROFILES_DIR=${DBT_PROFILES_DIR:-$ROOT/dbt_project}
export PATH=$BIN:$PATH
export DBT_SEND_ANONYMOUS_USAGE_STATS=false DO_NOT_TRACK=1 RUNTIME__DLTHUB_TELEMETRY=false \
  MLFLOW_DISABLE_TELEMETRY=true DAGSTER_DISABLE_TELEMETRY=true MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false
cp "$ROOT/deploy/production/dagster.yaml" "$DAGSTER_HOME/dagster.yaml"
cat >"$PROFILE/prod.env" <<EOF
# Production profile at $PROFILE (written by scripts/prod_up.sh). Export LODESTAR_PG_PASSWORD yourself.
export LODESTAR_PG_HOST=127.0.0.1 LODESTAR_PG_PORT=$PG_PORT LODESTAR_PG_USER=$PG_USER LODESTAR_PG_DATABASE=lodestar
export LODESTAR_DAGSTER_PG_DB=dagster LODESTAR_DAGSTER_LOG_DIR=$PROFILE/compute_logs LODESTAR_CODE_PORT=$CODE_PORT \
  LODESTAR_REPORTS_CODE_PORT=$REPORTS_CODE_PORT
export DAGSTER_HOME=$DAGSTER_HOME
export MLFLOW_TRACKING_URI=$MLFLOW_TRACKING_URI
export LODESTAR_DAGSTER_URL=http://127.0.0.1:$DAGSTER_PORT
EOF
# Loading the code location never runs dbt: its manifest is prepared by set-up (make), or here if missing.
if [ ! -f "$ROOT/dbt_project/target/manifest.json" ]; then
  (cd "$ROOT" && "$BIN/dagster-dbt" project prepare-and-package --file orchestration/lib/dbt.py >"$LOGS/dbt_prepare.log" 2>&1) \
    || { echo "preparing the dbt manifest failed, see $LOGS/dbt_prepare.log" >&2; exit 1; }
fi
# Create (or upgrade) the instance's tables once, before two servers race to do it.
(cd "$ROOT" && "$BIN/dagster" instance migrate >"$LOGS/migrate.log" 2>&1) \
  || { echo "dagster instance migrate failed, see $LOGS/migrate.log" >&2; exit 1; }
(cd "$ROOT" && "$BIN/dagster" instance concurrency set duckdb_warehouse 1 >>"$LOGS/migrate.log" 2>&1)

# --- servers: each in its own session, so prod_down.sh stops it with its children by its process group ----
start() {  # start NAME COMMAND...
  local name=$1; shift
  if [ -f "$RUN/$name.pid" ] && kill -0 "$(cat "$RUN/$name.pid")" 2>/dev/null; then
    echo "$name already running (pid $(cat "$RUN/$name.pid"))"
    return
  fi
  (cd "$ROOT" && exec setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null) &
  echo $! >"$RUN/$name.pid"
}
wait_for() {  # wait_for NAME SECONDS CHECK...
  local name=$1 secs=$2; shift 2
  for _ in $(seq "$secs"); do
    "$@" >/dev/null 2>&1 && return 0
    kill -0 "$(cat "$RUN/$name.pid")" 2>/dev/null || { echo "$name exited; see $LOGS/$name.log" >&2; tail -20 "$LOGS/$name.log" >&2; exit 1; }
    sleep 1
  done
  echo "$name not ready after ${secs}s; see $LOGS/$name.log" >&2
  exit 1
}

start mlflow env PGPASSWORD="$LODESTAR_PG_PASSWORD" "$BIN/mlflow" server \
  --backend-store-uri "postgresql+psycopg2://$PG_USER@127.0.0.1:$PG_PORT/mlflow" \
  --artifacts-destination "$PROFILE/mlflow-artifacts" --serve-artifacts \
  --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 1
start code_server "$BIN/dagster" code-server start -h 127.0.0.1 -p "$CODE_PORT" -m orchestration.locations -a core \
  --location-name lodestar
start code_server_reports "$BIN/dagster" code-server start -h 127.0.0.1 -p "$REPORTS_CODE_PORT" \
  -m orchestration.locations -a reports --location-name reports
wait_for code_server 240 "$BIN/dagster" api grpc-health-check -p "$CODE_PORT"
wait_for code_server_reports 240 "$BIN/dagster" api grpc-health-check -p "$REPORTS_CODE_PORT"
start daemon "$BIN/dagster-daemon" run -w "$ROOT/deploy/production/workspace.yaml"
start webserver "$BIN/dagster-webserver" -w "$ROOT/deploy/production/workspace.yaml" -h 127.0.0.1 -p "$DAGSTER_PORT"
wait_for mlflow 180 curl -fsS "http://127.0.0.1:$MLFLOW_PORT/health"
wait_for webserver 180 curl -fsS "http://127.0.0.1:$DAGSTER_PORT/server_info"
echo "production profile up at $PROFILE:"
echo "  Dagster  http://127.0.0.1:$DAGSTER_PORT   MLflow  $MLFLOW_TRACKING_URI   PostgreSQL 127.0.0.1:$PG_PORT"
echo "  source $PROFILE/prod.env   # then lodestar demo, dagster job launch, ... run on it"
