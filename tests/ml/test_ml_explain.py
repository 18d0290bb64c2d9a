"""Forecast drivers (ml.explain): LightGBM TreeSHAP by feature group and statistical components, adding up to the
reconciled forecast, and naming the driver that really moves it (a planned promotion)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import make_history

from ml.config import ForecastConfig, LGBMParams
from ml.explain import PLAN, RECONCILIATION, parse_drivers
from ml.forecaster import Forecaster
from ml.schema import series_id

HORIZON = 8


def _config(objective: str) -> ForecastConfig:
    return ForecastConfig(horizon=HORIZON, calibration_origins=1, max_train_origins=20, origin_stride=2,
                          lgbm=LGBMParams(objective=objective, n_estimators=40, num_leaves=7, min_child_samples=10))


@pytest.fixture(scope="module")
def small_history() -> pd.DataFrame:
    return make_history(n_am=3, n_sku=3, n_weeks=120, seed=3)


def _future_promos(hist: pd.DataFrame) -> pd.DataFrame:
    """Promotions planned on every other future week of every series (price 10% off on those weeks)."""
    last = hist["week_start"].max()
    weeks = pd.date_range(last + pd.Timedelta(weeks=1), periods=HORIZON, freq="W-MON")
    keys = hist[["account_manager_id", "sku_id", "channel"]].drop_duplicates()
    fe = keys.merge(pd.DataFrame({"week_start": weeks}), how="cross")
    fe["promo_flag"] = ((fe["week_start"] - weeks[0]).dt.days // 7 % 2 == 0).astype(float)
    fe["price"] = 100 - 10 * fe["promo_flag"]
    return fe


@pytest.mark.parametrize("objective", ["l1", "tweedie"])
def test_lgbm_drivers_add_up_to_the_forecast_and_find_the_promotion(small_history, objective):
    f = Forecaster("lgbm", _config(objective)).fit(small_history)
    fe = _future_promos(small_history)
    fc, drivers = f.predict_with_drivers(small_history, fe, horizon=HORIZON)
    grain = fc[(fc["level"] == "grain") & (fc["period"] == "week")]
    m = grain.merge(drivers, left_on=["node_id", "period_start"], right_on=["node_id", "week_start"], validate="1:1")
    assert len(m) == len(grain) == len(drivers) == 18 * HORIZON
    units = parse_drivers(m["drivers"])
    # Exact decomposition: run-rate + every driver (incl. reconciliation) = the stored, reconciled forecast.
    np.testing.assert_allclose(m["run_rate"] + units.sum(axis=1), m["mean"], rtol=1e-4, atol=1e-3)
    assert units[RECONCILIATION].abs().sum() > 0 or f.reconciler == "bottom_up"
    # The JSON is ordered largest |units| first and top_drivers names the first three.
    first = [next(iter(json.loads(d))) for d in m["drivers"]]
    assert first == units.abs().idxmax(axis=1).tolist()
    assert (m["top_drivers"].str.split(", ").str[0] == pd.Series(first)).all()
    # The synthetic demand has a 40% promotion uplift: on promoted weeks the plan driver pushes the forecast up,
    # on the weeks between it does not.
    fe = fe.assign(node_id=series_id(fe))
    m = m.merge(fe[["node_id", "week_start", "promo_flag"]], on=["node_id", "week_start"], validate="1:1")
    plan = units[PLAN].to_numpy()
    on, off = plan[m["promo_flag"].to_numpy() == 1], plan[m["promo_flag"].to_numpy() == 0]
    assert on.mean() > 0 and on.mean() > off.mean() + 0.1 * m["run_rate"].mean()


def test_statistical_drivers_are_the_models_component(small_history):
    f = Forecaster("seasonal_naive", _config("l1")).fit(small_history)
    fc, drivers = f.predict_with_drivers(small_history, horizon=HORIZON)
    grain = fc[(fc["level"] == "grain") & (fc["period"] == "week")]
    m = grain.merge(drivers, left_on=["node_id", "period_start"], right_on=["node_id", "week_start"], validate="1:1")
    units = parse_drivers(m["drivers"])
    np.testing.assert_allclose(m["run_rate"] + units.sum(axis=1), m["mean"], rtol=1e-6, atol=1e-6)
    used = set(units.columns[(units != 0).any()])
    assert used <= {"same weeks last year", RECONCILIATION} and "same weeks last year" in used
