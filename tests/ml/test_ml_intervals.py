"""Conformal intervals on synthetic data with known Gaussian noise cover about what they claim."""

from __future__ import annotations

import pandas as pd

from ml.backtest import backtest
from ml.config import ForecastConfig, LGBMParams


def test_interval_coverage_is_calibrated(history: pd.DataFrame) -> None:
    cfg = ForecastConfig(calibration_origins=3, origin_stride=2, lgbm=LGBMParams(n_estimators=60, num_threads=1))
    res = backtest(history, ["lgbm", "seasonal_naive"], ["2024-07-29"], horizon=13, config=cfg)
    grain = res.metrics[res.metrics["level"] == "grain"].set_index("model")
    # Measured (seeded data, one LightGBM thread): coverage_80 0.831 / 0.837, coverage_95 0.954 / 0.977 for
    # lgbm / seasonal naive, WAPE 0.102 / 0.178. Floors sit a few points under, so a regression fails.
    for model in ("lgbm", "seasonal_naive"):
        assert 0.76 <= grain.loc[model, "coverage_80"] <= 0.90, grain.loc[model]
        assert grain.loc[model, "coverage_95"] >= 0.93, grain.loc[model]
    # The global model learns the promo uplift and the season; the seasonal naive cannot.
    assert grain.loc["lgbm", "wape"] < grain.loc["seasonal_naive", "wape"]
    assert grain.loc["lgbm", "wape"] <= 0.115, grain.loc["lgbm"]
    assert {"wape", "bias", "mase", "rmsse", "cost_wan_per_month"} <= set(res.metrics.columns)
    lo, hi = res.forecasts["lo80"], res.forecasts["hi80"]
    assert ((res.forecasts["lo95"] <= lo) & (hi <= res.forecasts["hi95"])).all()
