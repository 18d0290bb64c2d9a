"""Readers never make a run fail: `lodestar sql` and the DuckDB client the README invites read the published
snapshot (lodestar.readpath), never the pipeline's warehouse file. Measured before this: a read-only client held
open on the warehouse for 75 s made the POS landing fail after 57 s with `Could not set lock on file`."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from kills import SEED, TINY_SCALE
from subprocess_env import LODESTAR_CLI, lodestar, lodestar_env

from lodestar.warehouse import Warehouse

# A DuckDB client as an analyst would hold it: opened read-only on a path, querying every 0.2 s until its
# stdin closes; it prints "open" once connected and the number of queries that succeeded at the end.
HOLDER = """
import sys, threading, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("open", flush=True)
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
n = 0
while not done.is_set():
    con.execute("select count(*) from information_schema.tables").fetchone()
    n += 1
    time.sleep(0.2)
print(n, flush=True)
"""


class Holder:
    """A reader process holding ``path`` open read-only."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        assert line == "open", self.proc.stderr.read()

    def close(self) -> int:
        """Let go; the number of queries that succeeded while it was held."""
        out, err = self.proc.communicate(input="", timeout=60)
        assert self.proc.returncode == 0, err
        return int(out.strip())


def _probe_warehouse(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists marts; create or replace table marts.probe as select 1 as x")
    con.close()
    return path


def test_a_reader_on_the_live_warehouse_blocks_a_writer_which_is_why_readers_use_the_snapshot(tmp_path):
    """The control: what the read path avoids. A read-only client on the warehouse file itself makes a writer
    fail with DuckDB's lock error, so a test of readers that opened the live file would fail."""
    path = _probe_warehouse(tmp_path / "home")
    holder = Holder(path)
    try:
        with pytest.raises(Exception, match="lock"), Warehouse(path, lock_timeout=1.0).connect():
            pass
    finally:
        holder.close()


def test_lodestar_sql_and_the_snapshot_path_never_open_the_warehouse(tmp_path):
    home = tmp_path / "home"
    path = _probe_warehouse(home)
    first = lodestar(home, "snapshot")  # no snapshot yet: one is published from the warehouse
    assert first.returncode == 0, first.stderr
    snap = Path(first.stdout.strip())
    assert snap.parent == home / "snapshots" and snap.is_file(), first.stdout
    # A writer holds the warehouse right now (a run landing or dbt building): any opener of the file would
    # fail or wait; `lodestar sql` answers from the snapshot at once.
    writer = duckdb.connect(str(path))
    try:
        writer.execute("create table marts.added_after as select 2 as y")
        run = lodestar(home, "sql", "select x from marts.probe")
        assert run.returncode == 0, run.stderr
        assert "1" in run.stdout and f"snapshot {snap.name.removeprefix('warehouse-').removesuffix('.duckdb')}" \
            in run.stdout, run.stdout
        # ... and it reads the snapshot, not the file being written: the new table is not there yet.
        unseen = lodestar(home, "sql", "select y from marts.added_after")
        assert unseen.returncode == 2 and "added_after" in unseen.stderr, unseen.stdout + unseen.stderr
    finally:
        writer.close()
    fresh = lodestar(home, "sql", "--fresh", "select y from marts.added_after")  # published after the write
    assert fresh.returncode == 0 and "2" in fresh.stdout, fresh.stderr
    assert lodestar(home, "snapshot").stdout.strip() != str(snap)


def test_readers_held_open_during_a_landing_run_never_make_it_fail(tiny_home):
    """The measured failure, redone through the read path: an analyst's DuckDB client holds the snapshot
    `lodestar snapshot` names for the whole ERP and POS landing while `lodestar sql` queries it; the landing steps
    all succeed, the reader never errs, and the run's rows reach readers with the snapshot published after it."""
    _probe_warehouse(tiny_home)
    snap = Path(lodestar(tiny_home, "snapshot").stdout.strip())
    holder = Holder(snap)
    sql_runs = []
    try:
        run = subprocess.Popen(
            [str(LODESTAR_CLI), "demo", "--scale", TINY_SCALE, "--seed", SEED,
             "--select", "key:raw/erp_* or key:raw/pos_*", "--history-weeks", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=lodestar_env(tiny_home))
        started = time.monotonic()
        while run.poll() is None and len(sql_runs) < 3:
            sql_runs.append(lodestar(tiny_home, "sql", "select x from marts.probe"))
        out, _ = run.communicate(timeout=1200)
        seconds = time.monotonic() - started
    finally:
        held_queries = holder.close()
    assert run.returncode == 0, out[-3000:]
    assert "Could not set lock" not in out and "failed steps:" not in out, out[-3000:]
    assert "cockpit snapshot published" in out, out[-3000:]  # every landing step succeeded
    assert sql_runs and all(r.returncode == 0 and "snapshot" in r.stdout for r in sql_runs), \
        [(r.returncode, r.stderr[-500:]) for r in sql_runs]
    assert held_queries >= 5, (held_queries, seconds)  # the client kept reading through the run
    after = lodestar(tiny_home, "sql", "select (select count(*) from raw.pos_scans) > 0 as landed")
    assert after.returncode == 0 and "True" in after.stdout, after.stdout + after.stderr
