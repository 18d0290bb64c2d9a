"""Forecast explanations: what moves each grain forecast away from its run-rate, in units per week.

Every grain x week forecast is split exactly as

    y_hat = run-rate + sum of driver contributions

where the run-rate is the series' scale at the origin (its mean weekly demand over the last 13 weeks, floored
at half the 52-week mean: the same scale the model learns on). For LightGBM the contributions are the booster's
own TreeSHAP values (``pred_contrib=True``) summed over feature groups; for a statistical model they are its
components (last year's same weeks for the seasonal methods, its level/trend otherwise). Reconciliation's change
to the base forecast is a driver of its own, so the drivers sum to the stored (reconciled) forecast.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ml.calendar import CALENDAR_COLS

RECENT = "recent demand"
SEASONAL = "same weeks last year"
CALENDAR = "calendar & horizon"
PLAN = "promotion & price plan"
SIGNALS = "CRM & ERP signals"
POSITION = "hierarchy position"
BASE_LEVEL = "model base level"
STAT = "statistical level & trend"
RECONCILIATION = "reconciliation"
DRIVER_GROUPS = (RECENT, SEASONAL, CALENDAR, PLAN, SIGNALS, POSITION, BASE_LEVEL, STAT, RECONCILIATION)
TOP_DRIVERS = 3  # how many drivers the forecast row names as its top drivers (all are kept in the JSON)


def feature_group(name: str) -> str:
    """The driver group of one model feature (see ml.features.origin_block for the names)."""
    if name.startswith(("lag_", "roll_", "yoy_")) or name == "log_scale":
        return RECENT
    if name.startswith("seas_") or name in ("trad", "baseline"):
        return SEASONAL
    if name in CALENDAR_COLS or name == "h":
        return CALENDAR
    if name.startswith("fut_"):
        return PLAN
    if name.startswith("obs_"):
        return SIGNALS
    if name in ("level_code", "log_n_bottom"):
        return POSITION
    raise ValueError(f"feature {name!r} has no driver group: add it to ml.explain.feature_group")


def lgbm_drivers(model, panel, o: int, horizon: int, config, rows: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:  # noqa: ANN001
    """Base forecast (len(rows), horizon) and its driver contributions in units for the nodes ``rows``.

    ``model`` is a fitted ml.models.LGBMGlobal; the contributions plus the run-rate (scale) equal the base
    forecast exactly, for linear objectives (l1, huber, ...) and log-link ones (tweedie, poisson, gamma).
    """
    from ml.features import origin_features
    from ml.models import LOG_LINK_OBJECTIVES

    f = origin_features(panel, o, horizon, config)
    pos = pd.Series(np.arange(len(rows)), index=rows)
    f = f[f["row"].isin(rows)].reset_index(drop=True)
    for c in model.feature_names:
        if c not in f.columns:
            f[c] = np.nan
    X = f[model.feature_names].to_numpy(dtype=np.float32)
    contrib = model.booster.predict(X, num_threads=1, pred_contrib=True)  # (n, n_features + 1): last = bias
    groups = [feature_group(c) for c in model.feature_names]
    raw: dict[str, np.ndarray] = {g: np.zeros(len(f)) for g in dict.fromkeys(groups)}
    for j, g in enumerate(groups):
        raw[g] += contrib[:, j]
    bias = contrib[:, -1]
    scale = f["scale"].to_numpy()
    baseline = f["baseline"].to_numpy()
    # The residual target starts from the traditional baseline: last year's week x growth when last year is
    # observed, else the recent mean. It is part of the forecast, so it is a driver too.
    base_group = np.where(np.isfinite(f["seas_0"].to_numpy()), SEASONAL, RECENT)
    residual = config.target_mode == "residual"
    if config.lgbm.objective in LOG_LINK_OBJECTIVES:
        from ml.models import LGBMGlobal

        log_base = LGBMGlobal._log_baseline(baseline) if residual else np.zeros(len(f))
        logs = {**raw, BASE_LEVEL: bias}
        for g in (SEASONAL, RECENT):
            logs[g] = logs.get(g, np.zeros(len(f))) + np.where(base_group == g, log_base, 0.0)
        total = sum(logs.values())
        pred = np.exp(total) * scale
        # log(pred / scale) = sum of log contributions: the units above the run-rate split in their proportion.
        share = np.divide(pred - scale, total, out=np.zeros(len(f)), where=np.abs(total) > 1e-12)
        units = {g: v * share for g, v in logs.items()}
    else:
        units = {g: v * scale for g, v in raw.items()}
        offset = baseline if residual else np.zeros(len(f))
        units[BASE_LEVEL] = (bias - 1.0) * scale  # the run-rate is 1 on the scale-free target
        for g in (SEASONAL, RECENT):
            units[g] = units.get(g, np.zeros(len(f))) + np.where(base_group == g, np.nan_to_num(offset) * scale, 0.0)
        pred = scale + sum(units.values())
    r = pos.reindex(f["row"]).to_numpy()
    c = f["target_idx"].to_numpy() - o - 1
    base = np.zeros((len(rows), horizon))
    base[r, c] = pred
    out = {}
    for g, v in units.items():
        m = np.zeros((len(rows), horizon))
        m[r, c] = v
        out[g] = m
    return base, out


def statistical_drivers(family: str, base: np.ndarray, scale: np.ndarray) -> dict[str, np.ndarray]:
    """A statistical model's forecast minus the run-rate, as the one component that model has."""
    group = SEASONAL if family in ("seasonal_naive", "traditional", "mstl", "profile") else STAT
    return {group: base - scale[:, None]}


def drivers_frame(node_ids: np.ndarray, weeks: pd.DatetimeIndex, run_rate: np.ndarray,
                  drivers: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per node x week: run_rate, ``drivers`` (JSON {group: units}, largest |units| first, groups that
    are exactly 0 left out) and ``top_drivers`` (the TOP_DRIVERS largest, comma-separated)."""
    n, horizon = next(iter(drivers.values())).shape
    names = [g for g in DRIVER_GROUPS if g in drivers]
    stack = np.stack([drivers[g] for g in names], axis=-1).reshape(n * horizon, len(names))
    order = np.argsort(-np.abs(stack), axis=1)
    js, tops = [], []
    for vals, idx in zip(stack, order, strict=True):
        d = {names[i]: round(float(vals[i]), 4) for i in idx if vals[i] != 0}
        js.append(json.dumps(d, ensure_ascii=False))
        tops.append(", ".join(list(d)[:TOP_DRIVERS]))
    return pd.DataFrame({"node_id": np.repeat(node_ids, horizon), "week_start": np.tile(weeks, n),
                         "run_rate": np.repeat(run_rate, horizon), "drivers": js, "top_drivers": tops})


def parse_drivers(values: pd.Series) -> pd.DataFrame:
    """The ``drivers`` JSON column as a wide frame of units per group (0 where a group is absent)."""
    rows = [json.loads(v) if isinstance(v, str) and v else {} for v in values]
    return pd.DataFrame(rows, index=values.index).reindex(columns=list(DRIVER_GROUPS)).fillna(0.0)
