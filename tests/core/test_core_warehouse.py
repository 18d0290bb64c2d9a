"""The warehouse interface: atomic swaps, partition overwrite, waiting out another writer's lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lodestar.warehouse import Warehouse, quote_ident


def test_replace_table_and_rows(tmp_path: Path):
    wh = Warehouse(tmp_path / "w.duckdb")
    assert wh.replace_table("raw", "t", pd.DataFrame({"k": [1, 2], "v": ["a", "b"]})) == 2
    wh.replace_rows("raw", "t", pd.DataFrame({"k": [2, 3], "v": ["B", "c"]}), "k >= ?", [2])
    assert wh.query("select k, v from raw.t order by k").values.tolist() == [[1, "a"], [2, "B"], [3, "c"]]
    # A whole-table swap takes the new frame's columns; a partition overwrite keeps the table's.
    wh.replace_table("raw", "t", pd.DataFrame({"k": [9], "w": [1.5]}))
    assert wh.query("select * from raw.t").to_dict("records") == [{"k": 9, "w": 1.5}]
    with pytest.raises(duckdb.BinderException):
        wh.replace_rows("raw", "t", pd.DataFrame({"k": [9], "v": ["x"]}), "k = ?", [9])
    assert wh.query("select * from raw.t").to_dict("records") == [{"k": 9, "w": 1.5}]


def test_failed_replace_leaves_the_old_table(tmp_path: Path):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.replace_table("raw", "t", pd.DataFrame({"k": [1]}))
    with pytest.raises(duckdb.Error):
        wh.replace_rows("raw", "t", pd.DataFrame({"k": [5]}), "no_such_column = ?", [1])
    assert wh.row_count("raw", "t") == 1


def test_identifiers_are_checked():
    with pytest.raises(ValueError, match="identifier"):
        quote_ident('t"; drop table x; --')


def test_waits_for_another_processes_lock(tmp_path: Path):
    path = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, time; c = duckdb.connect({str(path)!r}); c.execute('create table t as select 1 as a'); "
         "print('locked', flush=True); time.sleep(2); c.close()"],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    started = time.monotonic()
    assert Warehouse(path, lock_timeout=30).query("select count(*) as n from t")["n"].iloc[0] == 1
    assert time.monotonic() - started > 0.3  # it really waited for the holder to let go
    holder.wait(timeout=30)


def test_gives_up_after_the_lock_timeout(tmp_path: Path):
    path = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('locked', flush=True); time.sleep(6)"],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(duckdb.IOException, match="lock"):
        Warehouse(path, lock_timeout=1).query("select 1")
    holder.kill()


def test_a_batch_is_recorded_while_open_and_commits_whole_or_not_at_all(tmp_path: Path):
    wh = Warehouse(tmp_path / "w.duckdb")
    with wh.batch("b-1", "two tables") as con:
        con.execute("create schema raw")
        con.execute("create table raw.a as select 1 as k")
        record = json.loads((wh.open_batches_dir / "b-1.json").read_text())
        assert record["what"] == "two tables" and record["pid"] == os.getpid()
        con.execute("create table raw.b as select 2 as k")
    assert list(wh.open_batches_dir.iterdir()) == []
    with pytest.raises(duckdb.Error), wh.batch("b-2", "a failing write") as con:
        con.execute("insert into raw.a values (3)")
        con.execute("insert into raw.b values ('not a number')")
    assert wh.query("select k from raw.a").k.tolist() == [1]  # the first insert went with the failed one
    assert list(wh.open_batches_dir.iterdir()) == []


def test_the_records_of_dead_processes_batches_are_cleared_and_a_live_ones_kept(tmp_path: Path):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.open_batches_dir.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (wh.open_batches_dir / "gone.json").write_text(json.dumps(
        {"batch_id": "gone", "what": "x", "pid": int(dead.stdout), "pid_started": "1"}))
    with wh.batch("live", "y"):
        assert [b["batch_id"] for b in wh.clear_dead_batches()] == ["gone"]
        assert [p.name for p in wh.open_batches_dir.iterdir()] == ["live.json"]
