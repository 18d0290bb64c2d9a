"""DuckDB has one writer per file: the Dagster pool `duckdb_warehouse` (limit 1) must be what keeps two
runs from writing at once, not luck or the warehouse's own lock retry, and every asset that writes the
warehouse must be in that pool."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from lodestar.settings import PROJECT_ROOT

WRITER_RESOURCES = {"warehouse", "dbt"}  # the DuckDB file through our interface, or through dbt


def test_every_asset_that_writes_the_warehouse_is_in_the_pool():
    from orchestration.definitions import load
    from orchestration.lib.resources import WAREHOUSE_POOL

    defs = load()
    writers, outside = [], []
    for node in defs.resolve_asset_graph().asset_nodes:
        assets_def = node.assets_def
        if not assets_def.is_executable:
            continue
        keys = assets_def.required_resource_keys
        if keys & WRITER_RESOURCES:
            writers.append(node.key.to_user_string())
            if assets_def.op.pool != WAREHOUSE_POOL:
                outside.append(f"{node.key.to_user_string()} (pool {assets_def.op.pool!r})")
    assert len(writers) > 100, writers  # every raw table, every dbt model, the forecast, intel, levers
    assert not outside, f"warehouse writers outside the pool: {outside}"
    for job in defs.resolve_all_job_defs():
        for op_node in job.graph.node_defs:
            keys = set(getattr(op_node, "required_resource_keys", set()) or set())
            if keys & WRITER_RESOURCES:
                assert op_node.pool == WAREHOUSE_POOL, f"job {job.name}: op {op_node.name} writes outside the pool"


class HeldUpstream:
    """A proxy in front of the demo API that holds every request until :attr:`release` is set: the HTTP
    landing step then holds the pool slot until the test has seen the second run queue behind it
    (however slowly a loaded machine starts that run)."""

    def __init__(self, upstream: str) -> None:
        self.first_request = threading.Event()
        self.release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                proxy.first_request.set()
                proxy.release.wait(900)
                resp = requests.get(upstream + self.path, headers={"Authorization": self.headers["Authorization"]},
                                    timeout=30)
                self.send_response(resp.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(resp.content)))
                self.end_headers()
                self.wfile.write(resp.content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _wait_for_a_queued_step(dagster_home: Path, timeout: float) -> bool:
    """Poll the instance until a step waits for a slot of the warehouse pool."""
    import dagster as dg

    from orchestration.lib.resources import WAREHOUSE_POOL

    deadline = time.monotonic() + timeout
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        while time.monotonic() < deadline:
            info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
            if info.pending_step_count and info.active_slot_count:
                return True
            time.sleep(1)
    return False


def _step_times(instance, run_id: str) -> dict[str, tuple[float, float]]:
    start, end = {}, {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type_value == "STEP_START":
            start[event.step_key] = record.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            end[event.step_key] = record.timestamp
    return {k: (start[k], end[k]) for k in start if k in end}


def test_a_second_run_queues_on_the_pool_and_both_succeed(tiny_home, tmp_path):
    import dagster as dg

    from lodestar.demo.api import serve_demo_api

    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text((PROJECT_ROOT / ".dagster" / "dagster.yaml").read_text())
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:  # migrate storages once, up front
        instance.get_runs(limit=1)
        instance.event_log_storage.get_concurrency_keys()
    token = "pool-test-token"
    with serve_demo_api(tiny_home / "demo", token=token) as upstream:
        slow = HeldUpstream(upstream)
        env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "LODESTAR_HOME": str(tiny_home),
               "LODESTAR_DEMO_API_URL": slow.url, "LODESTAR_DEMO_API_TOKEN": token,
               # No lock waiting: two writers at once would fail at once, so only the pool can serialise them.
               "LODESTAR_LOCK_TIMEOUT": "0"}
        dagster = str(Path(sys.executable).parent / "dagster")

        def launch(selection: str) -> subprocess.Popen:
            return subprocess.Popen(
                [dagster, "asset", "materialize", "-m", "orchestration.definitions", "--select", selection],
                cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

        try:
            first = launch("raw/ecommerce_orders")
            assert slow.first_request.wait(600), "the first run never reached its HTTP landing step"
            second = launch("raw/erp_customers,raw/erp_skus")  # the ERP landing: one multi-asset step
            queued = _wait_for_a_queued_step(dagster_home, timeout=900)
        finally:
            slow.release.set()
        try:
            outs = [p.communicate(timeout=900)[0] for p in (first, second)]
        finally:
            slow.close()
    assert queued, "the second run's step never queued on the pool while the first held it"
    for proc, out in zip((first, second), outs, strict=True):
        assert proc.returncode == 0, out[-4000:]
        assert "RUN_SUCCESS" in out and "Could not set lock" not in out, out[-4000:]
    assert "Step blocked by limit for pool duckdb_warehouse" in outs[1], outs[1][-4000:]
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = sorted(instance.get_runs(), key=lambda r: instance.get_run_stats(r.run_id).start_time)
        assert len(runs) == 2
        a, b = (_step_times(instance, r.run_id) for r in runs)
    (a_start, a_end), = a.values()
    (b_start, b_end), = b.values()
    assert b_start >= a_end, (a, b)  # the ERP step started only once the HTTP step had released the pool
