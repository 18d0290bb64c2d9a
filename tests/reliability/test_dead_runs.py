"""A run whose process was SIGKILLed stays STARTED and keeps its warehouse pool slot; the next lodestar run
must end it (FAILURE) and free the slot, and must leave alone runs whose process is alive."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from lodestar.settings import PROJECT_ROOT

# A one-op run in the warehouse pool, executed as the main-job runner does (in process, our owner tags),
# that holds its slot until it is killed. It says it holds the slot by creating a marker file: the op's
# stdout goes through Dagster's compute-log capture (redirected to a file and tailed back by `tail -F`),
# which under load can deliver the line late or not before the run ends.
HOLDER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    import dagster as dg
    from lodestar.deadruns import owner_tags

    @dg.op(pool="duckdb_warehouse")
    def hold():
        Path(os.environ["HOLDER_MARKER"]).write_text("holding")
        time.sleep(300)

    @dg.job
    def holder():
        hold()

    print("ready", flush=True)
    with dg.DagsterInstance.get() as instance:
        holder.execute_in_process(instance=instance, tags=owner_tags())
""")


def _instance_home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / ".dagster" / "dagster.yaml", home / "dagster.yaml")
    return home


def _start_holder(dagster_home: Path, until: str) -> subprocess.Popen:
    """The holder run in a subprocess, returned once it is ``until``: "ready" (about to start its run) or
    "holding" (its op has the pool slot)."""
    marker = dagster_home / f"holding-{time.monotonic_ns()}"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER],
                            env={**os.environ, "DAGSTER_HOME": str(dagster_home), "HOLDER_MARKER": str(marker)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    for line in proc.stdout:
        if line.strip() == "ready":
            break
    else:
        raise AssertionError(f"the holder never started its run (exit {proc.wait()})")
    if until == "ready":
        return proc
    deadline = time.monotonic() + 240
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"the holder run never took its slot (exit {proc.wait()}): {proc.stdout.read()}")
        time.sleep(0.1)
    return proc


def _run_of(instance, pid: int) -> str | None:
    return next((r.run_id for r in instance.get_runs() if r.tags.get("lodestar/pid") == str(pid)), None)


def test_a_killed_run_is_marked_failed_and_its_pool_slot_freed_and_a_live_run_is_left_alone(tmp_path, monkeypatch):
    import dagster as dg

    from lodestar.deadruns import end_dead_runs

    dagster_home = _instance_home(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    killed = _start_holder(dagster_home, "holding")
    os.killpg(killed.pid, signal.SIGKILL)  # the process group this test started, and nothing else
    killed.wait(timeout=30)
    live = _start_holder(dagster_home, "ready")
    try:
        with dg.DagsterInstance.get() as instance:
            deadline = time.monotonic() + 120
            while not any(s.run_id for s in instance.event_log_storage.get_concurrency_info(
                    "duckdb_warehouse").pending_steps if s.run_id != _run_of(instance, killed.pid)):
                assert time.monotonic() < deadline, "the live run never queued for the slot"
                time.sleep(0.2)
            runs = {r.tags["lodestar/pid"]: r for r in instance.get_runs()}
            dead_run, live_run = runs[str(killed.pid)], runs[str(live.pid)]
            assert dead_run.status == dg.DagsterRunStatus.STARTED  # the bug: nothing ended it
            info = instance.event_log_storage.get_concurrency_info("duckdb_warehouse")
            assert info.slot_count == 1
            assert {s.run_id for s in info.claimed_slots} == {dead_run.run_id}  # and it keeps the only slot
            assert {s.run_id for s in info.pending_steps} >= {live_run.run_id}  # which the live run waits for

            assert end_dead_runs(instance) == [dead_run.run_id]

            assert instance.get_run_by_id(dead_run.run_id).status == dg.DagsterRunStatus.FAILURE
            assert instance.get_run_by_id(live_run.run_id).status == dg.DagsterRunStatus.STARTED
            info = instance.event_log_storage.get_concurrency_info("duckdb_warehouse")
            assert dead_run.run_id not in {s.run_id for s in info.claimed_slots}
            assert end_dead_runs(instance) == []  # the live run is not judged dead
    finally:
        os.killpg(live.pid, signal.SIGKILL)
        live.wait(timeout=30)
