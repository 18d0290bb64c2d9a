"""Killed runs, one place for the test (``tests/reliability/test_killed_runs.py``) and the measured table
(``bench/reliability.py``): SIGKILL a real `lodestar demo` at three points of the main job, in one home, one
after the other: while a landing batch is open, while `dbt build` materialises a mart, and while the forecast
is written; then run it once more. An uninterrupted run of the same selection in a fresh home (the baseline)
runs beside the kills, in a thread: the two homes share nothing, and the kills need it only once they are done.

The kill points are observable effects, nothing test-only in the code under test:
- landing and the forecast write are batches of :meth:`lodestar.warehouse.Warehouse.batch`, which names each
  open batch in ``<warehouse>.batches/<batch id>.json`` from BEGIN until COMMIT returned: the run is killed as
  soon as the batch it waits for appears there, and the checks look afterwards that none of that batch's rows
  is visible (so the kill did come before the commit);
- dbt's progress lines go, one by one, to the run's log file (``$LODESTAR_HOME/logs``): the run is killed when
  dbt reports it has started building a table in ``marts``.

What "the same" means (:func:`same`): every relation of every schema exists in both (no leftover
``__dbt_tmp`` / ``__dbt_backup``); every table of ``raw`` and ``marts`` has the same rows, compared as sorted
text with the columns that record when or by which run a row was written left out (RUN_COLUMNS); floats of
the forecast to 1e-9 relative. ``raw.forecast_runs`` has a row per training run by design (the run killed
while writing the forecast had trained too), so its distinct rows are compared.

Each ``*_problems`` function says what broke a guarantee ([] when none did): the test asserts it is empty, the
bench counts a case survived when it is.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from subprocess_env import LODESTAR_CLI, lodestar_env

from lodestar.settings import PROJECT_ROOT

# The tiny company of the reliability tests and of the killed-run bench.
TINY_SCALE = "0.02"
SEED = "20261127"
# The forecast and everything upstream of it: the landing sources the training features need, their dbt models,
# training, promotion and the forecast write. Nothing downstream (forecast marts, intel, cockpit, reports).
ARGS = ["demo", "--scale", TINY_SCALE, "--seed", SEED, "--history-weeks", "0",
        "--select", '+key:"raw/forecast_predictions"']
# Columns that differ between any two runs by design: when a batch ran, which run wrote a row, the model version
# that run registered (the same model: the re-run's challenger scores the same and does not replace @champion).
RUN_COLUMNS = {"_batch_id", "_loaded_at", "_updated_at", "run_id", "model_version", "created_at", "trained_at"}
ONE_ROW_PER_TRAINING = {"forecast_runs"}
FORECAST_TABLES = ("raw.forecast_levels", "raw.forecast_predictions")
# Raw tables written by steps that need dbt's models (not by the landing): missing when dbt was killed.
WRITTEN_AFTER_DBT = {"raw.intel_note_sentiment", "raw.forecast_runs", *FORECAST_TABLES}
# The landing batch killed: ERP's, the biggest source (its transaction stays open longest) and not the first.
LANDING_BATCH = "erp-"
LANDING_STEP = "land_erp"
FORECAST_BATCH = "forecast-"
FORECAST_STEP = "forecast_demand"
FORECAST_BATCH_WHAT = "(raw.forecast_predictions, raw.forecast_levels)"  # how the re-run names that open batch
DBT_MART_STARTED = re.compile(r"START sql table model marts\.(\w+)")
DONE = re.compile(r"^\[\s*\d+/\d+\]\s+[\d.]+s\s+done\s+(\S+)")  # a progress line of lodestar.progress
TIMEOUT = 1800.0  # one run; measured up to 20 min on 2 cores shared by six test runs
DEAD_RUN_ENDED = "was killed before it ended: marked failed, its pool slot freed"


def tiny_company_at(demo: Path) -> Path:
    """Generate the tiny demo company (TINY_SCALE, SEED) into ``demo``; copy it, never write into it."""
    from lodestar.demo.generator import generate

    generate(demo, scale=float(TINY_SCALE), seed=int(SEED))
    return demo


# ---------- what a warehouse holds


def _relations(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in con.execute(
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_catalog = current_database() order by 1, 2").fetchall()]


def _http_tables() -> set[str]:
    """The raw tables of HTTP feeds: each re-run asks for the records updated since the stored cursor, which the
    API answers with the newest one again; merged by key, it keeps its place in that (shorter) fetch as
    ``_source_row``, so there that column says which run fetched a record last, like _loaded_at."""
    from connectors.contracts import discover_http_contracts

    feeds, _ = discover_http_contracts(PROJECT_ROOT / "connectors" / "http")
    return {f.table_name for f in feeds} | {f.rejects_table for f in feeds}


def _frame(con: duckdb.DuckDBPyConnection, schema: str, name: str, http: set[str]) -> pd.DataFrame:
    df = con.execute(f'select * from {schema}."{name}"').df()
    run_columns = RUN_COLUMNS | ({"_source_row"} if schema == "raw" and name in http else set())
    df = df.drop(columns=[c for c in df.columns if c in run_columns])
    if name in ONE_ROW_PER_TRAINING:
        df = df.drop_duplicates()
    return df.sort_values(list(df.columns)).reset_index(drop=True) if len(df.columns) else df


@dataclass
class State:
    """What a warehouse holds: its relations, and the rows of its raw and marts tables."""

    relations: list[tuple[str, str, str]]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # "raw.erp_orders" -> rows

    def marts(self) -> dict[str, pd.DataFrame]:
        return {n: df for n, df in self.tables.items() if n.startswith("marts.")}


def state(home: Path) -> State:
    path = home / "warehouse.duckdb"
    if not path.exists():
        return State([])
    http = _http_tables()
    con = duckdb.connect(str(path), read_only=True)
    try:
        relations = _relations(con)
        tables = {f"{s}.{n}": _frame(con, s, n, http) for s, n, kind in relations
                  if s in ("raw", "marts") and kind == "BASE TABLE"}
        return State(relations, tables)
    finally:
        con.close()


def same(got: pd.DataFrame, want: pd.DataFrame) -> bool:
    """The same rows: text-equal, floats equal to 1e-9 relative (the forecast's sums in another order)."""
    if list(got.columns) != list(want.columns) or len(got) != len(want):
        return False
    floats = [c for c in want.columns if pd.api.types.is_float_dtype(want[c])]
    rest = [c for c in want.columns if c not in floats]
    if not got[rest].astype(str).equals(want[rest].astype(str)):
        return False
    return all(np.allclose(got[c].to_numpy(float), want[c].to_numpy(float), rtol=1e-9, atol=1e-12, equal_nan=True)
               for c in floats)


def differences(got: State, want: State, only: str | None = None) -> list[str]:
    """Why ``got`` is not ``want`` (of the tables whose name starts with ``only``, if given); [] when the same."""
    out = []
    names = sorted(n for n in want.tables if only is None or n.startswith(only))
    for name in names:
        if name not in got.tables:
            out.append(f"{name} missing")
        elif not same(got.tables[name], want.tables[name]):
            out.append(f"{name}: {len(got.tables[name])} rows vs {len(want.tables[name])} uninterrupted")
    out += [f"{n} not in an uninterrupted run" for n in sorted(got.tables) if n not in want.tables
            and (only is None or n.startswith(only))]
    return out


def leftovers(s: State) -> list[str]:
    return [f"{sch}.{n}" for sch, n, _ in s.relations if n.endswith(("__dbt_tmp", "__dbt_backup"))]


def _row_texts(df: pd.DataFrame) -> Counter:
    """A table's rows as a multiset of texts, floats to 9 significant digits (see :func:`same`)."""
    cols = [df[c].map(lambda v: f"{v:.9g}") if pd.api.types.is_float_dtype(df[c]) else df[c].astype(str)
            for c in df.columns]
    return Counter(zip(*cols, strict=True)) if cols else Counter()


def row_balance(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame]) -> tuple[int, int]:
    """(rows lost, rows duplicated) of the tables ``got`` against ``want``, row by row: a row of ``want`` missing
    from ``got`` is lost (a whole missing table: all its rows), a row of ``got`` beyond ``want``'s is duplicated."""
    lost = duplicated = 0
    for name in set(want) | set(got):
        g = _row_texts(got[name]) if name in got else Counter()
        w = _row_texts(want[name]) if name in want else Counter()
        lost += sum((w - g).values())
        duplicated += sum((g - w).values())
    return lost, duplicated


# ---------- runs, and the kill points they are killed at


@dataclass
class Run:
    """One `lodestar demo ARGS`: its output lines (with the seconds since it started), exit code, wall seconds;
    for a killed run, what it had reached when killed (the batch record or the mart it saw)."""

    lines: list[tuple[float, str]]
    returncode: int | None
    seconds: float
    reached: str | None = None

    @property
    def output(self) -> str:
        return "".join(line for _, line in self.lines)

    def done_at(self, step: str) -> float | None:
        """Seconds from the start until the progress line said ``step`` was done (its last, if more than one)."""
        return next((t for t, line in reversed(self.lines) if (m := DONE.match(line)) and m.group(1) == step), None)

    def dbt_done_at(self) -> float | None:
        """Seconds until the last of its dbt steps was done: every model of the selection built."""
        return next((t for t, line in reversed(self.lines) if (m := DONE.match(line))
                     and m.group(1).startswith("dbt_build")), None)


def run_demo(home: Path, reached=None) -> Run:
    """`lodestar demo ARGS` in ``home``; with ``reached``, SIGKILL its process group as soon as ``reached()``
    returns something (polled every few ms): the batch id or the mart it saw. Raises if the run ends before it,
    or if a process of the killed run survives."""
    started = time.monotonic()
    proc = subprocess.Popen([str(LODESTAR_CLI), *ARGS], env=lodestar_env(home), text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    lines: list[tuple[float, str]] = []
    reader = threading.Thread(target=lambda: lines.extend((time.monotonic() - started, line) for line in proc.stdout),
                              daemon=True)  # the pipe never fills
    reader.start()
    seen = None
    deadline = started + TIMEOUT
    try:
        while reached is not None and seen is None and proc.poll() is None and time.monotonic() < deadline:
            seen = reached()
            if seen is None:
                time.sleep(0.003)
        if reached is None:
            proc.wait(timeout=TIMEOUT)
    finally:
        if reached is not None or proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the process group this started (the demo and its dbt), no other
        proc.wait(timeout=60)
        reader.join(timeout=10)
    run = Run(lines, proc.returncode, time.monotonic() - started, seen)
    if reached is None:
        return run
    if seen is None:
        raise RuntimeError(f"the run ended (rc {proc.returncode}) before the kill point:\n{run.output[-3000:]}")
    # dbt runs in the demo's process group: nothing of the killed run is left writing the warehouse (SIGKILLed
    # processes are gone once their parents, themselves killed, no longer hold them as zombies).
    gone = time.monotonic() + 30
    while _group_alive(proc.pid) and time.monotonic() < gone:
        time.sleep(0.1)
    if _group_alive(proc.pid):
        raise RuntimeError("a process of the killed run survived SIGKILL")
    return run


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies waiting for init to reap them do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def batch_opened(home: Path, prefix: str):
    batches = home / "warehouse.duckdb.batches"

    def reached() -> str | None:
        try:
            names = os.listdir(batches)
        except FileNotFoundError:
            return None
        return next((n for n in names if n.startswith(prefix) and n.endswith(".json")), None)

    return reached


def dbt_building_a_mart(home: Path):
    logs = home / "logs"
    offsets: dict[Path, int] = {}

    def reached() -> str | None:
        for log in logs.glob("demo-*.log") if logs.is_dir() else []:
            with log.open("rb") as fh:
                fh.seek(offsets.get(log, 0))
                chunk = fh.read()
            text = chunk[: chunk.rfind(b"\n") + 1]  # whole lines only; the rest is read next time
            offsets[log] = offsets.get(log, 0) + len(text)
            if m := DBT_MART_STARTED.search(text.decode("utf-8", "replace")):
                return m.group(1)
        return None

    return reached


def rows_of_batch(home: Path, batch_id: str) -> dict[str, int]:
    """Rows carrying ``batch_id`` per raw table that has a _batch_id column (all of the landing's)."""
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        tables = [r[0] for r in con.execute("select table_name from information_schema.columns where "
                                            "table_schema = 'raw' and column_name = '_batch_id'").fetchall()]
        return {t: con.execute(f'select count(*) from raw."{t}" where _batch_id = ?', [batch_id]).fetchone()[0]
                for t in tables}
    finally:
        con.close()


def batch_records(home: Path) -> list[str]:
    """The open-batch records left in ``<warehouse>.batches/``."""
    return sorted(p.name for p in (home / "warehouse.duckdb.batches").glob("*.json"))


# ---------- the sequence: a baseline beside three kills and a re-run


@dataclass
class After:
    """A run of the sequence and what the warehouse held right after it: its state, the open-batch records
    left, and for a kill inside a batch the rows of that batch that are visible."""

    name: str
    run: Run
    state: State
    records: list[str]
    batch_rows: dict[str, int] = field(default_factory=dict)


@dataclass
class Sequence:
    baseline: After | None = None
    kills: dict[str, After] = field(default_factory=dict)  # "landing", "dbt", "forecast", in that order
    rerun: After | None = None
    error: str | None = None  # why the sequence stopped early


KILL_POINTS = ("landing", "dbt", "forecast")


def kill_sequence(company: Path, root: Path) -> Sequence:
    """The baseline (in a thread, in ``root/uninterrupted``) and, in ``root/killed``, the three kills one after
    the other, then the re-run; stops at the first kill that misses its point (``error`` says why)."""
    seq = Sequence()
    homes = {}
    for name in ("uninterrupted", "killed"):
        homes[name] = root / name / "home"
        shutil.copytree(company, homes[name] / "demo", symlinks=True)
    failed: list[str] = []

    def baseline() -> None:
        try:
            run = run_demo(homes["uninterrupted"])
            seq.baseline = After("baseline", run, state(homes["uninterrupted"]), batch_records(homes["uninterrupted"]))
        except Exception as exc:  # reported with the sequence; the thread must not die silently
            failed.append(f"baseline: {exc!r}")

    thread = threading.Thread(target=baseline, name="uninterrupted run")
    thread.start()
    home = homes["killed"]
    points = {"landing": batch_opened(home, LANDING_BATCH), "dbt": dbt_building_a_mart(home),
              "forecast": batch_opened(home, FORECAST_BATCH)}
    try:
        for point in KILL_POINTS:
            run = run_demo(home, points[point])
            batch_id = run.reached.removesuffix(".json") if point != "dbt" else None
            seq.kills[point] = After(point, run, state(home), batch_records(home),
                                     rows_of_batch(home, batch_id) if batch_id else {})
        rerun = run_demo(home)
        seq.rerun = After("rerun", rerun, state(home), batch_records(home))
    except Exception as exc:
        seq.error = f"{exc}"
    finally:
        thread.join()
    if failed:
        seq.error = "; ".join([*failed, *([seq.error] if seq.error else [])])
    return seq


def baseline_problems(seq: Sequence) -> list[str]:
    b = seq.baseline
    if b is None:
        return [f"no uninterrupted run: {seq.error}"]
    out = []
    if b.run.returncode not in (0, 1) or "failed steps:" in b.run.output:  # exit 1 only for failed checks
        out.append(f"the uninterrupted run failed (rc {b.run.returncode}):\n{b.run.output[-3000:]}")
    if not set(FORECAST_TABLES) | {"raw.forecast_runs"} <= set(b.state.tables):
        out.append("the uninterrupted run wrote no forecast")
    if not b.state.marts():
        out.append("the uninterrupted run built no mart")
    return out


def _need(seq: Sequence, point: str) -> After:
    if point not in seq.kills:
        raise LookupError(f"no kill {point!r}: {seq.error}")
    return seq.kills[point]


def landing_expected(seq: Sequence) -> dict[str, pd.DataFrame]:
    """What the landing kill must leave: the baseline's rows of every table there, the file log and the rejects
    tables restricted to the feeds that landed (a source's feeds may land in more than one batch: CRM's
    reference feeds land first)."""
    got, want = _need(seq, "landing").state, seq.baseline.state
    landed = _landed(got)
    out = {}
    for name in got.tables:
        df = want.tables.get(name, pd.DataFrame())
        if name == "raw._file_log":
            df = df[[(r.source, r.feed) in landed for r in df.itertuples()]]
        elif name.endswith("_rejects"):
            source = name.removeprefix("raw.").removesuffix("_rejects")
            df = df[df["feed"].isin({feed for src, feed in landed if src == source})]
        out[name] = df.reset_index(drop=True)
    return out


def _landed(got: State) -> set[tuple[str, str]]:
    log = got.tables.get("raw._file_log")
    return set() if log is None else {tuple(r) for r in log[["source", "feed"]].drop_duplicates().to_numpy()}


def landing_kill_problems(seq: Sequence) -> list[str]:
    k = _need(seq, "landing")
    out = []
    # The kill came inside the transaction: none of the batch's rows in any raw table (a kill after the commit
    # would show all of them), and its record is still there for the next run to report.
    if any(k.batch_rows.values()):
        out.append(f"the kill came after the batch committed: {k.batch_rows}")
    if k.run.reached not in k.records:
        out.append(f"the open batch's record {k.run.reached} is gone: {k.records}")
    # What the batches before it landed is whole; ERP's tables are not there at all.
    landed = _landed(k.state)
    if not landed or any(src == "erp" for src, _ in landed):
        out.append(f"landed feeds: {sorted(landed)}")
    for name, want in landing_expected(seq).items():
        if not same(k.state.tables[name], want):
            out.append(f"{name} holds a partial batch: {len(k.state.tables[name])} of {len(want)} rows")
    out += [f"{n} is there" for n in k.state.tables if n.startswith("raw.erp_")]
    return out


def _rerun_cleaned_up(run: Run) -> list[str]:
    # Without the dead-run check the re-run would wait for the killed run's pool slot forever.
    return [] if DEAD_RUN_ENDED in run.output else [f"the re-run did not end the killed run:\n{run.output[-3000:]}"]


def dbt_expected(seq: Sequence) -> dict[str, pd.DataFrame]:
    """What the dbt kill must leave: the baseline's raw tables but those written after dbt, and every mart
    that is there whole."""
    got, want = _need(seq, "dbt").state, seq.baseline.state
    raw = {n: df for n, df in want.tables.items() if n.startswith("raw.") and n not in WRITTEN_AFTER_DBT}
    return {**raw, **{n: want.tables[n] for n in got.marts() if n in want.tables}}


def dbt_kill_problems(seq: Sequence) -> list[str]:
    k, landing = _need(seq, "dbt"), _need(seq, "landing")
    want = seq.baseline.state
    batch_id = landing.run.reached.removesuffix(".json")
    out = _rerun_cleaned_up(k.run)
    if f"batch {batch_id} (landing lodestar_files_erp) was open when its process" not in k.run.output:
        out.append("the re-run did not name ERP's open landing batch")
    if any(r.startswith(batch_id) for r in k.records):
        out.append(f"the landing batch's record is still there: {k.records}")
    # The re-run landed what the kill had cut, exactly as an uninterrupted run does; only what steps after dbt
    # write is (still) missing.
    raw = differences(k.state, want, only="raw.")
    out += [d for d in raw if d not in {f"{n} missing" for n in WRITTEN_AFTER_DBT}]
    # dbt on DuckDB builds <model>__dbt_tmp and renames it in the same transaction: the model being built when
    # the process died is either whole or not there, and no temporary relation is visible.
    out += [f"left over: {n}" for n in leftovers(k.state)]
    marts = k.state.marts()
    out += [f"half-built mart: {n}" for n, df in marts.items() if n not in want.tables or not same(df, want.tables[n])]
    if len(marts) >= len(want.marts()):
        out.append(f"dbt had finished when killed (building marts.{k.run.reached})")
    return out


def forecast_expected(seq: Sequence) -> dict[str, pd.DataFrame]:
    """What the forecast kill must leave: every baseline table but the forecast's (a fresh home had none)."""
    return {n: df for n, df in seq.baseline.state.tables.items() if n not in FORECAST_TABLES}


def forecast_kill_problems(seq: Sequence) -> list[str]:
    k = _need(seq, "forecast")
    out = _rerun_cleaned_up(k.run)
    # Predictions and levels are one transaction: neither has a row of the killed write (a fresh home had no
    # forecast before, so neither table exists).
    out += [f"{n} holds {len(k.state.tables[n])} rows of the killed write" for n in FORECAST_TABLES
            if n in k.state.tables]
    if any(k.batch_rows.values()):
        out.append(f"the kill came after the forecast committed: {k.batch_rows}")
    if k.run.reached not in k.records:
        out.append(f"the open forecast batch's record {k.run.reached} is gone: {k.records}")
    # Everything before the forecast write is whole: landing, every mart, the training run's row.
    diff = differences(k.state, seq.baseline.state)
    out += [d for d in diff if d not in {f"{n} missing" for n in FORECAST_TABLES}]
    out += [f"left over: {n}" for n in leftovers(k.state)]
    return out


def rerun_problems(seq: Sequence) -> list[str]:
    if seq.rerun is None:
        return [f"no re-run after the kills: {seq.error}"]
    r, want = seq.rerun, seq.baseline.state
    out = []
    if r.run.returncode not in (0, 1) or "failed steps:" in r.run.output:
        out.append(f"the re-run failed (rc {r.run.returncode}):\n{r.run.output[-3000:]}")
    out += _rerun_cleaned_up(r.run)
    if f"{FORECAST_BATCH_WHAT} was open when its process" not in r.run.output:
        out.append("the re-run did not report the open forecast batch")
    if r.state.relations != want.relations:
        out.append(f"relations differ: {sorted(set(r.state.relations) ^ set(want.relations))}")
    out += differences(r.state, want)
    out += [f"batch record left: {n}" for n in r.records]
    return out
