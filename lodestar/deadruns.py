"""Ends the main-job runs whose process died (SIGKILL, OOM, a closed laptop) so they stop holding the
warehouse pool.

`lodestar demo`/`lodestar run` execute Dagster runs in their own process. A process killed mid-run never
writes the run's end event: the run stays STARTED in the instance and keeps its `duckdb_warehouse` slot, and
with the pool at 1 every later run waits for that slot forever. Each run we start is tagged with the pid,
its start time and the host (:func:`owner_tags`); before starting a run, :func:`end_dead_runs` marks failed
every STARTED run of this host whose process is gone, and frees the slots of every finished run that
still holds one. Runs of other hosts and runs started without our tags (the daemon's, the UI's) are left to
Dagster's own run monitoring.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

PID_TAG = "lodestar/pid"
PID_STARTED_TAG = "lodestar/pid_started"
HOST_TAG = "lodestar/host"


def process_started(pid: int) -> str | None:
    """The kernel's start time of process ``pid`` (clock ticks since boot, /proc/<pid>/stat field 22), or
    None when no such process runs. With the pid it names one process: a recycled pid has another start time."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return ""  # no /proc access: the pid alone has to do
    # The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
    return stat.rsplit(")", 1)[1].split()[19]


def owner_tags() -> dict[str, str]:
    """Run tags naming the process that executes the run (this one)."""
    pid = os.getpid()
    return {PID_TAG: str(pid), PID_STARTED_TAG: process_started(pid) or "", HOST_TAG: socket.gethostname()}


def process_alive(pid: int | str | None, recorded_start: str) -> bool:
    """Whether process ``pid`` that started at ``recorded_start`` (:func:`process_started`; "" = unknown) still
    runs; a pid that is not a number is not ours to judge (alive)."""
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        return True
    started = process_started(pid)
    if started is None:
        return False
    return not (started and recorded_start) or started == recorded_start


def _alive(tags: dict[str, str]) -> bool:
    return process_alive(tags.get(PID_TAG), tags.get(PID_STARTED_TAG, ""))


def end_dead_runs(instance) -> list[str]:
    """Mark failed the STARTED/STARTING/CANCELING runs this host's dead processes left, and free the
    concurrency slots of every finished run still holding one; returns the run ids marked failed."""
    from dagster import DagsterRunStatus, RunsFilter
    from dagster._core.storage.dagster_run import FINISHED_STATUSES

    host = socket.gethostname()
    ended: list[str] = []
    running = instance.get_runs(filters=RunsFilter(
        statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.CANCELING],
        tags={HOST_TAG: host}))
    for run in running:
        if run.tags.get(PID_TAG) is None or _alive(run.tags):
            continue
        instance.report_run_failed(
            run, message=f"the process that ran this run (pid {run.tags[PID_TAG]} on {host}) is gone: "
                         "it was killed before the run ended; marked failed by the next lodestar run")
        ended.append(run.run_id)
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        holders = storage.get_concurrency_run_ids()
        if holders:
            for record in instance.get_run_records(filters=RunsFilter(run_ids=list(holders),
                                                                      statuses=list(FINISHED_STATUSES))):
                storage.free_concurrency_slots_for_run(record.dagster_run.run_id)
    return ended
