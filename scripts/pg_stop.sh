#!/usr/bin/env bash
# Stop (and with --rm delete) a cluster started by scripts/pg_start.sh.
set -euo pipefail
DATA_DIR=${1:?usage: pg_stop.sh <data_dir> [--rm]}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
if [ "$(id -u)" = 0 ]; then as_pg() { runuser -u postgres -- "$@"; }; else as_pg() { "$@"; }; fi
as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR/data" -m fast -w stop >/dev/null || true
if [ "${2:-}" = "--rm" ]; then rm -rf "$DATA_DIR"; fi
