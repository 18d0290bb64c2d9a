"""The mlforecast family: one global LightGBM over every hierarchy node, built with Nixtla's mlforecast
(lags, lag transforms, date features, target transforms, recursive or direct multi-horizon), behind the same
``fit(panel, o, config)`` / ``predict(panel, o, horizon, config)`` interface as the hand-written models, so the
Forecaster, the backtest, the calibration (conformal widths, reconciliation choice) and promotion use it as any
other family.

Each node is one mlforecast series (``unique_id`` = its panel row). Its features:

- lags of the (transformed) target, default 1-4, 13, 26 and 52 weeks;
- lag transforms: rolling means of lag 1 over 4 and 13 weeks, an expanding mean, and a 3-week rolling mean of
  lag 52 (last year's week and its neighbours);
- the calendar of the target week (``ml.calendar``: week of year, month, holidays) and every future-known
  exogenous column of the panel (promotions, price, Walmart's holiday weeks ...), read at the target week;
- static: hierarchy level, log of the number of grain series below the node, and the node's SKU and account
  manager (categorical; -1 for a node that spans several), so a department's seasonal shape is learnt across
  stores.

The target is standardised per series (``LocalStandardScaler``, optionally after ``log1p``), so one model
fits series of any scale; rows are weighted by the series' scale over the number of grain series below it, so
each level weighs about the same and an L1 objective matches WAPE on the original scale.
"""

from __future__ import annotations

import operator
import warnings

import numpy as np
import pandas as pd

from ml.config import ForecastConfig
from ml.features import Panel, origin_scale
from ml.models import MeanOf

ID, DS, Y, W = "unique_id", "ds", "y", "weight"
STATIC = ("st_level", "st_log_n_bottom", "st_sku", "st_am")
CATEGORICAL = ("st_sku", "st_am")


def _log1p_clipped(x: np.ndarray) -> np.ndarray:
    # Returns (negative weeks) are clipped to 0 before the log; module-level so the forecaster pickles.
    return np.log1p(np.maximum(x, 0.0))


def _node_codes(panel: Panel, col: str) -> np.ndarray:
    """Per node: the code of ``col`` (e.g. sku_id) shared by all its grain series, -1 when they differ."""
    h = panel.hierarchy
    codes = pd.factorize(h.bottom[col], sort=True)[0].astype(float)
    S = h.S.tocsr()
    vals = codes[S.indices]
    starts = S.indptr[:-1]
    lo = np.minimum.reduceat(vals, starts)
    hi = np.maximum.reduceat(vals, starts)
    return np.where(lo == hi, lo, -1.0)


def _exog_matrices(panel: Panel) -> dict[str, np.ndarray]:
    """Future-known columns as (n_nodes, n_weeks) matrices: the panel's future exogenous plus the calendar."""
    n = panel.Y.shape[0]
    out = {f"fut_{c}": M for c, M in panel.future_exog.items()}
    cal = panel.calendar
    for c in cal.columns:
        v = cal[c].to_numpy(dtype=float)
        if np.nanstd(v) > 0:  # a calendar column constant over the panel (e.g. no Chinese holidays) says nothing
            out[c] = np.broadcast_to(v, (n, len(v)))
    return out


def _long(panel: Panel, start: int, stop: int, exog: dict[str, np.ndarray], with_y: bool) -> pd.DataFrame:
    """Long frame of every node for weeks [start, stop): id, ds, (y), exogenous columns."""
    n = panel.Y.shape[0]
    T = stop - start
    df = {ID: np.repeat(np.arange(n), T), DS: np.tile(panel.weeks[start:stop].to_numpy(), n)}
    if with_y:
        df[Y] = np.nan_to_num(panel.Y[:, start:stop]).ravel()
    for c, M in exog.items():
        df[c] = np.asarray(M[:, start:stop], dtype=np.float32).ravel()
    return pd.DataFrame(df)


class MLForecastGlobal:
    """mlforecast + LightGBM over all nodes; settings in ``config.mlf`` (:class:`ml.config.MLFParams`)."""

    family = "mlf"

    def __init__(self) -> None:
        self.mlf = None
        self.exog_cols: list[str] = []
        self.static: pd.DataFrame | None = None

    def _static(self, panel: Panel) -> pd.DataFrame:
        nodes = panel.hierarchy.nodes
        return pd.DataFrame(
            {
                ID: np.arange(len(nodes)),
                "st_level": panel.hierarchy.level_codes,
                "st_log_n_bottom": np.log(nodes["n_bottom"].to_numpy(float)),
                "st_sku": _node_codes(panel, "sku_id"),
                "st_am": _node_codes(panel, "account_manager_id"),
            }
        )

    def _build(self, config: ForecastConfig):  # noqa: ANN202 - an unfitted mlforecast.MLForecast
        import lightgbm as lgb
        from mlforecast import MLForecast
        from mlforecast.lag_transforms import Combine, ExpandingMean, Offset, RollingMean
        from mlforecast.target_transforms import GlobalSklearnTransformer, LocalStandardScaler
        from sklearn.preprocessing import FunctionTransformer

        from ml.models import lgbm_params

        p = config.mlf
        m = config.season_length
        # Recent level from the shortest lag: with lags >= the horizon (e.g. 13), nothing a recursive forecast
        # reads is its own earlier forecast, so errors do not compound over the horizon.
        k = min(p.lags)
        lag_tf: dict[int, list] = {k: [RollingMean(4), RollingMean(13), ExpandingMean()]}
        if p.seasonal_features:
            # Year-over-year change of the last 13 weeks, and last year's target week with its neighbours
            # (a centred 3-week mean: lags 51..53).
            lag_tf[k].append(Combine(RollingMean(13), Offset(RollingMean(13, min_samples=4), m), operator.sub))
            lag_tf[m - 1] = [RollingMean(3, min_samples=1)]
        if p.sku_seasonal:
            # The SKU's mean (standardised) value over all its nodes a year ago: its seasonal shape, denoised
            # across account managers (Walmart: a department across stores).
            lag_tf.setdefault(m - 1, []).append(RollingMean(3, min_samples=1, groupby=["st_sku"]))
            lag_tf.setdefault(m, []).append(RollingMean(1, groupby=["st_sku"]))
        tfs = []
        if p.target_transform == "log_standard":
            tfs.append(GlobalSklearnTransformer(FunctionTransformer(func=_log1p_clipped, inverse_func=np.expm1)))
        if p.target_transform in ("standard", "log_standard"):
            tfs.append(LocalStandardScaler())
        # LightGBM's native names, as the lgbm family's (LGBMRegressor takes them as they are).
        params = {"n_estimators": p.n_estimators, **lgbm_params(p)}
        return MLForecast(models={"lgbm": lgb.LGBMRegressor(**params)}, freq=config.week_freq, lags=list(p.lags),
                          lag_transforms=lag_tf, target_transforms=tfs or None, num_threads=1)

    def fit(self, panel: Panel, o: int, config: ForecastConfig) -> MLForecastGlobal:
        p = config.mlf
        exog = _exog_matrices(panel)
        self.exog_cols = list(exog)
        start = max(0, o + 1 - p.max_train_weeks) if p.max_train_weeks else 0
        if config.max_train_rows:
            # the row budget in weeks of every series, never below the longest lag and a horizon of targets
            weeks = max(config.max_train_rows // panel.Y.shape[0], max(p.lags) + config.horizon)
            start = max(start, o + 1 - weeks)
        df = _long(panel, start, o + 1, exog, with_y=True)
        self.static = self._static(panel)
        df = df.merge(self.static, on=ID, how="left")
        # Each row weighs its series' scale / grain series below it: L1 on the standardised target then matches
        # every level's WAPE, and the levels weigh about the same.
        scale = origin_scale(panel.Y, o) / panel.hierarchy.nodes["n_bottom"].to_numpy(float)
        df[W] = (scale / scale.mean())[df[ID].to_numpy()]
        for c in CATEGORICAL:
            df[c] = df[c].astype(int)
        self.mlf = self._build(config)
        kw = {"id_col": ID, "time_col": DS, "target_col": Y, "static_features": list(STATIC), "dropna": False,
              "weight_col": W}
        # Integer codes declared categorical to LightGBM (pandas categories would have to match at predict time).
        # A column a groupby lag transform partitions on (st_sku) is not a feature itself.
        cats = [c for c in CATEGORICAL if not (c == "st_sku" and p.sku_seasonal)]
        fit_kw = {"lgbm": {"categorical_feature": cats}}
        with warnings.catch_warnings():
            # Exogenous columns are NaN where a plan is unknown; LightGBM treats that as missing, by design.
            warnings.filterwarnings("ignore", message="Found null values")
            if p.strategy == "direct":
                self.mlf.fit(df, max_horizon=config.horizon, models_fit_kwargs=fit_kw, **kw)
                return self
            prep = self.mlf.preprocess(df, **kw)
        X = prep[[W, *self.mlf.ts.features_order_]]
        self.mlf.fit_models(X, prep[Y].to_numpy(), models_fit_kwargs=fit_kw)
        return self

    def predict(self, panel: Panel, o: int, horizon: int, config: ForecastConfig) -> np.ndarray:
        if self.mlf is None:
            raise RuntimeError("MLForecastGlobal.predict called before fit")
        exog = _exog_matrices(panel)
        for c in self.exog_cols:  # a column absent now (no plan given) is unknown, as in LGBMGlobal
            exog.setdefault(c, np.full(panel.Y.shape, np.nan))
        exog = {c: exog[c] for c in self.exog_cols}
        p = config.mlf
        start = max(0, o + 1 - max(p.lags) - 60)  # enough weeks for the longest lag and its transforms
        new_df = _long(panel, start, o + 1, exog, with_y=True).merge(self.static, on=ID, how="left")
        for c in CATEGORICAL:
            new_df[c] = new_df[c].astype(int)
        new_df[W] = 1.0
        # Future weeks beyond the panel (a horizon longer than its exogenous plan) repeat the last known week.
        idx = np.minimum(np.arange(o + 1, o + 1 + horizon), len(panel.weeks) - 1)
        X = {ID: np.repeat(np.arange(panel.Y.shape[0]), horizon),
             DS: np.tile(pd.date_range(panel.weeks[o] + pd.Timedelta(weeks=1), periods=horizon, freq=config.week_freq).to_numpy(), panel.Y.shape[0])}
        for c, M in exog.items():
            X[c] = np.asarray(M[:, idx], dtype=np.float32).ravel()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Found null values")
            fc = self.mlf.predict(horizon, new_df=new_df, X_df=pd.DataFrame(X))
        fc = fc.sort_values([ID, DS])
        return np.nan_to_num(fc["lgbm"].to_numpy(dtype=float)).reshape(panel.Y.shape[0], horizon)

    def feature_importance(self) -> pd.DataFrame:
        if self.mlf is None:
            return pd.DataFrame(columns=["feature", "gain", "split"])
        models = self.mlf.models_["lgbm"]
        booster = (models[0] if isinstance(models, list) else models).booster_
        return (
            pd.DataFrame({"feature": booster.feature_name(), "gain": booster.feature_importance("gain"),
                          "split": booster.feature_importance("split")})
            .sort_values("gain", ascending=False)
            .reset_index(drop=True)
        )


class MeanEnsemble(MeanOf):
    """The mean of the hand-written global LightGBM (``lgbm``) and the mlforecast family's base forecasts: two
    models with different features and strategies (direct from origin features vs recursive over long lags) whose
    errors are far from perfectly correlated, so their mean beats either (Walmart bench)."""

    family = "lgbm_mlf"

    def __init__(self) -> None:
        super().__init__("lgbm_mlf", ("lgbm", "mlf"))
