"""LightGBM on less than a season of history: the calendar features are left out (a week of year seen once is a
clock, not a season), and kept once a season of history is there."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import make_history

from ml.backtest import backtest
from ml.calendar import CALENDAR_COLS
from ml.config import ForecastConfig, LGBMParams
from ml.features import build_panel
from ml.models import LGBMGlobal
from ml.schema import validate_history

CFG = ForecastConfig(horizon=8, lags=[1, 2, 4], windows=[4], min_history=4, chinese_calendar=False,
                     lgbm=LGBMParams(n_estimators=20, num_leaves=7, min_child_samples=10))


def test_short_history_trains_without_the_calendar() -> None:
    panel = build_panel(validate_history(make_history(n_am=2, n_sku=3, n_weeks=30)), CFG)
    o = 21  # 22 weeks of history, under the 52-week season
    model = LGBMGlobal().fit(panel, o, CFG)
    assert not set(CALENDAR_COLS) & set(model.feature_names), model.feature_names
    assert any(c.startswith("lag") for c in model.feature_names), model.feature_names
    fc = model.predict(panel, o, 8, CFG)
    assert fc.shape == (panel.Y.shape[0], 8) and np.isfinite(fc).all()
    assert not set(CALENDAR_COLS) & set(model.feature_importance()["feature"])


def test_a_season_of_history_keeps_the_calendar() -> None:
    panel = build_panel(validate_history(make_history(n_am=2, n_sku=3, n_weeks=80)), CFG)
    model = LGBMGlobal().fit(panel, 60, CFG)  # 61 weeks of history
    assert {"cal_week_of_year", "cal_month"} <= set(model.feature_names)


def test_backtest_on_a_short_panel_scores_lightgbm_against_the_baselines() -> None:
    hist = make_history(n_am=2, n_sku=3, n_weeks=26)
    cutoff = pd.Timestamp(sorted(hist["week_start"].unique())[-9])
    res = backtest(hist, ["lgbm", "moving_average"], [cutoff], 8, CFG)
    grain = res.metrics[res.metrics["level"] == "grain"].set_index("model")
    assert set(grain.index) == {"lgbm", "moving_average"}
    assert np.isfinite(grain["mase"]).all() and (grain["mase"] > 0).all()
