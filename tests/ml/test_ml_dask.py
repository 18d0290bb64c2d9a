"""The backtest on a distributed.LocalCluster of 2 worker processes (ForecastConfig.executor="dask") gives
the in-process result: every fit is seeded and single-threaded, so the tolerance is rounding (1e-9)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import make_history

from ml.backtest import backtest
from ml.config import ForecastConfig, LGBMParams

TOLERANCE = 1e-9


def test_dask_backtest_equals_in_process() -> None:
    history = make_history(n_am=3, n_sku=2, n_weeks=110, seed=4)
    cfg = ForecastConfig(horizon=6, calibration_origins=1, origin_stride=4,
                         lgbm=LGBMParams(objective="tweedie", n_estimators=20, num_threads=1))
    cutoffs = ["2023-09-04", "2023-10-30"]
    local = backtest(history, ["lgbm", "seasonal_naive"], cutoffs, horizon=6, config=cfg)
    dist = backtest(history, ["lgbm", "seasonal_naive"], cutoffs, horizon=6,
                    config=cfg.model_copy(update={"executor": "dask", "dask_workers": 2}))
    keys = ["model", "cutoff", "level"]
    a = local.metrics.sort_values(keys).reset_index(drop=True)
    b = dist.metrics.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[keys], b[keys])
    for col in ("wape", "mase", "bias", "coverage_80", "coverage_95"):
        np.testing.assert_allclose(b[col], a[col], rtol=TOLERANCE, atol=TOLERANCE, err_msg=col)
    np.testing.assert_allclose(dist.forecasts.sort_values(["model", "cutoff", "level", "node_id", "h"])["mean"],
                               local.forecasts.sort_values(["model", "cutoff", "level", "node_id", "h"])["mean"],
                               rtol=TOLERANCE, atol=TOLERANCE)
    assert local.reconcilers == dist.reconcilers
    assert set(dist.fit_seconds) == {"lgbm", "seasonal_naive"}
