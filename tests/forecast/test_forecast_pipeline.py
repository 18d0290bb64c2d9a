"""Train -> promote -> forecast from @champion on a real DuckDB file and a real MLflow SQLite store."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest
from declared_reads import ReadRecorder

from lodestar.tracking import mlflow_client
from ml.config import ForecastConfig, LGBMParams
from ml.explain import parse_drivers
from ml.pipeline import ensure_experiment, forecast_from_champion, load_history, promote, train_challenger
from ml.schema import ContractError
from ml.tracking import model_name, rollback
from orchestration.defs.forecast import assets as fdefs
from orchestration.lib.resources import WarehouseResource

LAST_WEEK = pd.Timestamp("2026-11-16")  # last week of the conftest history

SMALL = ForecastConfig(
    calibration_origins=1,
    max_train_origins=8,
    origin_stride=2,
    lgbm=LGBMParams(n_estimators=20, num_leaves=7, min_child_samples=5),
)
NAME = model_name("lgbm")


def test_load_history_names_the_missing_table(tmp_path):
    from lodestar.warehouse import Warehouse

    with pytest.raises(ContractError, match="marts.forecast_training_features does not exist"):
        load_history(Warehouse(tmp_path / "empty.duckdb"))


def test_train_promote_forecast_writes_coherent_tables(warehouse, tracking_uri, tmp_path):
    client = mlflow_client(tracking_uri)
    ensure_experiment(client, tmp_path / "mlartifacts")
    result = train_challenger(warehouse, SMALL, tracking_uri=tracking_uri, n_cutoffs=1)
    # Artifacts land under the configured location, not ./mlruns of the working directory.
    assert client.get_run(result.run_id).info.artifact_uri.startswith((tmp_path / "mlartifacts").as_uri())
    runs = warehouse.query("select * from raw.forecast_runs")
    assert runs["run_id"].tolist() == [result.run_id] and runs["model_version"].tolist() == ["1"]
    assert promote(tracking_uri, NAME, result.model_version).promoted

    origin = LAST_WEEK - pd.Timedelta(weeks=4)
    written = forecast_from_champion(warehouse, origin.date(), tracking_uri=tracking_uri)
    p = warehouse.query("select * from raw.forecast_predictions")
    assert len(p) == written.grain_rows == 12 * 13  # 12 series x 13 weeks
    assert p.groupby(["account_manager_id", "sku_id", "channel"]).size().eq(13).all()
    assert pd.to_datetime(p["week_start"]).min() == origin + pd.Timedelta(weeks=1)
    assert set(p["model_version"]) == {f"{NAME}/1"} and set(p["run_id"]) == {result.run_id}
    assert (p["lo95"] <= p["lo80"] + 1e-9).all() and (p["lo80"] <= p["y_hat"] + 1e-9).all()
    assert (p["y_hat"] <= p["hi80"] + 1e-9).all() and (p["hi80"] <= p["hi95"] + 1e-9).all()
    # Coherence: the written grain rows sum to the total level forecast for every week.
    lv = warehouse.query("select period_start, y_hat from raw.forecast_levels where level='total' and period='week' order by 1")
    summed = p.groupby("week_start")["y_hat"].sum().sort_index().to_numpy()
    assert abs(lv["y_hat"].to_numpy() - summed).max() < 1e-6
    assert written.coherence_max_gap < 1e-6
    # Every grain forecast carries its drivers (ml.explain): run_rate + the drivers' units = y_hat.
    units = parse_drivers(p["drivers"])
    assert (p["run_rate"] + units.sum(axis=1) - p["y_hat"]).abs().max() < 1e-3 * max(1.0, p["y_hat"].abs().max())
    assert p["top_drivers"].str.len().gt(0).all()
    assert p["top_drivers"].str.split(", ").str[0].tolist() == units.abs().idxmax(axis=1).tolist()
    # A warehouse written before the drivers existed: its table lacks the columns, and the forecast adds them.
    with warehouse.connect() as con:
        for col in ("run_rate", "drivers", "top_drivers"):
            con.execute(f"alter table raw.forecast_predictions drop column {col}")
    # Re-running the same origin overwrites its rows instead of appending.
    forecast_from_champion(warehouse, origin.date(), tracking_uri=tracking_uri)
    assert warehouse.row_count("raw", "forecast_predictions") == 12 * 13
    assert warehouse.query("select count(*) as n from raw.forecast_predictions where drivers is null")["n"].iloc[0] == 0


def test_forecast_asset_loads_the_champion_by_alias(warehouse, tracking_uri, tmp_path):
    """Two versions registered; the alias points at v1, so the partitioned asset must forecast with v1."""
    mlflow_res = fdefs.MlflowResource(tracking_uri=tracking_uri, artifact_location=str(tmp_path / "mlartifacts"))
    mlflow_res.ensure_experiment()
    v1 = train_challenger(warehouse, SMALL, tracking_uri=tracking_uri, n_cutoffs=1)
    bigger = SMALL.model_copy(update={"lgbm": LGBMParams(n_estimators=25, num_leaves=7, min_child_samples=5)})
    v2 = train_challenger(warehouse, bigger, tracking_uri=tracking_uri, n_cutoffs=1)
    assert (v1.model_version, v2.model_version) == ("1", "2")
    client = mlflow_res.client()
    client.set_registered_model_alias(NAME, "champion", "2")
    rollback(NAME, "1", client=client)
    key = LAST_WEEK.strftime("%Y-%m-%d")
    with ReadRecorder([fdefs.forecast_demand]) as reads:
        result = dg.materialize(
            [fdefs.forecast_demand],
            partition_key=key,
            resources={"warehouse": WarehouseResource(path=str(warehouse.path)), "mlflow": mlflow_res},
            # the versions above are the lgbm family's (the asset's default is the cross-family champion)
            run_config={"ops": {"forecast_demand": {"config": {"family": "lgbm"}}}},
        )
    assert result.success
    reads.assert_declared_equals_read()
    p = warehouse.query("select distinct model_version, run_id, origin_week from raw.forecast_predictions")
    assert p["model_version"].tolist() == [f"{NAME}/1"]
    assert p["run_id"].tolist() == [v1.run_id]
    assert str(p["origin_week"].iloc[0])[:10] == key
    checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert [c.passed for c in checks] == [True]
    meta = result.asset_materializations_for_node("forecast_demand")[0].metadata
    assert meta["dagster/row_count"].value == 12 * 13


def test_training_asset_reads_what_it_declares(warehouse, tracking_uri, tmp_path):
    """The Dagster training asset (a small lgbm, one cutoff) reads exactly marts.forecast_training_features and
    records its run in raw.forecast_runs."""
    mlflow_res = fdefs.MlflowResource(tracking_uri=tracking_uri, artifact_location=str(tmp_path / "mlartifacts"))
    train = {"family": "lgbm", "n_estimators": 10, "num_leaves": 7, "max_train_origins": 8, "n_cutoffs": 1}
    with ReadRecorder([fdefs.train_forecast_challenger]) as reads:
        result = dg.materialize(
            [fdefs.train_forecast_challenger],
            resources={"warehouse": WarehouseResource(path=str(warehouse.path)), "mlflow": mlflow_res},
            run_config={"ops": {"train_forecast_challenger": {"config": train}}},
        )
    assert result.success
    reads.assert_declared_equals_read()
    run_id = result.asset_materializations_for_node("train_forecast_challenger")[0].metadata["mlflow_run_id"].value
    assert warehouse.query("select run_id from raw.forecast_runs")["run_id"].tolist() == [run_id]
