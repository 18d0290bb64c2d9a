"""SIGKILL a real `lodestar demo` while it lands (tiny company, landing assets only); the warehouse holds
no partial batch, the re-run ends the killed run and frees its pool slot instead of waiting for it, and
ends with exactly the tables, rows and keys of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
from conftest import SEED, TINY_SCALE, lodestar

from lodestar.settings import PROJECT_ROOT

# Two sources, two landing steps (POS references ERP): the kill lands inside the second one. Each step of a
# `dagster` multiprocess run starts its own interpreter, so every source more costs a process start.
ARGS = ["demo", "--scale", TINY_SCALE, "--seed", SEED, "--select", "group:erp or group:pos", "--history-weeks", "0"]
# Columns that differ between any two runs by design (when a batch ran, not what it landed).
RUN_COLUMNS = {"_batch_id", "_loaded_at", "_updated_at"}


def _tables(home: Path) -> dict[str, pd.DataFrame]:
    """Every raw table, run columns left out, rows sorted: what must be identical across runs."""
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' order by 1").fetchall()]
        out = {}
        for name in names:
            df = con.execute(f'select * from raw."{name}"').df()
            df = df.drop(columns=[c for c in df.columns if c in RUN_COLUMNS])
            out[name] = df.sort_values(list(df.columns)).reset_index(drop=True).astype(str)
        return out
    finally:
        con.close()


def _kill_during_landing(home: Path) -> int:
    """Start the demo, SIGKILL it just after the first source reported its landing (the run is then
    inside the next landing step); returns how many landing reports it saw."""
    dagster_home = home.parent / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text((PROJECT_ROOT / ".dagster" / "dagster.yaml").read_text())
    env = {**os.environ, "COLUMNS": "200", "LODESTAR_HOME": str(home), "DAGSTER_HOME": str(dagster_home)}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "lodestar"), *ARGS], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    started = 0
    try:
        for line in proc.stdout:
            if " land_" in line and " rows, " in line:  # "[  1/2]  9.1s  done   land_erp  +1,234 rows, 0 rejected"
                started += 1  # killed at once: the other source is still landing, or has just committed
                break
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the process group this test started, and nothing else
        proc.wait(timeout=60)
    return started


def test_a_run_killed_while_landing_leaves_no_partial_batch_and_a_rerun_matches_an_uninterrupted_run(
        tiny_home, tmp_path):
    import shutil

    clean_home = tmp_path / "clean" / "home"
    shutil.copytree(tiny_home / "demo", clean_home / "demo", symlinks=True)
    clean = lodestar(clean_home, *ARGS)
    assert clean.returncode in (0, 1), clean.stdout[-3000:]  # exit 1 only for failed checks, never a step
    assert "failed steps:" not in clean.stdout, clean.stdout[-3000:]
    want = _tables(clean_home)

    assert _kill_during_landing(tiny_home) == 1
    if (tiny_home / "warehouse.duckdb").exists():
        partial = _tables(tiny_home)
        # A source lands in one transaction: what the killed run left is whole tables, never part of one.
        for name, df in partial.items():
            if name.startswith("_"):
                continue
            assert df.equals(want[name]), f"raw.{name} holds a partial batch: {len(df)} of {len(want[name])} rows"
        assert len(partial) <= len(want)

    # Without the dead-run check the re-run would wait for the killed run's pool slot forever.
    again = lodestar(tiny_home, *ARGS, timeout=900)
    assert "failed steps:" not in again.stdout, again.stdout[-3000:]
    assert "was killed before it ended: marked failed, its pool slot freed" in again.stdout, again.stdout[-3000:]
    got = _tables(tiny_home)
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name].equals(want[name]), f"raw.{name}: {len(got[name])} rows vs {len(want[name])} uninterrupted"
