"""The fitted forecaster: a base model, the reconciliation method that won on calibration origins, and
conformal prediction intervals per hierarchy level and horizon. Its ``predict`` takes changed future
exogenous values (levers) and re-forecasts without retraining.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.config import ForecastConfig
from ml.explain import RECONCILIATION, drivers_frame, lgbm_drivers, statistical_drivers
from ml.features import Panel, build_panel, origin_scale
from ml.hierarchy import Hierarchy, reconcile, residual_variances
from ml.metrics import level_metrics
from ml.models import LGBMGlobal, make_model
from ml.schema import BOTTOM_LEVEL, SERIES_ID, TIME_COL, validate_history

OUTPUT_COLS = [
    "level",
    "node_id",
    "period",
    "period_start",
    "h",
    "mean",
    "lo80",
    "hi80",
    "lo95",
    "hi95",
    "model_family",
    "model_version",
    "reconciliation",
]


# Reconciliation may not make the grain's scaled error worse than leaving the grain forecasts as they are.
GRAIN_MASE_TOLERANCE = 1e-9


def choose_reconciler(calibration_metrics: pd.DataFrame) -> str:
    """The reconciler with the lowest mean WAPE over levels among those whose grain MASE is no worse than
    bottom-up's (bottom-up leaves the grain forecasts untouched, so it is the grain's unreconciled score).

    WAPE alone is scale-blind: it is dominated by the big series, so a method that spreads aggregate
    corrections evenly over thousands of tiny grain series can win on it while multiplying their MASE.
    """
    m = calibration_metrics
    mean = m.groupby(["method", "level"])[["wape", "mase"]].mean()
    methods = list(dict.fromkeys(m["method"]))
    grain_mase = {k: float(mean.loc[(k, "grain"), "mase"]) for k in methods if (k, "grain") in mean.index}
    ref = grain_mase.get("bottom_up")
    ok = [k for k in methods if ref is None or not np.isfinite(ref) or not np.isfinite(grain_mase.get(k, np.nan))
          or grain_mase[k] <= ref * (1 + GRAIN_MASE_TOLERANCE)]
    score = mean["wape"].groupby(level="method").mean()
    return str(score.loc[ok].idxmin())


class Forecaster:
    """Fit with :meth:`fit`; forecast with :meth:`predict`. Pickles cleanly (used by the MLflow pyfunc)."""

    def __init__(self, family: str, config: ForecastConfig | None = None) -> None:
        self.family = family
        self.config = config or ForecastConfig()
        self.model = make_model(family)
        self.hierarchy: Hierarchy | None = None
        self.reconciler: str | None = None
        self.calibration_metrics: pd.DataFrame | None = None
        self.quantiles: dict[int, np.ndarray] = {}  # level -> (n_levels, horizon) normalised half-widths
        self.level_names: list[str] = []
        self.history: pd.DataFrame | None = None
        self.model_version: str = "unregistered"
        self.variances: np.ndarray | None = None  # per-node base-error variances (mint_wls_var weights)
        # level -> (n_levels, horizon) normalised half-widths of a sum of L consecutive weeks (column L - 1)
        self.period_quantiles: dict[int, np.ndarray] = {}

    # ---------------------------------------------------------------- fitting
    def fit(self, history_df: pd.DataFrame, future_exog: pd.DataFrame | None = None) -> Forecaster:
        cfg = self.config
        hist = validate_history(history_df, week_start=cfg.week_start)
        panel = build_panel(hist, cfg, future_exog=future_exog)
        self.hierarchy = panel.hierarchy
        levels = panel.hierarchy.nodes["level"].to_numpy()
        self.level_names = list(dict.fromkeys(levels))
        o_end = panel.n_hist - 1
        H = cfg.horizon
        # Calibration: refit at earlier origins, forecast the next H weeks, and keep the errors of every
        # reconciliation method. They choose the reconciler and give the conformal interval widths.
        cal_runs = []  # (origin, base, actual, scale) per calibration origin
        for k in range(cfg.calibration_origins - 1, -1, -1):
            o = o_end - H - k * cfg.calibration_step
            if o < cfg.min_history:
                continue
            model = make_model(self.family).fit(panel, o, cfg)
            base = model.predict(panel, o, H, cfg)
            cal_runs.append((o, base, panel.Y[:, o + 1 : o + 1 + H], origin_scale(panel.Y, o)))
        # mint_wls_var weights: each node's mean squared base-forecast error over the calibration origins.
        self.variances = residual_variances(np.hstack([b - a for _, b, a, _ in cal_runs])) if cal_runs else None
        methods = [m for m in cfg.reconcilers if m != "mint_wls_var" or self.variances is not None]
        cal_err: dict[str, list[np.ndarray]] = {m: [] for m in methods}
        cal_signed: dict[str, list[np.ndarray]] = {m: [] for m in methods}
        cal_rows = []
        for o, base, actual, scale in cal_runs:
            for method in methods:
                rec = reconcile(base, self.hierarchy, method, self.variances)
                cal_err[method].append(np.abs(rec - actual) / scale[:, None])
                cal_signed[method].append((rec - actual) / scale[:, None])
                m = level_metrics(actual, rec, levels, panel.Y[:, : o + 1], cfg)
                m["method"] = method
                m["cal_origin"] = str(panel.weeks[o].date())
                cal_rows.append(m)
        if cal_rows:
            self.calibration_metrics = pd.concat(cal_rows, ignore_index=True)
            self.reconciler = cfg.reconciler or choose_reconciler(self.calibration_metrics)
            errs = np.concatenate(cal_err[self.reconciler], axis=0)  # (k * n_nodes, H)
            lv = np.tile(levels, len(cal_err[self.reconciler]))
            self.quantiles = self._conformal(errs, lv)
            self.period_quantiles = self._conformal_sums(np.concatenate(cal_signed[self.reconciler], axis=0), lv)
        else:
            self.reconciler = cfg.reconciler if cfg.reconciler not in (None, "mint_wls_var") else "bottom_up"
            self.quantiles = {}
        self.model = make_model(self.family).fit(panel, o_end, cfg)
        keep = max(cfg.season_length + cfg.horizon + 13, max(cfg.lags) + max(cfg.windows)) + 1
        last_weeks = hist[TIME_COL].drop_duplicates().nlargest(keep)
        self.history = hist[hist[TIME_COL].isin(last_weeks)].drop(columns=[SERIES_ID])
        return self

    def _conformal(self, errs: np.ndarray, levels: np.ndarray) -> dict[int, np.ndarray]:
        """Quantiles of normalised absolute errors per level and horizon, pooled over h-2..h+2."""
        H = errs.shape[1]
        out = {}
        for lv in self.config.interval_levels:
            q = np.zeros((len(self.level_names), H))
            for i, name in enumerate(self.level_names):
                e = errs[levels == name]
                for h in range(H):
                    pool = e[:, max(0, h - 2) : h + 3].ravel()
                    pool = pool[np.isfinite(pool)]
                    # Finite-sample conformal correction: the ceil((n+1) q)/n empirical quantile.
                    level = min(1.0, np.ceil((len(pool) + 1) * lv / 100) / max(len(pool), 1))
                    q[i, h] = np.quantile(pool, level) if len(pool) else np.nan
            out[lv] = q
        return out

    def _conformal_sums(self, signed: np.ndarray, levels: np.ndarray) -> dict[int, np.ndarray]:
        """Quantiles of |sum of L consecutive normalised errors| per level and window length L (every start).

        A month or quarter is a sum of weeks whose errors are correlated (a level shift misses every week the
        same way), so its interval comes from summed calibration errors, not from weekly widths in quadrature.
        """
        H = signed.shape[1]
        c = np.concatenate([np.zeros((signed.shape[0], 1)), np.cumsum(np.nan_to_num(signed), axis=1)], axis=1)
        out = {}
        for lv in self.config.interval_levels:
            q = np.full((len(self.level_names), H), np.nan)
            for i, name in enumerate(self.level_names):
                ci = c[levels == name]
                for L in range(1, H + 1):
                    pool = np.abs(ci[:, L:] - ci[:, : H + 1 - L]).ravel()
                    level = min(1.0, np.ceil((len(pool) + 1) * lv / 100) / max(len(pool), 1))
                    q[i, L - 1] = np.quantile(pool, level) if len(pool) else np.nan
            out[lv] = q
        return out

    # ------------------------------------------------------------- predicting
    def predict_panel(self, panel: Panel, o: int, horizon: int, base: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Reconciled mean and interval bounds (n_nodes, horizon) for origin ``o`` of ``panel`` (``base``: the
        base forecasts when the caller already has them)."""
        if self.hierarchy is None:
            raise RuntimeError("Forecaster.predict called before fit")
        if base is None:
            base = self.model.predict(panel, o, horizon, self.config)
        mean = reconcile(base, self.hierarchy, self.reconciler, getattr(self, "variances", None))
        out = {"mean": mean}
        scale = origin_scale(panel.Y, o)
        level_idx = pd.Index(self.level_names).get_indexer(self.hierarchy.nodes["level"])
        for lv in self.config.interval_levels:
            if lv not in self.quantiles:
                out[f"lo{lv}"] = out[f"hi{lv}"] = np.full_like(mean, np.nan)
                continue
            q = self.quantiles[lv]
            qh = q[:, np.minimum(np.arange(horizon), q.shape[1] - 1)]
            half = qh[level_idx] * scale[:, None]
            out[f"lo{lv}"] = mean - half
            out[f"hi{lv}"] = mean + half
        return out

    def predict(
        self,
        history_df: pd.DataFrame | None = None,
        future_exog: pd.DataFrame | None = None,
        horizon: int | None = None,
    ) -> pd.DataFrame:
        """Forecast the weeks after the last history week at every level and at week/month/quarter.

        ``history_df`` defaults to the tail of the training history; pass newer actuals to roll forward.
        ``future_exog`` carries the planned promotions/prices (levers) for the horizon.
        """
        horizon = horizon or self.config.horizon
        hist = validate_history(self.history if history_df is None else history_df, week_start=self.config.week_start)
        panel = build_panel(hist, self.config, future_exog=future_exog, horizon=horizon, hierarchy=self.hierarchy)
        o = panel.n_hist - 1
        res = self.predict_panel(panel, o, horizon)
        return self._to_frame(panel, o, horizon, res)

    def predict_with_drivers(
        self,
        history_df: pd.DataFrame | None = None,
        future_exog: pd.DataFrame | None = None,
        horizon: int | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """:meth:`predict`, plus the drivers of every grain x week forecast (ml.explain.drivers_frame: node_id,
        week_start, run_rate, drivers JSON, top_drivers): run_rate + the drivers = the reconciled forecast."""
        horizon = horizon or self.config.horizon
        hist = validate_history(self.history if history_df is None else history_df, week_start=self.config.week_start)
        panel = build_panel(hist, self.config, future_exog=future_exog, horizon=horizon, hierarchy=self.hierarchy)
        o = panel.n_hist - 1
        base = self.model.predict(panel, o, horizon, self.config)
        res = self.predict_panel(panel, o, horizon, base=base)
        rows = np.flatnonzero(self.hierarchy.level_mask(BOTTOM_LEVEL))
        scale = origin_scale(panel.Y, o)[rows]
        if isinstance(self.model, LGBMGlobal):
            grain_base, drivers = lgbm_drivers(self.model, panel, o, horizon, self.config, rows)
        else:
            grain_base = base[rows]
            drivers = statistical_drivers(self.family, grain_base, scale)
        # What reconciliation moved, so the drivers add up to the stored forecast exactly.
        drivers[RECONCILIATION] = res["mean"][rows] - grain_base
        weeks = panel.weeks[o + 1 : o + 1 + horizon]
        expl = drivers_frame(self.hierarchy.nodes["node_id"].to_numpy()[rows], weeks, scale, drivers)
        return self._to_frame(panel, o, horizon, res), expl

    def _to_frame(self, panel: Panel, o: int, horizon: int, res: dict[str, np.ndarray]) -> pd.DataFrame:
        nodes = self.hierarchy.nodes
        n = len(nodes)
        weeks = panel.weeks[o + 1 : o + 1 + horizon]
        wk = pd.DataFrame(
            {
                "level": np.repeat(nodes["level"].to_numpy(), horizon),
                "node_id": np.repeat(nodes["node_id"].to_numpy(), horizon),
                "period": "week",
                "period_start": np.tile(weeks, n),
                "h": np.tile(np.arange(1, horizon + 1), n),
            }
        )
        for k, v in res.items():
            wk[k] = v.ravel()
        frames = [wk]
        # Temporal hierarchy: months and quarters are sums of their weeks (by week_start), so they are
        # coherent by construction. Their half-widths come from summed calibration errors over windows of the
        # same number of weeks (errors of nearby weeks are correlated); without those, weekly half-widths
        # add in quadrature.
        period_q = getattr(self, "period_quantiles", {}) or {}
        level_idx = pd.Index(self.level_names).get_indexer(nodes["level"])
        scale = origin_scale(panel.Y, o)
        node_pos = pd.Series(np.arange(n), index=pd.MultiIndex.from_frame(nodes[["level", "node_id"]]))
        # Quarters of the company's fiscal year: pandas names a quarterly period by the month its year ends in.
        year_end = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")[
            (self.config.fiscal_year_start_month - 2) % 12]
        for period, freq in (("month", "M"), ("quarter", f"Q-{year_end}")):
            g = wk.assign(period_start=wk["period_start"].dt.to_period(freq).dt.start_time)
            keys = ["level", "node_id", "period_start"]
            grouped = g.groupby(keys, sort=False)
            agg = grouped["mean"].sum().to_frame()
            n_weeks = grouped["h"].size().to_numpy()
            pos = node_pos.reindex(pd.MultiIndex.from_arrays([agg.index.get_level_values(0), agg.index.get_level_values(1)])).to_numpy()
            for lv in self.config.interval_levels:
                if lv in period_q:
                    q = period_q[lv]
                    half = q[level_idx[pos], np.minimum(n_weeks, q.shape[1]) - 1] * scale[pos]
                else:
                    half = (((g[f"hi{lv}"] - g["mean"]) ** 2).groupby([g[k] for k in keys], sort=False).sum() ** 0.5).to_numpy()
                agg[f"lo{lv}"] = agg["mean"] - half
                agg[f"hi{lv}"] = agg["mean"] + half
            agg = agg.reset_index()
            agg["period"] = period
            agg["h"] = grouped["h"].max().to_numpy()
            frames.append(agg)
        out = pd.concat(frames, ignore_index=True)
        for col in ("lo80", "hi80", "lo95", "hi95"):
            if col not in out.columns:
                out[col] = np.nan
        out["model_family"] = self.family
        out["model_version"] = self.model_version
        out["reconciliation"] = self.reconciler
        extra = [c for c in out.columns if c not in OUTPUT_COLS]
        return out[OUTPUT_COLS + extra]

    def feature_importance(self) -> pd.DataFrame | None:
        fi = getattr(self.model, "feature_importance", None)
        return fi() if fi else None


def forecast(
    model: Forecaster | object,
    history_df: pd.DataFrame | None = None,
    future_exog: pd.DataFrame | None = None,
    horizon: int = 13,
) -> pd.DataFrame:
    """Forecast with a fitted Forecaster or an MLflow pyfunc of one (e.g. from ``load_champion``).

    Returns OUTPUT_COLS rows: every node of every level x week/month/quarter with mean, lo80, hi80,
    lo95, hi95, model_version and the reconciliation method.
    """
    if isinstance(model, Forecaster):
        return model.predict(history_df, future_exog, horizon=horizon)
    unwrap = getattr(model, "unwrap_python_model", None)
    if unwrap is None:
        raise TypeError(f"forecast() needs a Forecaster or an MLflow pyfunc of one, got {type(model).__name__}")
    return unwrap().forecaster.predict(history_df, future_exog, horizon=horizon)
