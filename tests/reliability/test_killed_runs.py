"""SIGKILL a real `lodestar demo` at three points of the main job, in one home, one after the other: while a
landing batch is open, while `dbt build` materialises a mart, and while the forecast is written. After each
kill the warehouse holds no partial batch and no half-built mart; each re-run ends the killed run (its pool
slot freed) and the open batch's record; the last one ends with the tables, rows and keys of an
uninterrupted run of the same selection (the module's baseline, run once).

The kill points are observable effects, nothing test-only in the code under test:
- landing and the forecast write are batches of :meth:`lodestar.warehouse.Warehouse.batch`, which names each
  open batch in ``<warehouse>.batches/<batch id>.json`` from BEGIN until COMMIT returned: the test kills as
  soon as the batch it waits for appears there, and checks afterwards that none of that batch's rows is
  visible (so the kill did come before the commit);
- dbt's progress lines go, one by one, to the run's log file (``$LODESTAR_HOME/logs``): the test kills when
  dbt reports it has started building a table in ``marts``.

What "the same" means (:func:`_comparable`): every relation of every schema exists in both (no leftover
``__dbt_tmp`` / ``__dbt_backup``); every table of ``raw`` and ``marts`` has the same rows, compared as sorted
text with the columns that record when or by which run a row was written left out (RUN_COLUMNS); floats of
the forecast to 1e-9 relative. ``raw.forecast_runs`` has a row per training run by design (the run killed
while writing the forecast had trained too), so its distinct rows are compared.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import LODESTAR_CLI, SEED, TINY_SCALE, lodestar, lodestar_env

from lodestar.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

# The forecast and everything upstream of it: the landing sources the training features need, their dbt models,
# training, promotion and the forecast write. Nothing downstream (forecast marts, intel, cockpit, reports).
ARGS = ["demo", "--scale", TINY_SCALE, "--seed", SEED, "--history-weeks", "0",
        "--select", '+key:"raw/forecast_predictions"']
# Columns that differ between any two runs by design: when a batch ran, which run wrote a row, the model version
# that run registered (the same model: the re-run's challenger scores the same and does not replace @champion).
RUN_COLUMNS = {"_batch_id", "_loaded_at", "_updated_at", "run_id", "model_version", "created_at", "trained_at"}
ONE_ROW_PER_TRAINING = {"forecast_runs"}
# Raw tables written by steps that need dbt's models (not by the landing): missing when dbt was killed.
WRITTEN_AFTER_DBT = {"raw.intel_note_sentiment", "raw.forecast_runs", "raw.forecast_predictions", "raw.forecast_levels"}
# The landing batch killed: ERP's, the biggest source (its transaction stays open longest) and not the first.
LANDING_BATCH = "erp-"
FORECAST_BATCH = "forecast-"
DBT_MART_STARTED = re.compile(r"START sql table model marts\.(\w+)")
TIMEOUT = 1800.0  # one run; measured up to 20 min on 2 cores shared by six test runs


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


def _frame(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> pd.DataFrame:
    df = con.execute(f'select * from {schema}."{name}"').df()
    run_columns = RUN_COLUMNS | ({"_source_row"} if schema == "raw" and name in _http_tables() else set())
    df = df.drop(columns=[c for c in df.columns if c in run_columns])
    if name in ONE_ROW_PER_TRAINING:
        df = df.drop_duplicates()
    return df.sort_values(list(df.columns)).reset_index(drop=True) if len(df.columns) else df


@dataclass
class State:
    """What a warehouse holds: its relations, and the rows of its raw and marts tables."""

    relations: list[tuple[str, str, str]]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # "raw.erp_orders" -> rows


def _state(home: Path) -> State:
    path = home / "warehouse.duckdb"
    if not path.exists():
        return State([])
    con = duckdb.connect(str(path), read_only=True)
    try:
        relations = _relations(con)
        tables = {f"{s}.{n}": _frame(con, s, n) for s, n, kind in relations
                  if s in ("raw", "marts") and kind == "BASE TABLE"}
        return State(relations, tables)
    finally:
        con.close()


def _same(got: pd.DataFrame, want: pd.DataFrame) -> bool:
    """The same rows: text-equal, floats equal to 1e-9 relative (the forecast's sums in another order)."""
    if list(got.columns) != list(want.columns) or len(got) != len(want):
        return False
    floats = [c for c in want.columns if pd.api.types.is_float_dtype(want[c])]
    rest = [c for c in want.columns if c not in floats]
    if not got[rest].astype(str).equals(want[rest].astype(str)):
        return False
    return all(np.allclose(got[c].to_numpy(float), want[c].to_numpy(float), rtol=1e-9, atol=1e-12, equal_nan=True)
               for c in floats)


def _differences(got: State, want: State, only: str | None = None) -> list[str]:
    """Why ``got`` is not ``want`` (of the tables whose name starts with ``only``, if given); [] when the same."""
    out = []
    names = sorted(n for n in want.tables if only is None or n.startswith(only))
    for name in names:
        if name not in got.tables:
            out.append(f"{name} missing")
        elif not _same(got.tables[name], want.tables[name]):
            out.append(f"{name}: {len(got.tables[name])} rows vs {len(want.tables[name])} uninterrupted")
    out += [f"{n} not in an uninterrupted run" for n in sorted(got.tables) if n not in want.tables
            and (only is None or n.startswith(only))]
    return out


def _leftovers(state: State) -> list[str]:
    return [f"{s}.{n}" for s, n, _ in state.relations if n.endswith(("__dbt_tmp", "__dbt_backup"))]


@dataclass
class Killed:
    """A run killed at a point it had reached (``what``: the batch record or the mart it saw), and its output."""

    output: str
    what: str


def _run_and_kill(home: Path, reached) -> Killed:
    """Start `lodestar demo ARGS` in ``home`` and SIGKILL its process group as soon as ``reached()`` returns
    something (polled every few ms): the batch id or the mart it saw. Fails if the run ends first."""
    proc = subprocess.Popen([str(LODESTAR_CLI), *ARGS], env=lodestar_env(home), text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)  # the pipe never fills
    reader.start()
    seen = None
    try:
        deadline = time.monotonic() + TIMEOUT
        while seen is None and proc.poll() is None and time.monotonic() < deadline:
            seen = reached()
            if seen is None:
                time.sleep(0.003)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the process group this test started (the demo and its dbt), no other
        proc.wait(timeout=60)
        reader.join(timeout=10)
    output = "".join(lines)
    assert seen is not None, f"the run ended (rc {proc.returncode}) before the kill point:\n{output[-3000:]}"
    # dbt runs in the demo's process group: nothing of the killed run is left writing the warehouse (SIGKILLed
    # processes are gone once their parents, themselves killed, no longer hold them as zombies).
    gone = time.monotonic() + 30
    while _group_alive(proc.pid) and time.monotonic() < gone:
        time.sleep(0.1)
    assert not _group_alive(proc.pid), "a process of the killed run survived SIGKILL"
    return Killed(output, seen)


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


def _batch_opened(home: Path, prefix: str):
    batches = home / "warehouse.duckdb.batches"

    def reached() -> str | None:
        try:
            names = os.listdir(batches)
        except FileNotFoundError:
            return None
        return next((n for n in names if n.startswith(prefix) and n.endswith(".json")), None)

    return reached


def _dbt_building_a_mart(home: Path):
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


def _rows_of_batch(home: Path, batch_id: str) -> dict[str, int]:
    """Rows carrying ``batch_id`` per raw table that has a _batch_id column (all of the landing's)."""
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        tables = [r[0] for r in con.execute("select table_name from information_schema.columns where "
                                            "table_schema = 'raw' and column_name = '_batch_id'").fetchall()]
        return {t: con.execute(f'select count(*) from raw."{t}" where _batch_id = ?', [batch_id]).fetchone()[0]
                for t in tables}
    finally:
        con.close()


@pytest.fixture(scope="module")
def baseline(tiny_company: Path, tmp_path_factory: pytest.TempPathFactory) -> State:
    """One uninterrupted run of ARGS, the state every killed home must end in."""
    home = tmp_path_factory.mktemp("uninterrupted") / "home"
    shutil.copytree(tiny_company, home / "demo", symlinks=True)
    t0 = time.perf_counter()
    run = lodestar(home, *ARGS, timeout=TIMEOUT)
    print(f"uninterrupted run: {time.perf_counter() - t0:.1f}s")
    assert run.returncode in (0, 1), run.stdout[-3000:]  # exit 1 only for failed checks, never a step
    assert "failed steps:" not in run.stdout, run.stdout[-3000:]
    state = _state(home)
    assert {"raw.forecast_predictions", "raw.forecast_levels", "raw.forecast_runs"} <= set(state.tables)
    assert any(n.startswith("marts.") for n in state.tables)
    return state


@pytest.fixture(scope="module")
def killed_home(tiny_company: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The home the kills happen in, one after another; each test records how far it got."""
    home = tmp_path_factory.mktemp("killed") / "home"
    shutil.copytree(tiny_company, home / "demo", symlinks=True)
    return {"home": home, "stage": 0}


def _advance(killed_home: dict, stage: int) -> Path:
    """The shared home, if the test before this one (``stage - 1``) passed: each kill starts where it left off."""
    assert killed_home["stage"] == stage - 1, "the kill before this one failed: this one needs its home"
    return killed_home["home"]


def _assert_rerun_cleaned_up(output: str) -> None:
    # Without the dead-run check the re-run would wait for the killed run's pool slot forever.
    assert "was killed before it ended: marked failed, its pool slot freed" in output, output[-3000:]


def test_1_a_run_killed_while_a_landing_batch_is_open_leaves_none_of_it(killed_home, baseline):
    home = _advance(killed_home, 1)
    killed = _run_and_kill(home, _batch_opened(home, LANDING_BATCH))
    batch_id = killed.what.removesuffix(".json")
    # The kill came inside the transaction: none of the batch's rows in any raw table (a kill after the commit
    # would show all of them), and its record is still there for the next run to report.
    assert not any(_rows_of_batch(home, batch_id).values()), "the kill came after the batch committed"
    assert (home / "warehouse.duckdb.batches" / killed.what).exists()
    # What the batches before it landed is whole; ERP's tables are not there at all. The file log (every source's)
    # and a source's rejects table (its feeds', which may land in more than one batch: CRM's reference feeds land
    # first) hold exactly the uninterrupted run's rows of the feeds that landed.
    got = _state(home)
    landed = {tuple(r) for r in got.tables["raw._file_log"][["source", "feed"]].drop_duplicates().to_numpy()}
    assert landed and not any(src == "erp" for src, _ in landed), landed
    for name, df in got.tables.items():
        want = baseline.tables[name]
        if name == "raw._file_log":
            want = want[[(r.source, r.feed) in landed for r in want.itertuples()]]
        elif name.endswith("_rejects"):
            source = name.removeprefix("raw.").removesuffix("_rejects")
            want = want[want["feed"].isin({feed for src, feed in landed if src == source})]
        assert _same(df, want.reset_index(drop=True)), f"{name} holds a partial batch: {len(df)} of {len(want)} rows"
    assert not any(n.startswith("raw.erp_") for n in got.tables), sorted(got.tables)
    killed_home.update(batch=batch_id, stage=1)


def test_2_a_run_killed_while_dbt_builds_a_mart_leaves_no_half_built_mart(killed_home, baseline):
    home = _advance(killed_home, 2)
    killed = _run_and_kill(home, _dbt_building_a_mart(home))
    _assert_rerun_cleaned_up(killed.output)
    assert f"batch {killed_home['batch']} (landing lodestar_files_erp) was open when its process" in killed.output
    assert not list((home / "warehouse.duckdb.batches").glob(f"{killed_home['batch']}*"))
    got = _state(home)
    # The re-run landed what the kill had cut, exactly as an uninterrupted run does; only what steps after dbt
    # write is (still) missing.
    raw = _differences(got, baseline, only="raw.")
    assert set(raw) <= {f"{n} missing" for n in WRITTEN_AFTER_DBT}, raw
    # dbt on DuckDB builds <model>__dbt_tmp and renames it in the same transaction: the model being built when
    # the process died is either whole or not there, and no temporary relation is visible.
    assert _leftovers(got) == []
    marts = {n: df for n, df in got.tables.items() if n.startswith("marts.")}
    assert f"marts.{killed.what}" not in marts or _same(marts[f"marts.{killed.what}"], baseline.tables[f"marts.{killed.what}"])
    half = [n for n, df in marts.items() if not _same(df, baseline.tables[n])]
    assert half == [], f"half-built marts: {half}"
    assert len(marts) < len([n for n in baseline.tables if n.startswith("marts.")]), "dbt had finished"
    killed_home["stage"] = 2


def test_3_a_run_killed_while_writing_the_forecast_leaves_no_part_of_it(killed_home, baseline):
    home = _advance(killed_home, 3)
    killed = _run_and_kill(home, _batch_opened(home, FORECAST_BATCH))
    _assert_rerun_cleaned_up(killed.output)
    got = _state(home)
    # Predictions and levels are one transaction: neither has a row of the killed write (a fresh home had no
    # forecast before, so neither table exists).
    assert "raw.forecast_predictions" not in got.tables and "raw.forecast_levels" not in got.tables, (
        {n: len(got.tables[n]) for n in ("raw.forecast_predictions", "raw.forecast_levels") if n in got.tables})
    assert (home / "warehouse.duckdb.batches" / killed.what).exists()
    # Everything before the forecast write is whole: landing, every mart, the training run's row.
    assert _differences(got, baseline) == ["raw.forecast_levels missing", "raw.forecast_predictions missing"]
    assert _leftovers(got) == []
    killed_home["stage"] = 3


def test_4_a_rerun_after_the_kills_matches_an_uninterrupted_run(killed_home, baseline):
    home = _advance(killed_home, 4)
    again = lodestar(home, *ARGS, timeout=TIMEOUT)
    assert again.returncode in (0, 1), again.stdout[-3000:]
    assert "failed steps:" not in again.stdout, again.stdout[-3000:]
    _assert_rerun_cleaned_up(again.stdout)
    assert "(raw.forecast_predictions, raw.forecast_levels) was open when its process" in again.stdout
    got = _state(home)
    assert got.relations == baseline.relations
    assert _differences(got, baseline) == []
    assert list((home / "warehouse.duckdb.batches").glob("*.json")) == []
