"""Rolling-origin backtest: every model family refitted at every cutoff and scored the same way at
every hierarchy level (WAPE, bias, MASE, RMSSE, interval coverage, cost of error).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml.config import ForecastConfig
from ml.features import build_panel
from ml.forecaster import Forecaster
from ml.metrics import level_metrics
from ml.schema import SERIES_ID, TIME_COL, ContractError, validate_history


@dataclass
class BacktestResult:
    """metrics: one row per model x cutoff x level; forecasts: one row per model x cutoff x node x h."""

    metrics: pd.DataFrame
    forecasts: pd.DataFrame
    fit_seconds: dict[str, float] = field(default_factory=dict)
    predict_seconds: dict[str, float] = field(default_factory=dict)  # reconciled forecast of every node, all cutoffs
    reconcilers: dict[str, dict[str, str]] = field(default_factory=dict)

    def summary(self, level: str = "grain") -> pd.DataFrame:
        """Mean metrics over cutoffs for one level, one row per model."""
        m = self.metrics[self.metrics["level"] == level]
        return m.groupby("model").mean(numeric_only=True).sort_values("wape")


def default_cutoffs(history_df: pd.DataFrame, n: int = 3, horizon: int = 13, step: int | None = None) -> list[pd.Timestamp]:
    """The last ``n`` origins, ``step`` weeks apart, each leaving a full horizon of actuals after it."""
    weeks = pd.to_datetime(history_df[TIME_COL]).drop_duplicates().sort_values()
    step = step or horizon
    last = weeks.iloc[-1] - pd.Timedelta(weeks=horizon)
    return sorted(last - pd.Timedelta(weeks=step * i) for i in range(n))


def backtest(
    history_df: pd.DataFrame,
    models: Sequence[str],
    cutoffs: Sequence[pd.Timestamp | str],
    horizon: int = 13,
    config: ForecastConfig | None = None,
) -> BacktestResult:
    """Refit each model family at each cutoff on data up to the cutoff and score the next ``horizon`` weeks."""
    config = (config or ForecastConfig()).model_copy(update={"horizon": horizon})
    hist = validate_history(history_df)
    last_week = hist[TIME_COL].max()
    metric_rows, fc_rows = [], []
    fit_seconds: dict[str, float] = {}
    predict_seconds: dict[str, float] = {}
    reconcilers: dict[str, dict[str, str]] = {}
    for cutoff in cutoffs:
        cutoff = pd.Timestamp(cutoff)
        if cutoff + pd.Timedelta(weeks=horizon) > last_week:
            raise ContractError(f"cutoff {cutoff.date()} leaves fewer than {horizon} weeks of actuals (last {last_week.date()})")
        train = hist[hist[TIME_COL] <= cutoff]
        if train.empty:
            raise ContractError(f"cutoff {cutoff.date()} is before the first history week")
        for family in models:
            t0 = time.perf_counter()
            fc = Forecaster(family, config).fit(train.drop(columns=[SERIES_ID]))
            fit_seconds[family] = fit_seconds.get(family, 0.0) + time.perf_counter() - t0
            reconcilers.setdefault(family, {})[str(cutoff.date())] = fc.reconciler
            known = hist[hist[SERIES_ID].isin(fc.hierarchy.bottom[SERIES_ID])]
            panel = build_panel(known, config, horizon=horizon, hierarchy=fc.hierarchy)
            o = panel.week_index(cutoff)
            t0 = time.perf_counter()
            res = fc.predict_panel(panel, o, horizon)
            predict_seconds[family] = predict_seconds.get(family, 0.0) + time.perf_counter() - t0
            actual = panel.Y[:, o + 1 : o + 1 + horizon]
            levels = fc.hierarchy.nodes["level"].to_numpy()
            intervals = {lv: (res[f"lo{lv}"], res[f"hi{lv}"]) for lv in config.interval_levels}
            m = level_metrics(actual, res["mean"], levels, panel.Y[:, : o + 1], config, intervals)
            m.insert(0, "model", family)
            m.insert(1, "cutoff", cutoff)
            m["reconciliation"] = fc.reconciler
            metric_rows.append(m)
            n = len(levels)
            f = pd.DataFrame(
                {
                    "model": family,
                    "cutoff": cutoff,
                    "level": np.repeat(levels, horizon),
                    "node_id": np.repeat(fc.hierarchy.nodes["node_id"].to_numpy(), horizon),
                    "h": np.tile(np.arange(1, horizon + 1), n),
                    "week_start": np.tile(panel.weeks[o + 1 : o + 1 + horizon], n),
                    "actual": actual.ravel(),
                }
            )
            for k, v in res.items():
                f[k] = v.ravel()
            fc_rows.append(f)
    return BacktestResult(
        metrics=pd.concat(metric_rows, ignore_index=True),
        forecasts=pd.concat(fc_rows, ignore_index=True),
        fit_seconds=fit_seconds,
        predict_seconds=predict_seconds,
        reconcilers=reconcilers,
    )
