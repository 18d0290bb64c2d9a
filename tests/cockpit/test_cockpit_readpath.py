"""The read path: snapshots publish atomically, and a pipeline run writes the warehouse while the cockpit serves,
neither failing nor waiting."""

from __future__ import annotations

import threading
import time

import duckdb
import httpx
import pytest

from lodestar.readpath import (
    MATERIALISED_VIEWS,
    NoSnapshotError,
    current_snapshot,
    publish_derived,
    publish_snapshot,
)


def test_publish_makes_a_new_current_snapshot_and_prunes(world, tmp_path):
    snaps = tmp_path / "snaps"
    with pytest.raises(NoSnapshotError):
        current_snapshot(snaps)
    first = publish_snapshot(world.warehouse, snaps)
    assert current_snapshot(snaps).path == first.path
    held = duckdb.connect(str(first.path), read_only=True)  # a reader on the old snapshot keeps working
    later = [publish_snapshot(world.warehouse, snaps) for _ in range(3)]
    assert current_snapshot(snaps).path == later[-1].path
    assert len(list(snaps.glob("warehouse-*.duckdb"))) == 3
    assert held.execute("select count(*) from marts.customer_360").fetchone()[0] > 0
    held.close()
    assert not list(snaps.glob(".*tmp*"))


def test_the_views_the_cockpit_reads_are_tables_of_the_same_rows_in_a_snapshot(world, tmp_path):
    """The dbt views each page request reads are stored as tables in the snapshot (a view is recomputed from its
    sources on every query); the pipeline's warehouse keeps them as views, and the rows are the same."""

    def kinds(con) -> dict:
        return {(s, t): k for s, t, k in con.execute(
            "select table_schema, table_name, table_type from information_schema.tables").fetchall()}

    snap = publish_snapshot(world.warehouse, tmp_path / "snaps")
    wh = duckdb.connect(str(world.warehouse), read_only=True)
    sn = duckdb.connect(str(snap.path), read_only=True)
    try:
        in_wh, in_snap = kinds(wh), kinds(sn)
        checked = 0
        for rel in MATERIALISED_VIEWS:
            assert in_wh.get(rel) == "VIEW", rel  # the names are the dbt project's, still views there
            assert in_snap.get(rel) == "BASE TABLE", rel
            q = 'select * from "{}"."{}" order by all'.format(*rel)
            assert wh.execute(q).fetchall() == sn.execute(q).fetchall(), rel
            checked += 1
        assert checked == len(MATERIALISED_VIEWS)
        # the other views stay views (and still read): only what the cockpit queries per request is copied
        others = [r for r, k in in_snap.items() if k == "VIEW"]
        assert others and sn.execute('select count(*) from "{}"."{}"'.format(*others[0])).fetchone()
    finally:
        wh.close()
        sn.close()


def test_a_derived_snapshot_changes_the_copy_not_the_warehouse(world, tmp_path):
    import pandas as pd

    snaps = tmp_path / "snaps"
    publish_snapshot(world.warehouse, snaps)
    derived = publish_derived(lambda wh: wh.replace_table("raw", "cockpit_probe", pd.DataFrame({"x": [1]})), snaps)
    assert current_snapshot(snaps).path == derived.path
    assert derived.warehouse().table_exists("raw", "cockpit_probe")
    con = duckdb.connect(str(world.warehouse), read_only=True)
    try:
        n = con.execute("select count(*) from information_schema.tables where table_name = 'cockpit_probe'").fetchone()
    finally:
        con.close()
    assert n[0] == 0


def test_a_landing_run_writes_while_the_cockpit_serves(world, director):
    """While the server answers requests (holding its snapshot open), the main job's landing assets run against
    the warehouse: the run succeeds, every request succeeds, and the warehouse opens for writing at once."""
    from lodestar.cli import demo_api_env
    from lodestar.mainjob import run_main_job

    # the cockpit holds a connection to its snapshot right now
    assert director.get("/api/customers").status_code == 200
    con = duckdb.connect(str(world.warehouse))  # read-write, no lock wait: nobody else holds the file
    con.close()

    stop = threading.Event()
    results: list[int] = []

    def hammer():
        while not stop.is_set():
            for path in ("/api/lights", "/api/matrix", "/api/customers"):
                try:
                    results.append(director.get(path).status_code)
                except httpx.HTTPError:
                    results.append(-1)
            r = director.post("/api/forecast", json={"levers": {"safety_stock": 1.7}})
            results.append(r.status_code)

    t = threading.Thread(target=hammer, daemon=True)
    t.start()
    started = time.perf_counter()
    try:
        with demo_api_env():
            outcome = run_main_job(select="tag:layer=landing", tags={"trigger": "cockpit_readpath_test"})
    finally:
        stop.set()
        t.join(timeout=60)
    assert outcome.success, outcome.failed_steps
    assert time.perf_counter() - started > 0
    assert len(results) >= 10 and set(results) == {200}, (len(results), sorted(set(results)))
    # the run's result reaches the cockpit with the next snapshot
    before = current_snapshot(world.snapshots).snapshot_id
    publish_snapshot(world.warehouse, world.snapshots)
    assert director.get("/api/me").json()["snapshot"] != before


def test_the_run_status_sensor_publishes_a_snapshot_after_a_successful_run(world):
    import dagster as dg

    from orchestration.defs.cockpit.assets import publish_cockpit_snapshot

    @dg.op
    def noop() -> None:
        return None

    @dg.job
    def tiny():
        noop()

    before = current_snapshot(world.snapshots).snapshot_id
    with dg.DagsterInstance.ephemeral() as instance:
        result = tiny.execute_in_process(instance=instance)
        ctx = dg.build_run_status_sensor_context(
            sensor_name="publish_cockpit_snapshot", dagster_instance=instance, dagster_run=result.dagster_run,
            dagster_event=result.get_run_success_event())
        publish_cockpit_snapshot(ctx)
    assert current_snapshot(world.snapshots).snapshot_id != before


class _Writer:
    """Another process holding the warehouse's write lock (as a dbt step or a landing does) for ``seconds``."""

    def __init__(self, path, seconds: float) -> None:
        import subprocess
        import sys

        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
             "c.execute('select 1'); print('held', flush=True); time.sleep(float(sys.argv[2])); c.close()",
             str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "held"

    def wait(self) -> None:
        assert self.proc.wait(timeout=60) == 0


def _saved(warehouse, name: str) -> int:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("select count(*) from raw.forecast_scenarios where scenario_name = ?", [name]).fetchone()[0]
    finally:
        con.close()


def test_saving_a_scenario_while_a_writer_holds_the_warehouse(world, director, monkeypatch):
    import lodestar.cockpit.app as cockpit_app

    body = {"name": "held-by-writer", "levers": {"price_elasticity": 1.4}}
    # A short writer: the save waits for its lock and lands once it is released.
    w = _Writer(world.warehouse, 1.5)
    r = director.post("/api/scenarios", json=body)
    w.wait()
    assert r.status_code == 201, r.text
    assert _saved(world.warehouse, "held-by-writer") == r.json()["rows"] > 0
    # A writer that outlasts the wait: a clear 503 naming the field, nothing written, reads keep answering.
    monkeypatch.setattr(cockpit_app, "SAVE_WAIT_SECONDS", 0.5)
    w = _Writer(world.warehouse, 6)
    body = {"name": "blocked-by-writer", "levers": {"price_elasticity": 1.2}}
    r = director.post("/api/scenarios", json=body)
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    d = r.json()["detail"][0]
    assert d["field"] == "name" and "not saved" in d["message"] and "pipeline run" in d["message"]
    assert director.post("/api/forecast", json={"levers": {}}).status_code == 200
    assert "blocked-by-writer" not in [s["scenario_name"] for s in director.get("/api/scenarios").json()]
    w.wait()
    assert _saved(world.warehouse, "blocked-by-writer") == 0
    assert director.post("/api/scenarios", json=body).status_code == 201  # once released, the same save lands
    assert "blocked-by-writer" in [s["scenario_name"] for s in director.get("/api/scenarios").json()]
