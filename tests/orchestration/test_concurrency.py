"""Two runs writing the one DuckDB file at the same time: the pool makes them take turns.

Without the `duckdb_warehouse` pool (limit 1 in .dagster/dagster.yaml) the second writer fails
with DuckDB's file-lock error; with it, both runs succeed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prerequisites import require

from lodestar.settings import PROJECT_ROOT, get_settings
from lodestar.warehouse import Warehouse


@pytest.mark.slow
def test_two_concurrent_runs_both_land(tmp_path: Path):
    shared = get_settings().shared_data_dir
    require((shared / "superstore").exists(), f"shared data not found at {shared}")
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text((PROJECT_ROOT / ".dagster" / "dagster.yaml").read_text())
    # Create the instance's SQLite storages once, as `dagster dev` would: two processes migrating a
    # fresh instance at the same moment race on its schema, which is not what this test is about.
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        instance.get_runs(limit=1)
        instance.event_log_storage.get_concurrency_keys()
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "LODESTAR_HOME": str(tmp_path / "home")}
    dagster = str(Path(sys.executable).parent / "dagster")

    def launch(selection: str) -> subprocess.Popen:
        return subprocess.Popen(
            [dagster, "asset", "materialize", "-m", "orchestration.definitions", "--select", selection],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )

    runs = [launch("raw/superstore_orders"), launch("raw/walmart_stores,raw/walmart_features")]
    outputs = [p.communicate(timeout=900)[0] for p in runs]
    for proc, out in zip(runs, outputs, strict=True):
        assert proc.returncode == 0, out[-3000:]
        assert "lock" not in out.lower() or "RUN_SUCCESS" in out, out[-3000:]
    wh = Warehouse(tmp_path / "home" / "warehouse.duckdb")
    assert wh.row_count("raw", "superstore_orders") > 6000
    assert wh.row_count("raw", "walmart_stores") == 35
    assert wh.row_count("raw", "walmart_features") > 3000
