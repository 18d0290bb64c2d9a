"""The forecast steps the asset graph runs, each one call: read the training history from the warehouse,
train and log a challenger, promote it, and forecast one origin week from ``@champion`` into raw.forecast_*.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow import MlflowClient

from lodestar.warehouse import Warehouse, replace_rows_in
from ml.backtest import default_cutoffs
from ml.config import ForecastConfig
from ml.schema import (
    HIERARCHY_COLS,
    KEY_COLS,
    LEVELS_TABLE,
    PREDICTIONS_TABLE,
    RUNS_TABLE,
    SERIES_SEP,
    TIME_COL,
    TRAINING_TABLE,
    ContractError,
    week_weekday,
)
from ml.tracking import (
    AUTO_CANDIDATES,
    EXPERIMENT,
    PROMOTION_METRIC,
    PromotionDecision,
    TrainResult,
    get_client,
    load_champion,
    model_name,
    promote_if_better,
    tracking_uri_or_default,
    train_and_log,
)


def ensure_experiment(client: MlflowClient, artifact_location: str | Path, name: str = EXPERIMENT) -> str:
    """Create the experiment with its artifacts under ``artifact_location`` (once) and return its id.

    Without this MLflow puts artifacts under ``./mlruns`` of whatever directory the process started in,
    where the MLflow UI of another process cannot find them.
    """
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    loc = Path(artifact_location)
    loc.mkdir(parents=True, exist_ok=True)
    return client.create_experiment(name, artifact_location=loc.resolve().as_uri())


def load_history(warehouse: Warehouse, until: dt.date | str | None = None, table: tuple[str, str] = TRAINING_TABLE) -> pd.DataFrame:
    """The training history (ml input contract) up to and including week ``until``.

    Raises ContractError naming the table when it is missing or has no rows up to ``until``.
    """
    schema, name = table
    if not warehouse.table_exists(schema, name):
        raise ContractError(f"{schema}.{name} does not exist in {warehouse.path}: build the dbt model first")
    sql = f'select * from {schema}."{name}"'
    params: list = []
    if until is not None:
        sql += " where week_start <= ?"
        params.append(pd.Timestamp(until).date())
    df = warehouse.query(sql + " order by account_manager_id, sku_id, channel, week_start", params)
    if df.empty:
        raise ContractError(f"{schema}.{name} has no rows" + (f" up to week {pd.Timestamp(until).date()}" if until else ""))
    # Columns that are null everywhere (e.g. meeting_sentiment before nlp/ lands) carry no signal.
    return df.drop(columns=[c for c in df.columns if df[c].isna().all()])


def train_challenger(
    warehouse: Warehouse,
    config: ForecastConfig | None = None,
    tracking_uri: str | None = None,
    family: str = "lgbm",
    n_cutoffs: int = 2,
    until: dt.date | str | None = None,
    candidates: list[str] | tuple[str, ...] = AUTO_CANDIDATES,
) -> TrainResult:
    """Backtest on ``n_cutoffs`` rolling origins, fit on all history, log and register the model in MLflow,
    and append one row to raw.forecast_runs (run_id, model_name, model_version, trained_at, wape, ...).

    ``family="auto"``: every family in ``candidates`` is backtested on the same cutoffs and the winner by the
    promotion rule (grain MASE and planning-level WAPE together) is registered as ``lodestar-forecast-auto``."""
    config = config or ForecastConfig()
    hist = load_history(warehouse, until)
    cutoffs = default_cutoffs(hist, n=n_cutoffs, horizon=config.horizon)
    result = train_and_log(hist, config, tracking_uri=tracking_uri, family=family, cutoffs=cutoffs, candidates=candidates)
    row = pd.DataFrame(
        [
            {
                "run_id": result.run_id,
                "model_name": result.model_name,
                "model_version": result.model_version,
                "model_family": result.forecaster.family,
                "trained_at": pd.Timestamp.now(tz="UTC").tz_localize(None),
                "history_last_week": pd.Timestamp(hist[TIME_COL].max()).date(),
                "n_series": int(hist[list(KEY_COLS)].drop_duplicates().shape[0]),
                "wape": result.metrics[PROMOTION_METRIC],
                "reconciliation": result.forecaster.reconciler,
            }
        ]
    )
    warehouse.replace_rows(*RUNS_TABLE, row, "run_id = ?", [result.run_id])
    return result


def promote(tracking_uri: str | None, name: str, version: str | int) -> PromotionDecision:
    """Champion/challenger: ``version`` becomes ``@champion`` only if its backtest grain WAPE is lower."""
    uri = tracking_uri_or_default(tracking_uri)
    return promote_if_better(get_client(uri), name, version)


@dataclass
class ForecastWrite:
    origin_week: dt.date
    model_version: str
    run_id: str
    grain_rows: int
    level_rows: int
    n_series: int
    horizon: int
    coherence_max_gap: float  # max |total - sum of grain| over horizon weeks (0 = coherent)
    grain: pd.DataFrame


def forecast_from_champion(
    warehouse: Warehouse,
    origin_week: dt.date | str,
    tracking_uri: str | None = None,
    family: str = "lgbm",
    horizon: int = 13,
) -> ForecastWrite:
    """Forecast the ``horizon`` weeks after ``origin_week`` with ``models:/<name>@champion`` and the actuals up to
    ``origin_week``, then overwrite that origin's rows of raw.forecast_predictions (grain x week, 80/95% intervals)
    and raw.forecast_levels (every level x week/month/quarter), stamped with the model version and run id.
    """
    origin = pd.Timestamp(origin_week)
    name = model_name(family)
    uri = tracking_uri_or_default(tracking_uri)
    model = load_champion(name, uri)
    forecaster = model.unwrap_python_model().forecaster
    week_start = forecaster.config.week_start  # the weeks the champion was trained on (the company's)
    if origin.dayofweek != week_weekday(week_start):
        raise ContractError(f"origin_week {origin.date()} is a {origin.day_name()}, not a {week_start.capitalize()} "
                            f"(the week start {name}@champion was trained on)")
    run_id = model.metadata.run_id
    hist = load_history(warehouse, origin)
    # Series the champion never saw (new AM x SKU x channel) cannot be placed in its hierarchy: left out, and
    # counted in the result so the asset can report them.
    known = set(forecaster.hierarchy.bottom["unique_id"])
    sid = hist[list(KEY_COLS)].astype(str).agg(SERIES_SEP.join, axis=1)
    hist = hist[sid.isin(known)]
    if hist.empty:
        raise ContractError(f"no history up to {origin.date()} for any series of champion {forecaster.model_version}")
    last = hist[TIME_COL].max()
    if pd.Timestamp(last) != origin:
        # Weeks with no order at all are zero demand, but the panel ends at the last week present: pad one zero row.
        pad = hist.iloc[[-1]].copy()
        pad[TIME_COL] = origin
        pad["y"] = 0.0
        hist = pd.concat([hist, pad], ignore_index=True)
    fc, drivers = forecaster.predict_with_drivers(hist, None, horizon=horizon)
    created = pd.Timestamp.now(tz="UTC").tz_localize(None)
    fc = fc.assign(origin_week=origin.date(), run_id=run_id, created_at=created)
    grain = fc[(fc["level"] == "grain") & (fc["period"] == "week")].copy()
    keys = grain["node_id"].str.split(SERIES_SEP, expand=True)
    for i, col in enumerate(KEY_COLS):
        grain[col] = keys[i].to_numpy()
    hier = forecaster.hierarchy.bottom.drop(columns=["unique_id"]).drop_duplicates(list(KEY_COLS))
    grain = grain.merge(hier[[*KEY_COLS, *HIERARCHY_COLS]], on=list(KEY_COLS), how="left", validate="many_to_one")
    grain = grain.rename(columns={"period_start": "week_start", "mean": "y_hat"})
    # Each grain forecast carries its drivers (ml.explain): run_rate + the drivers' units = y_hat.
    grain = grain.merge(drivers.assign(week_start=pd.to_datetime(drivers["week_start"])),
                        on=["node_id", "week_start"], how="left", validate="one_to_one")
    grain["week_start"] = pd.to_datetime(grain["week_start"]).dt.date
    grain["model_name"] = name
    cols = ["run_id", "model_name", "model_version", "origin_week", *KEY_COLS, *HIERARCHY_COLS, "week_start", "h",
            "y_hat", "lo80", "hi80", "lo95", "hi95", "reconciliation", "run_rate", "drivers", "top_drivers", "created_at"]
    grain = grain[cols].reset_index(drop=True)
    levels = fc.rename(columns={"mean": "y_hat"}).assign(period_start=lambda f: pd.to_datetime(f["period_start"]).dt.date)
    total = fc[(fc["level"] == "total") & (fc["period"] == "week")].sort_values("period_start")["mean"].to_numpy()
    summed = grain.groupby("week_start")["y_hat"].sum().sort_index().to_numpy()
    gap = float(np.max(np.abs(total - summed))) if len(total) == len(summed) else float("inf")
    _add_missing_columns(warehouse, PREDICTIONS_TABLE, grain)
    # Both tables in one transaction: a run killed in between leaves this origin's old forecast, never the new
    # grain beside the old levels.
    with warehouse.batch(f"forecast-{origin.date()}-{run_id}", "raw.forecast_predictions, raw.forecast_levels") as con:
        replace_rows_in(con, *PREDICTIONS_TABLE, grain, "origin_week = ?", [origin.date()])
        replace_rows_in(con, *LEVELS_TABLE, levels, "origin_week = ?", [origin.date()])
    return ForecastWrite(
        origin_week=origin.date(),
        model_version=forecaster.model_version,
        run_id=run_id,
        grain_rows=len(grain),
        level_rows=len(levels),
        n_series=len(known),
        horizon=horizon,
        coherence_max_gap=gap,
        grain=grain,
    )


def _add_missing_columns(warehouse: Warehouse, table: tuple[str, str], df: pd.DataFrame) -> None:
    """Add the columns of ``df`` an existing table lacks (a warehouse written before the drivers existed), so the
    by-name insert keeps working; a new table is created from ``df`` by replace_rows itself."""
    schema, name = table
    if not warehouse.table_exists(schema, name):
        return
    have = set(warehouse.query("select column_name from information_schema.columns where table_schema = ? "
                               "and table_name = ?", [schema, name])["column_name"])
    types = {"run_rate": "double", "drivers": "varchar", "top_drivers": "varchar"}
    with warehouse.connect() as con:
        for col in df.columns:
            if col not in have:
                con.execute(f'alter table {schema}."{name}" add column "{col}" {types.get(col, "varchar")}')


def red_warning_scopes(warehouse: Warehouse, table: tuple[str, str] = ("marts", "warning_lights")) -> list[str]:
    """``scope_type:scope_id`` of every red warning light that is on (empty when the mart is not built yet)."""
    schema, name = table
    if not warehouse.table_exists(schema, name):
        return []
    df = warehouse.query(f'select scope_type, scope_id from {schema}."{name}" where red_light order by 1, 2')
    return [f"{r.scope_type}:{r.scope_id}" for r in df.itertuples()]
