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
    fit_cpu_seconds: dict[str, float] = field(default_factory=dict)  # process CPU: comparable on a shared box

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


def _run_one(hist: pd.DataFrame, family: str, cutoff: pd.Timestamp, horizon: int, config: ForecastConfig) -> dict:
    """Fit ``family`` on the history up to ``cutoff`` and score the next ``horizon`` weeks: one unit of work,
    the same in-process and on a Dask worker."""
    train = hist[hist[TIME_COL] <= cutoff]
    t0, c0 = time.perf_counter(), time.process_time()
    fc = Forecaster(family, config).fit(train.drop(columns=[SERIES_ID]))
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    known = hist[hist[SERIES_ID].isin(fc.hierarchy.bottom[SERIES_ID])]
    panel = build_panel(known, config, horizon=horizon, hierarchy=fc.hierarchy)
    o = panel.week_index(cutoff)
    t0 = time.perf_counter()
    res = fc.predict_panel(panel, o, horizon)
    pred_s = time.perf_counter() - t0
    actual = panel.Y[:, o + 1 : o + 1 + horizon]
    levels = fc.hierarchy.nodes["level"].to_numpy()
    intervals = {lv: (res[f"lo{lv}"], res[f"hi{lv}"]) for lv in config.interval_levels}
    m = level_metrics(actual, res["mean"], levels, panel.Y[:, : o + 1], config, intervals)
    m.insert(0, "model", family)
    m.insert(1, "cutoff", cutoff)
    m["reconciliation"] = fc.reconciler
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
    return {"family": family, "cutoff": cutoff, "metrics": m, "forecasts": f, "fit_s": fit_s, "fit_cpu": fit_cpu,
            "pred_s": pred_s, "reconciler": fc.reconciler}


def _dask_map(hist: pd.DataFrame, tasks: list[tuple[str, pd.Timestamp]], horizon: int, config: ForecastConfig) -> list[dict]:
    """Run every (family, cutoff) on a Dask cluster: ``config.dask_address`` or a LocalCluster of
    ``config.dask_workers`` single-threaded worker processes (closed afterwards)."""
    from distributed import Client, LocalCluster

    cluster = None
    if config.dask_address:
        client = Client(config.dask_address)
    else:
        cluster = LocalCluster(n_workers=config.dask_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, host="127.0.0.1")
        client = Client(cluster)
    try:
        data = client.scatter(hist, broadcast=True)
        futures = [client.submit(_run_one, data, fam, cut, horizon, config, pure=False) for fam, cut in tasks]
        return client.gather(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def backtest(
    history_df: pd.DataFrame,
    models: Sequence[str],
    cutoffs: Sequence[pd.Timestamp | str],
    horizon: int = 13,
    config: ForecastConfig | None = None,
) -> BacktestResult:
    """Refit each model family at each cutoff on data up to the cutoff and score the next ``horizon`` weeks.

    ``config.executor = "dask"`` runs the (family, cutoff) fits on a Dask cluster; the results are the same
    as in-process (every fit is seeded and single-threaded), only the wall time differs.
    """
    config = (config or ForecastConfig()).model_copy(update={"horizon": horizon})
    hist = validate_history(history_df, week_start=config.week_start)
    last_week = hist[TIME_COL].max()
    tasks = []
    for cutoff in cutoffs:
        cutoff = pd.Timestamp(cutoff)
        if cutoff + pd.Timedelta(weeks=horizon) > last_week:
            raise ContractError(f"cutoff {cutoff.date()} leaves fewer than {horizon} weeks of actuals (last {last_week.date()})")
        if (hist[TIME_COL] <= cutoff).sum() == 0:
            raise ContractError(f"cutoff {cutoff.date()} is before the first history week")
        tasks += [(family, cutoff) for family in models]
    if config.executor == "dask":
        runs = _dask_map(hist, tasks, horizon, config)
    else:
        runs = [_run_one(hist, fam, cut, horizon, config) for fam, cut in tasks]
    fit_seconds: dict[str, float] = {}
    fit_cpu: dict[str, float] = {}
    predict_seconds: dict[str, float] = {}
    reconcilers: dict[str, dict[str, str]] = {}
    for r in runs:
        fam = r["family"]
        fit_seconds[fam] = fit_seconds.get(fam, 0.0) + r["fit_s"]
        fit_cpu[fam] = fit_cpu.get(fam, 0.0) + r["fit_cpu"]
        predict_seconds[fam] = predict_seconds.get(fam, 0.0) + r["pred_s"]
        reconcilers.setdefault(fam, {})[str(r["cutoff"].date())] = r["reconciler"]
    return BacktestResult(
        metrics=pd.concat([r["metrics"] for r in runs], ignore_index=True),
        forecasts=pd.concat([r["forecasts"] for r in runs], ignore_index=True),
        fit_seconds=fit_seconds,
        predict_seconds=predict_seconds,
        reconcilers=reconcilers,
        fit_cpu_seconds=fit_cpu,
    )
