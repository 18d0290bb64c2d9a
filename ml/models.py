"""Base forecasting models, all with one interface: fit on a panel up to origin ``o``, then return
base forecasts (n_nodes x horizon) for every hierarchy node from origin ``o``.

- seasonal_naive: the value 52 weeks before the target week (last value when there is no year).
- traditional: the sales-team method, last year's same week x year-over-year growth of the last 13 weeks.
- ets: statsforecast AutoETS, one local model per node (every aggregated series too).
- moving_average: the mean of the last 4 weeks.
- mstl: statsforecast MSTL with a 52-week season (AutoETS trend) where two years of history exist.
- croston_sba, tsb, adida, imapa: statsforecast's intermittent-demand family, per node.
- lgbm: one global LightGBM over all nodes and horizons (direct strategy, scale-free target).
- mlf: one global LightGBM over all nodes built with Nixtla's mlforecast (ml.mlf).
- lgbm_mlf: the mean of lgbm's and mlf's base forecasts (ml.mlf.MeanEnsemble).
- lgbm_profile: the mean of lgbm's and profile's base forecasts (MeanOf).
- profile: the seasonal profile, last year's holiday-aligned week of the SKU-pooled denoised history x recent
  growth (ml.features.profile_forecast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import lightgbm as lgb
import numpy as np
import pandas as pd

from ml.calendar import CALENDAR_COLS
from ml.config import ForecastConfig
from ml.features import (
    META_COLS,
    SCALE_WINDOW,
    Panel,
    _window,
    origin_block,
    origin_features,
    origin_scale,
    profile_forecast,
)

if TYPE_CHECKING:
    from ml.config import LGBMParams


class BaseModel(Protocol):
    family: str

    def fit(self, panel: Panel, o: int, config: ForecastConfig) -> BaseModel: ...

    def predict(self, panel: Panel, o: int, horizon: int, config: ForecastConfig) -> np.ndarray: ...


class SeasonalNaive:
    family = "seasonal_naive"

    def fit(self, panel: Panel, o: int, config: ForecastConfig) -> SeasonalNaive:
        return self

    def predict(self, panel: Panel, o: int, horizon: int, config: ForecastConfig) -> np.ndarray:
        Y, m = panel.Y, config.season_length
        out = np.empty((Y.shape[0], horizon))
        for h in range(1, horizon + 1):
            src = o + h - m
            # Walk back whole seasons until the source week is observed (h > m) or fall back to last value.
            while src > o:
                src -= m
            out[:, h - 1] = Y[:, src] if src >= 0 else Y[:, o]
        return out


class Traditional:
    """Year-over-year x seasonal coefficient: y(t-52) * sum(last 13 w) / sum(same 13 w a year earlier)."""

    family = "traditional"

    def fit(self, panel: Panel, o: int, config: ForecastConfig) -> Traditional:
        return self

    def predict(self, panel: Panel, o: int, horizon: int, config: ForecastConfig) -> np.ndarray:
        Y, m = panel.Y, config.season_length
        recent = np.nansum(_window(Y, o, SCALE_WINDOW), axis=1)
        naive = SeasonalNaive().predict(panel, o, horizon, config)
        if o - m < SCALE_WINDOW - 1:
            level = np.nanmean(_window(Y, o, SCALE_WINDOW), axis=1)
            return np.repeat(level[:, None], horizon, axis=1)
        year_ago = np.nansum(_window(Y, o - m, SCALE_WINDOW), axis=1)
        growth = np.where(year_ago > 0, recent / np.where(year_ago > 0, year_ago, 1.0), 1.0)
        growth = np.clip(growth, 0.5, 2.0)
        return naive * growth[:, None]


class MovingAverage:
    """Mean of the last ``MA_WINDOW`` weeks, flat over the horizon: the simple method a planner reaches for."""

    family = "moving_average"

    def fit(self, panel: Panel, o: int, config: ForecastConfig) -> MovingAverage:
        return self

    def predict(self, panel: Panel, o: int, horizon: int, config: ForecastConfig) -> np.ndarray:
        level = np.nanmean(_window(panel.Y, o, MA_WINDOW), axis=1)
        return np.repeat(np.nan_to_num(level)[:, None], horizon, axis=1)


MA_WINDOW = 4


class SeasonalProfile:
    """Last year's holiday-aligned week, denoised across account managers, x recent growth: the traditional
    method made robust (ml.features.profile_forecast; ``config.holiday_alignment``, ``config.profile_rank``)."""

    family = "profile"

    def fit(self, panel: Panel, o: int, config: ForecastConfig) -> SeasonalProfile:
        return self

    def predict(self, panel: Panel, o: int, horizon: int, config: ForecastConfig) -> np.ndarray:
        return profile_forecast(panel, o, horizon, config)


class StatsForecastLocal:
    """One statsforecast model fitted per node (every aggregated series too), re-estimated at each origin."""

    family = "stats"

    def fit(self, panel: Panel, o: int, config: ForecastConfig) -> StatsForecastLocal:
        return self  # local models are re-estimated at predict time from the series up to the origin

    def make(self, n_weeks: int, config: ForecastConfig):  # noqa: ANN201 - a statsforecast model
        raise NotImplementedError

    def predict(self, panel: Panel, o: int, horizon: int, config: ForecastConfig) -> np.ndarray:
        from statsforecast import StatsForecast

        Y = np.nan_to_num(panel.Y[:, : o + 1])
        n, T = Y.shape
        df = pd.DataFrame({"unique_id": np.repeat(np.arange(n), T), "ds": np.tile(np.arange(T), n), "y": Y.ravel()})
        model = self.make(T, config)
        sf = StatsForecast(models=[model], freq=1, n_jobs=1)
        fc = sf.forecast(df=df, h=horizon)
        col = [c for c in fc.columns if c not in ("unique_id", "ds")][0]
        vals = fc.sort_values(["unique_id", "ds"])[col].to_numpy(dtype=float)
        return np.nan_to_num(vals.reshape(n, horizon))


class ETS(StatsForecastLocal):
    """AutoETS with ``ets_season_length`` (1 = non-seasonal, the historical default)."""

    family = "ets"

    def make(self, n_weeks: int, config: ForecastConfig):  # noqa: ANN201
        from statsforecast.models import AutoETS

        return AutoETS(season_length=config.ets_season_length)


class MSTLSeasonal(StatsForecastLocal):
    """MSTL with a 52-week season (AutoETS on the deseasonalised trend) where two full years of history
    exist; a non-seasonal AutoETS otherwise (a 52-week season cannot be estimated from less)."""

    family = "mstl"

    def make(self, n_weeks: int, config: ForecastConfig):  # noqa: ANN201
        from statsforecast.models import MSTL, AutoETS

        m = config.season_length
        if n_weeks >= 2 * m + 1:
            return MSTL(season_length=m, trend_forecaster=AutoETS(model="ZZN"), alias="mstl")
        return AutoETS(season_length=1, alias="mstl")


class Intermittent(StatsForecastLocal):
    """statsforecast's intermittent-demand family, one model per node:

    - croston_sba: Croston with the Syntetos-Boylan bias correction (order size and interval smoothed);
    - tsb: Teunter-Syntetos-Babai, whose ordering probability can decay (obsolescence);
    - adida: aggregate to the mean inter-order interval, forecast, disaggregate;
    - imapa: ADIDA averaged over several aggregation levels.
    """

    MODELS = {"croston_sba": ("CrostonSBA", {}), "tsb": ("TSB", {"alpha_d": 0.1, "alpha_p": 0.1}),
              "adida": ("ADIDA", {}), "imapa": ("IMAPA", {})}

    def __init__(self, family: str) -> None:
        if family not in self.MODELS:
            raise ValueError(f"unknown intermittent family {family!r}; choose from {sorted(self.MODELS)}")
        self.family = family

    def make(self, n_weeks: int, config: ForecastConfig):  # noqa: ANN201
        import statsforecast.models as sfm

        cls, kwargs = self.MODELS[self.family]
        return getattr(sfm, cls)(**kwargs)


def _ml_threads() -> int | None:
    # Imported here, not at module level: a served model (mlflow.pyfunc.load_model of the champion, with
    # only the ml package in its code_paths) must load and predict without the project installed.
    from lodestar.settings import get_settings

    return get_settings().ml_threads


def lgbm_params(p: LGBMParams) -> dict:
    """LightGBM's native parameters for ``p`` (the tree count aside: ``num_boost_round`` or ``n_estimators``);
    ``lgb.train`` and ``lgb.LGBMRegressor`` both take them as they are."""
    params = {
        "objective": p.objective,
        "alpha": p.alpha,
        "learning_rate": p.learning_rate,
        "num_leaves": p.num_leaves,
        "min_child_samples": p.min_child_samples,
        "feature_fraction": p.feature_fraction,
        "bagging_fraction": p.bagging_fraction,
        "bagging_freq": p.bagging_freq,
        "lambda_l2": p.lambda_l2,
        "max_bin": p.max_bin,
        "num_threads": _ml_threads() or p.num_threads,
        "seed": p.seed,
        "verbose": -1,
    }
    if p.objective == "tweedie":
        params["tweedie_variance_power"] = p.tweedie_variance_power
    return params


LOG_LINK_OBJECTIVES = ("tweedie", "poisson", "gamma")
BASELINE_FLOOR = 0.1


def origins_within_budget(origins: list[int], o: int, horizon: int, n_series: int, max_rows: int | None) -> list[int]:
    """The most recent training origins whose stacked rows (``n_series`` x the horizon seen from each) fit
    ``max_rows``; the newest origin always stays, so a budget below one origin still trains."""
    if not max_rows:
        return origins
    kept: list[int] = []
    rows = 0
    for oo in reversed(origins):
        r = n_series * min(horizon, o - oo)
        if kept and rows + r > max_rows:
            break
        kept.append(oo)
        rows += r
    return kept[::-1]


class LGBMGlobal:
    """Global gradient-boosted model over all nodes, origins and horizons (direct multi-horizon).

    The target is y / scale(origin), weighted by scale / n_bottom so each hierarchy level weighs about the
    same and an L1 objective matches WAPE on the original scale.
    """

    family = "lgbm"

    def __init__(self) -> None:
        self.booster: lgb.Booster | None = None
        self.feature_names: list[str] = []

    def training_frame(self, panel: Panel, o: int, config: ForecastConfig) -> pd.DataFrame:
        H = config.horizon
        first = config.min_history - 1
        last_origin = o - 1
        origins = list(range(last_origin, first - 1, -config.origin_stride))[::-1]
        if config.max_train_origins:
            origins = origins[-config.max_train_origins :]
        if not origins:
            raise ValueError(f"not enough history before origin {o} to train (min_history={config.min_history})")
        origins = origins_within_budget(origins, o, H, panel.Y.shape[0], config.max_train_rows)
        blocks, names = [], []
        for oo in origins:
            names, mat = origin_block(panel, oo, min(H, o - oo), config)
            blocks.append(mat)
        return pd.DataFrame(np.vstack(blocks), columns=names)

    def fit(self, panel: Panel, o: int, config: ForecastConfig) -> LGBMGlobal:
        train = self.training_frame(panel, o, config)
        train = train[np.isfinite(train["y_target"])]
        # With less than a season of history a week-of-year or month feature is no seasonality to learn: every
        # value was seen once, so the trees use it as a clock and carry the last weeks' level into the horizon's
        # unseen weeks (Online Retail, 17 weeks: see bench/forecast_online_retail.py). Holiday flags go with it: a
        # holiday seen once is one spike, not an effect.
        short = o + 1 < config.season_length
        self.feature_names = [c for c in train.columns if c not in META_COLS and not (short and c in CALENDAR_COLS)]
        X = train[self.feature_names].to_numpy(dtype=np.float32)
        # Clipping the scale-free target keeps a handful of returns/one-off orders from steering the trees.
        y = np.clip((train["y_target"] / train["scale"]).to_numpy(), -5.0, 20.0)
        init = None
        if config.lgbm.objective in LOG_LINK_OBJECTIVES:
            # A log-link objective needs y >= 0 (returns are clipped away) and learns a mean, so grain forecasts
            # of intermittent series sum to unbiased aggregates (L1/huber learn a median, ~0 for them).
            # "residual" starts every row at the baseline: the trees learn a multiplicative correction to it.
            y = np.maximum(y, 0.0)
            if config.target_mode == "residual":
                init = self._log_baseline(train["baseline"].to_numpy())
        elif config.target_mode == "residual":
            y = y - train["baseline"].to_numpy()
        n_bottom = panel.hierarchy.nodes["n_bottom"].to_numpy(float)[train["row"].to_numpy().astype(int)]
        w = train["scale"].to_numpy() / n_bottom
        w = w / w.mean()
        p = config.lgbm
        params = lgbm_params(p)
        ds = lgb.Dataset(X, y, weight=w, init_score=init, feature_name=self.feature_names, free_raw_data=True)
        self.booster = lgb.train(params, ds, num_boost_round=p.n_estimators)
        return self

    def predict(self, panel: Panel, o: int, horizon: int, config: ForecastConfig) -> np.ndarray:
        if self.booster is None:
            raise RuntimeError("LGBMGlobal.predict called before fit")
        f = origin_features(panel, o, horizon, config)
        for c in self.feature_names:
            if c not in f.columns:
                f[c] = np.nan  # an exogenous column absent at predict time is treated as missing
        X = f[self.feature_names].to_numpy(dtype=np.float32)
        if config.lgbm.objective in LOG_LINK_OBJECTIVES:
            raw = self.booster.predict(X, num_threads=1, raw_score=True)
            if config.target_mode == "residual":
                raw = raw + self._log_baseline(f["baseline"].to_numpy())
            pred = np.exp(raw)
        else:
            pred = self.booster.predict(X, num_threads=1)
            if config.target_mode == "residual":
                pred = pred + f["baseline"].to_numpy()
        pred = pred * f["scale"].to_numpy()
        n = panel.Y.shape[0]
        out = np.empty((n, horizon))
        out[f["row"].to_numpy(), f["target_idx"].to_numpy() - o - 1] = pred
        return out

    @staticmethod
    def _log_baseline(baseline: np.ndarray) -> np.ndarray:
        # Floor at 0.1 of the series' scale: a baseline of 0 (nothing sold a year ago) would pin log(0).
        return np.log(np.maximum(np.nan_to_num(baseline, nan=0.0), BASELINE_FLOOR))

    def feature_importance(self) -> pd.DataFrame:
        if self.booster is None:
            return pd.DataFrame(columns=["feature", "gain", "split"])
        return (
            pd.DataFrame(
                {
                    "feature": self.feature_names,
                    "gain": self.booster.feature_importance("gain"),
                    "split": self.booster.feature_importance("split"),
                }
            )
            .sort_values("gain", ascending=False)
            .reset_index(drop=True)
        )


MODEL_REGISTRY = {"seasonal_naive": SeasonalNaive, "traditional": Traditional, "moving_average": MovingAverage, "ets": ETS,
                  "mstl": MSTLSeasonal, "lgbm": LGBMGlobal, "profile": SeasonalProfile,
                  **{fam: (lambda fam=fam: Intermittent(fam)) for fam in Intermittent.MODELS}}


def _mlf() -> BaseModel:
    from ml.mlf import MLForecastGlobal  # mlforecast loads only when the family is used

    return MLForecastGlobal()


def _lgbm_mlf() -> BaseModel:
    from ml.mlf import MeanEnsemble

    return MeanEnsemble()


ENSEMBLE_GRID = np.linspace(0.0, 1.0, 21)  # candidate weights of the first member (step 0.05)


def backtest_weights(preds: list[np.ndarray], actual: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Weight of the first of two members per row: the grid weight with the lowest summed absolute error of
    ``w * a + (1 - w) * b`` against ``actual`` (NaN cells ignored), over the rows of each group (``groups`` =
    one label per row; None = one weight for all rows). Rows of a group without an observed cell get 0.5."""
    a, b = preds
    ok = np.isfinite(actual) & np.isfinite(a) & np.isfinite(b)
    d, r = np.where(ok, a - b, 0.0), np.where(ok, actual - b, 0.0)
    # err[k, row] = sum over weeks |w_k * d - r|
    err = np.abs(ENSEMBLE_GRID[:, None, None] * d[None] - r[None]).sum(axis=2)
    labels = np.zeros(len(a), dtype=int) if groups is None else pd.factorize(groups)[0]
    n_groups = labels.max() + 1
    per_group = np.zeros((len(ENSEMBLE_GRID), n_groups))
    np.add.at(per_group.T, labels, err.T)
    seen = np.bincount(labels, weights=ok.sum(axis=1), minlength=n_groups) > 0
    w = np.where(seen, ENSEMBLE_GRID[per_group.argmin(axis=0)], 0.5)
    return w[labels]


class MeanOf:
    """The mean of several families' base forecasts, each fitted on the same panel and origin.

    lgbm_profile = lgbm + profile: the global LightGBM learns corrections from at most a year of seasonal
    history, the profile reads last year's shape directly; where the trees have seen few seasonal rows (an
    origin barely a year into the data) the profile holds the mean up (Walmart bench).

    ForecastConfig.ensemble_weighting backtest_global | backtest_sku (two members): the members are first
    refitted one horizon before ``o`` and scored on the weeks up to ``o``; the weight of each member is the
    convex weight with the lowest absolute error there, over all grain series or per SKU (every aggregate node
    takes the all-grain weight). Only history up to ``o`` is read."""

    def __init__(self, family: str, members: tuple[str, ...]) -> None:
        self.family = family
        self.members = [make_model(m) for m in members]
        self.member_names = members
        self.weights: np.ndarray | None = None  # first member's weight per node (None = plain mean)

    def fit(self, panel: Panel, o: int, config: ForecastConfig) -> MeanOf:
        self.weights = None
        H = config.horizon
        if config.ensemble_weighting != "mean" and len(self.members) == 2 and o - H >= config.min_history:
            inner = [make_model(m).fit(panel, o - H, config).predict(panel, o - H, H, config) for m in self.member_names]
            actual = panel.Y[:, o - H + 1 : o + 1]
            grain = panel.hierarchy.level_mask("grain")
            w = np.full(len(actual), float(backtest_weights([p[grain] for p in inner], actual[grain], None)[0]))
            if config.ensemble_weighting == "backtest_sku":
                w[grain] = backtest_weights([p[grain] for p in inner], actual[grain], panel.hierarchy.bottom["sku_id"].to_numpy())
            self.weights = w
        for m in self.members:
            m.fit(panel, o, config)
        return self

    def predict(self, panel: Panel, o: int, horizon: int, config: ForecastConfig) -> np.ndarray:
        preds = [m.predict(panel, o, horizon, config) for m in self.members]
        if self.weights is None:
            return np.mean(preds, axis=0)
        w = self.weights[:, None]
        return w * preds[0] + (1 - w) * preds[1]

    def feature_importance(self) -> pd.DataFrame:
        frames = [m.feature_importance().assign(model=m.family) for m in self.members if hasattr(m, "feature_importance")]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["feature", "gain", "split"])


MODEL_REGISTRY["mlf"] = _mlf
MODEL_REGISTRY["lgbm_mlf"] = _lgbm_mlf
MODEL_REGISTRY["lgbm_profile"] = lambda: MeanOf("lgbm_profile", ("lgbm", "profile"))


def make_model(family: str) -> BaseModel:
    try:
        return MODEL_REGISTRY[family]()
    except KeyError:
        raise ValueError(f"unknown model family {family!r}; choose from {sorted(MODEL_REGISTRY)}") from None


__all__ = ["ETS", "Intermittent", "LGBMGlobal", "MSTLSeasonal", "MovingAverage", "SeasonalNaive", "MeanOf", "SeasonalProfile", "Traditional",
           "make_model", "origin_scale"]
