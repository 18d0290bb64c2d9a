"""The README's first command, end to end on a small demo company: `lodestar demo` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lodestar.settings import get_settings
from lodestar.warehouse import Warehouse

SCALE = "0.05"


def _run_demo() -> subprocess.CompletedProcess:
    cli = Path(sys.executable).parent / "lodestar"
    return subprocess.run(
        [str(cli), "demo", "--scale", SCALE],
        capture_output=True, text=True, timeout=1500, env={**os.environ, "COLUMNS": "200"},
    )


def _counts(wh: Warehouse) -> dict[str, int]:
    tables = wh.query(
        "select table_name from information_schema.tables where table_schema='raw' order by 1"
    )["table_name"]
    return {t: wh.row_count("raw", t) for t in tables if not t.startswith("_dlt")}


@pytest.fixture(scope="module")
def first_run() -> subprocess.CompletedProcess:
    return _run_demo()


@pytest.mark.slow
def test_main_job_lands_every_feed_and_prints_the_summary(first_run):
    out = first_run.stdout
    assert first_run.returncode == 0, out[-4000:] + first_run.stderr[-4000:]
    assert "main job succeeded" in out
    assert "rows landed per raw table" in out and "rows rejected" in out
    assert "make dagster-ui" in out and "127.0.0.1:3000" in out
    wh = Warehouse(get_settings().warehouse_path)
    counts = _counts(wh)
    from connectors.contracts import discover_http_contracts, load_file_contracts
    from orchestration.defs.raw import CONTRACTS_DIR, HTTP_DIR

    sources, _ = load_file_contracts(CONTRACTS_DIR)
    feeds, _ = discover_http_contracts(HTTP_DIR)
    for source in sources:
        if source.root != "drops":
            continue
        for feed in source.feeds:
            assert counts.get(source.table_name(feed), 0) > 0, f"raw.{source.table_name(feed)} is empty"
    for feed in feeds:
        assert counts.get(feed.table_name, 0) > 0, f"raw.{feed.table_name} is empty"


@pytest.mark.slow
def test_every_planted_bad_row_is_rejected_and_nothing_else(first_run):
    """The generator records each bad row it plants; the rejects tables must hold exactly those."""
    assert first_run.returncode == 0
    truth = pd.read_csv(get_settings().truth_dir / "bad_rows.csv")
    expected = truth.groupby(["source", "feed"]).size().to_dict()
    wh = Warehouse(get_settings().warehouse_path)
    got = {}
    for table in wh.query(
        "select table_name from information_schema.tables where table_schema='raw' and table_name like '%\\_rejects' escape '\\'"
    )["table_name"]:
        source = table.removesuffix("_rejects")
        if source.startswith("intel"):
            continue  # document rejects are the NLP stage's, not planted feed rows
        for row in wh.query(f'select feed, count(*) as n from raw."{table}" group by feed').itertuples():
            got[(source, row.feed)] = int(row.n)
    assert got == expected


@pytest.mark.slow
def test_rerunning_the_main_job_adds_nothing(first_run):
    assert first_run.returncode == 0
    wh = Warehouse(get_settings().warehouse_path)
    before = _counts(wh)
    second = _run_demo()
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    after = _counts(wh)
    grown = {t: (before.get(t), n) for t, n in after.items() if not t.startswith("_") and n != before.get(t)}
    assert grown == {}, f"tables changed on an identical re-run: {grown}"
