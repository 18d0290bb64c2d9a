"""The warehouse interface: atomic swaps, partition overwrite, waiting out another writer's lock."""

from __future__ import annotations

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
