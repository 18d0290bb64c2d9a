"""The weekly retraining schedule and the red-light sensor: targets, timing, and a red light triggering a run."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pandas as pd

from lodestar.warehouse import Warehouse
from orchestration.defs.forecast import assets as fdefs
from orchestration.defs.resources import build_resources
from orchestration.lib.resources import WarehouseResource

FORECAST_KEYS = {
    dg.AssetKey(["forecast", "challenger_model"]),
    dg.AssetKey(["forecast", "champion_model"]),
    dg.AssetKey(["raw", "forecast_runs"]),
    dg.AssetKey(["raw", "forecast_predictions"]),
    dg.AssetKey(["raw", "forecast_levels"]),
}


def _defs() -> dg.Definitions:
    # The forecast definitions plus the shared warehouse resource the merged code location provides.
    return dg.Definitions.merge(fdefs.defs, dg.Definitions(
        resources={**build_resources(), "warehouse": WarehouseResource(path="unused.duckdb")}))


def test_schedule_targets_retrain_job_monday_2am_shanghai():
    defs = _defs()
    schedule = defs.resolve_schedule_def("weekly_forecast_retraining")
    assert schedule.job_name == "retrain_forecast"
    assert schedule.cron_schedule == "0 2 * * 1"
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert defs.resolve_job_def("retrain_forecast").partitions_def == fdefs.FORECAST_PARTITIONS
    selected = fdefs.FORECAST_SELECTION.resolve(defs.resolve_asset_graph())
    assert selected == FORECAST_KEYS
    ctx = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 11, 23, 2, 0),
                                    repository_def=defs.get_repository_def())
    req = schedule.evaluate_tick(ctx).run_requests[0]
    assert req.partition_key == fdefs.latest_partition_key() == "2026-11-16"


def test_partitions_are_weeks_starting_monday():
    keys = fdefs.FORECAST_PARTITIONS.get_partition_keys()
    assert keys[0] == "2024-01-01" and keys[-1] == "2026-11-16"
    assert all(pd.Timestamp(k).dayofweek == 0 for k in keys)


def test_history_jobs_backfill_forecast_partitions_then_rebuild_the_dbt_forecast_marts():
    from orchestration.definitions import load as load_defs
    defs = load_defs()

    history = defs.resolve_job_def("forecast_history")
    assert history.partitions_def == fdefs.FORECAST_PARTITIONS
    graph = defs.resolve_asset_graph()
    assert fdefs.forecast_history_job.selection.resolve(graph) == {fdefs.PREDICTIONS_KEY, fdefs.LEVELS_KEY}
    marts = fdefs.forecast_marts_job.selection.resolve(graph)
    assert {dg.AssetKey(["marts", "forecast_accuracy"]), dg.AssetKey(["marts", "warning_lights"])} <= marts
    assert fdefs.SANDBOX_KEY in marts
    assert all("dbt" in graph.get(k).kinds for k in marts - {fdefs.SANDBOX_KEY})  # no other Python asset re-runs
    # Latest origin 2026-11-16: November is not complete, so the sandbox scores October (first Monday Oct 5)
    # with the origin of the week before it.
    assert fdefs.history_partition_keys(3) == ["2026-09-28", "2026-10-26", "2026-11-02", "2026-11-09"]
    assert fdefs.history_partition_keys(0) == []


def _lights(wh: Warehouse, red: dict[str, bool]) -> None:
    wh.replace_table("marts", "warning_lights", pd.DataFrame(
        {"scope_type": "region", "scope_id": list(red), "red_light": list(red.values()),
         "red_status": ["on" if v else "off" for v in red.values()]}))


def test_red_light_triggers_retraining_once(tmp_path):
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    defs = _defs()
    sensor = defs.resolve_sensor_def("retrain_on_red_light")
    repo = defs.get_repository_def()
    assert sensor.job_name == "retrain_forecast"
    resources = {"warehouse": WarehouseResource(path=str(wh.path))}

    # No mart yet, then all lights off: skip.
    with dg.build_sensor_context(resources=resources, repository_def=repo) as ctx:
        assert sensor.evaluate_tick(ctx).run_requests == []
    _lights(wh, {"East": False, "South": False})
    with dg.build_sensor_context(resources=resources, repository_def=repo) as ctx:
        out = sensor.evaluate_tick(ctx)
        assert out.run_requests == [] and "no red light" in out.skip_message
        cursor = out.cursor

    # East turns red: one run of retrain_forecast for the latest week.
    _lights(wh, {"East": True, "South": False})
    with dg.build_sensor_context(resources=resources, repository_def=repo, cursor=cursor) as ctx:
        out = sensor.evaluate_tick(ctx)
    assert len(out.run_requests) == 1
    req = out.run_requests[0]
    assert req.partition_key == fdefs.latest_partition_key()
    assert req.tags["trigger"] == "red_light" and req.tags["red_scopes"] == "region:East"

    # Still red on the next tick: no second run for the same light.
    with dg.build_sensor_context(resources=resources, repository_def=repo, cursor=out.cursor) as ctx:
        again = sensor.evaluate_tick(ctx)
    assert again.run_requests == []
