"""Accuracy metrics per hierarchy level: WAPE, bias, MASE, RMSSE, interval coverage and the cost of error."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ml.config import ForecastConfig


def _in_sample_scales(Y_hist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-node MAE and RMSE of the one-step naive forecast in-sample (denominators of MASE and RMSSE).

    As in the M5 competition, a series' history counts from its first non-zero week: the panel fills the
    weeks before a SKU launched or an account started buying with zeros, and those would shrink the
    denominator towards 0 and blow the scaled errors of young series up. Nodes with no non-zero week get NaN.
    """
    Y = np.asarray(Y_hist, dtype=float)
    nonzero = np.nan_to_num(Y) != 0
    first = np.where(nonzero.any(axis=1), nonzero.argmax(axis=1), Y.shape[1])
    d = np.diff(Y, axis=1)
    d[np.arange(d.shape[1])[None, :] < first[:, None]] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows (never sold) -> NaN, skipped below
        mae = np.nanmean(np.abs(d), axis=1)
        rmse = np.sqrt(np.nanmean(d**2, axis=1))
    return mae, rmse


def level_metrics(
    actual: np.ndarray,
    pred: np.ndarray,
    levels: np.ndarray,
    Y_hist: np.ndarray,
    config: ForecastConfig,
    intervals: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """One row per level (plus 'all') from (n_nodes, horizon) actuals and forecasts.

    cost_wan_per_month = cost factor x |WAPE| in percentage points (inventory held for the deviation).
    """
    mae_in, rmse_in = _in_sample_scales(Y_hist)
    rows = []
    for level in list(dict.fromkeys(levels)):
        mask = levels == level
        a, p = actual[mask], pred[mask]
        err = p - a
        denom = np.abs(a).sum()
        wape = float(np.abs(err).sum() / denom) if denom > 0 else float("nan")
        bias = float(err.sum() / denom) if denom > 0 else float("nan")
        ok = mae_in[mask] > 0  # NaN (never sold) compares False
        mase = float(np.mean(np.abs(err[ok]).mean(axis=1) / mae_in[mask][ok])) if ok.any() else float("nan")
        ok2 = rmse_in[mask] > 0
        rmsse = float(np.mean(np.sqrt((err[ok2] ** 2).mean(axis=1)) / rmse_in[mask][ok2])) if ok2.any() else float("nan")
        row = {
            "level": level,
            "n_series": int(mask.sum()),
            "wape": wape,
            "bias": bias,
            "mase": mase,
            "rmsse": rmsse,
            "cost_wan_per_month": config.cost_factor_wan_per_pp_month * abs(wape) * 100,
        }
        for lv, (lo, hi) in (intervals or {}).items():
            row[f"coverage_{lv}"] = float(np.mean((a >= lo[mask]) & (a <= hi[mask])))
        rows.append(row)
    return pd.DataFrame(rows)
