"""Progress a person can follow while the main job runs in process: one line per finished step (steps done
of total, elapsed time, rows landed and rejected), the running steps on a status line, and Dagster's and
dbt's full log in a file instead of the terminal.

The run's events are read from the Dagster instance's event log by a background thread while
``execute_in_process`` runs in the calling thread; the full log is what the run's console logger and
anything else in this process writes to stdout / stderr, redirected to the log file for the run's duration.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console


@dataclass
class Progress:
    """What the watcher has seen of one run so far."""

    total: int | None = None
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    running: set[str] = field(default_factory=set)
    rows_landed: int = 0
    rows_rejected: int = 0
    warnings: list[str] = field(default_factory=list)  # a landing feed that matched no file (its folder, pattern)


def _step_total(instance: Any, run_id: str) -> int | None:
    run = instance.get_run_by_id(run_id)
    if run is None:
        return None
    if run.step_keys_to_execute:
        return len(run.step_keys_to_execute)
    if run.execution_plan_snapshot_id:
        snap = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
        keys = snap.step_keys_to_execute or [s.key for s in snap.steps]
        return len(keys)
    return None


def _new_rows() -> dict:
    return {"landed": 0, "rejected": 0, "assets": 0, "warnings": []}


def _meta_int(metadata: dict, name: str) -> int:
    value = metadata.get(name)
    raw = getattr(value, "value", value)
    return int(raw) if isinstance(raw, int | float) else 0


class RunWatcher:
    """Polls the event log of ``run_id`` and reports each finished step through ``report``."""

    def __init__(self, instance: Any, run_id: str, report: Callable[[Progress, str, str, dict], None],
                 interval: float = 0.5):
        self.instance, self.run_id, self.report, self.interval = instance, run_id, report, interval
        self.progress = Progress()
        self._stop = threading.Event()
        self._cursor: str | None = None
        self._step_rows: dict[str, dict] = {}
        self._thread = threading.Thread(target=self._loop, name="lodestar-progress", daemon=True)

    def __enter__(self) -> RunWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.poll()  # whatever arrived after the last tick

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(Exception):  # the run may not be stored yet; the next tick retries
                self.poll()

    def poll(self) -> None:
        from dagster._core.events import DagsterEventType

        p = self.progress
        if p.total is None:
            p.total = _step_total(self.instance, self.run_id)
        conn = self.instance.get_records_for_run(self.run_id, cursor=self._cursor, limit=1000)
        self._cursor = conn.cursor
        for record in conn.records:
            entry = record.event_log_entry
            event = entry.dagster_event
            if event is None:
                continue
            step = event.step_key or ""
            kind = event.event_type
            if kind == DagsterEventType.STEP_START:
                p.running.add(step)
            elif kind == DagsterEventType.ASSET_MATERIALIZATION:
                meta = event.event_specific_data.materialization.metadata
                rows = self._step_rows.setdefault(step, _new_rows())
                rows["assets"] += 1
                if "rows_accepted" in meta:
                    rows["landed"] += _meta_int(meta, "rows_accepted")
                    rows["rejected"] += _meta_int(meta, "rows_rejected")
                if "warning" in meta:  # e.g. a drop folder that is missing or matches no file
                    rows["warnings"].append(str(getattr(meta["warning"], "value", meta["warning"])))
            elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
                p.running.discard(step)
                rows = self._step_rows.pop(step, _new_rows())
                p.rows_landed += rows["landed"]
                p.rows_rejected += rows["rejected"]
                p.warnings += rows["warnings"]
                (p.done if kind == DagsterEventType.STEP_SUCCESS else p.failed).append(step)
                self.report(p, step, "done" if kind == DagsterEventType.STEP_SUCCESS else "FAILED", rows)


def new_log_file(home: Path, label: str) -> Path:
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs / f"{label}-{time.strftime('%Y%m%d-%H%M%S')}.log"


@contextlib.contextmanager
def followed(instance: Any, run_id: str, console: Console, log_file: Path) -> Iterator[RunWatcher]:
    """Show progress of ``run_id`` on ``console`` and send this process's stdout/stderr to ``log_file``."""
    started = time.perf_counter()
    # Bound to the terminal now: inside the redirect below, sys.stdout is the log file.
    console = Console(file=sys.stdout, width=console.width, force_terminal=console.is_terminal or None)
    status = console.status("starting ...") if console.is_terminal else contextlib.nullcontext()

    def report(p: Progress, step: str, outcome: str, rows: dict) -> None:
        n = len(p.done) + len(p.failed)
        total = f"{p.total}" if p.total else "?"
        extra = f"  +{rows['landed']:,} rows, {rows['rejected']:,} rejected" if rows["landed"] or rows["rejected"] else ""
        style = "red" if outcome == "FAILED" else "green"
        warned = f"  [yellow]{len(rows['warnings'])} warning(s)[/]" if rows.get("warnings") else ""
        console.print(f"[{n:>3}/{total}] {time.perf_counter() - started:7.1f}s  [{style}]{outcome:<6}[/] {step}{extra}{warned}")
        for text in rows.get("warnings", []):
            console.print(f"          [yellow]warning:[/] {text}", highlight=False, soft_wrap=True)
        if hasattr(status, "update"):
            running = ", ".join(sorted(p.running)) or "-"
            status.update(f"{n}/{total} steps, {p.rows_landed:,} rows landed, {p.rows_rejected:,} rejected; "
                          f"running: {running}")

    # Line-buffered: `tail -f` (or a test waiting for a dbt model to start) sees each line as it is written.
    with log_file.open("a", encoding="utf-8", buffering=1) as fh, status:
        watcher = RunWatcher(instance, run_id, report)
        with watcher, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
            yield watcher
