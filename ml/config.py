"""One validated configuration object for the forecaster: features, models, backtest, intervals, cost."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ml.schema import week_freq

MODEL_FAMILIES = ("seasonal_naive", "traditional", "moving_average", "ets", "mstl", "croston_sba", "tsb", "adida", "imapa", "lgbm", "mlf", "lgbm_mlf", "profile", "lgbm_profile")
RECONCILERS = ("bottom_up", "mint_ols", "mint_wls_struct", "mint_wls_var")


class LGBMParams(BaseModel):
    """LightGBM settings; threads are capped because the training box is shared."""

    model_config = ConfigDict(extra="forbid")
    # tweedie: a log-link mean on the scale-free target, so intermittent grain forecasts sum to unbiased
    # aggregates; measured at ~1/3 (Walmart) to ~1/12 (demo scale 1) of the CPU of the L1 objective it replaced.
    objective: str = "tweedie"
    # Huber's delta (and the quantile of objective="quantile"); on the scale-free target a small delta makes
    # huber nearly L1 at the cost of a gradient step, without L1's per-leaf median renewal.
    alpha: float = Field(0.9, gt=0)
    tweedie_variance_power: float = Field(1.2, ge=1.0, lt=2.0)
    n_estimators: int = Field(400, ge=1, le=5000)
    learning_rate: float = Field(0.05, gt=0, le=1)
    num_leaves: int = Field(63, ge=4, le=1024)
    min_child_samples: int = Field(50, ge=1)
    feature_fraction: float = Field(0.8, gt=0, le=1)
    bagging_fraction: float = Field(0.8, gt=0, le=1)
    bagging_freq: int = Field(1, ge=0)
    lambda_l2: float = Field(1.0, ge=0)
    max_bin: int = Field(63, ge=15, le=255)
    # One thread by default: on a shared 2-core box two threads measured ~6x slower than one.
    num_threads: int = Field(1, ge=1, le=4)
    seed: int = 7


class MLFParams(LGBMParams):
    """The mlforecast family (ml.mlf): features, target transform, strategy, and its LightGBM (the LGBMParams
    fields, with this family's own defaults)."""

    # Lags of at least the horizon (13 weeks) make the recursive forecast read no forecast of its own; with
    # lags 1-4 its errors compound (Walmart, 2011-06-27 origin: grain WAPE 0.107 with lags 1-4, 0.098 without).
    lags: list[int] = Field(default_factory=lambda: [13, 14, 15, 16, 17, 26, 52])
    # standard: per-series LocalStandardScaler; log_standard: log1p, then the scaler; none: raw units.
    target_transform: str = Field("standard", pattern="^(standard|log_standard|none)$")
    # recursive: one model, its own forecasts feed the short lags; direct: one model per horizon (max_horizon).
    strategy: str = Field("recursive", pattern="^(recursive|direct)$")
    max_train_weeks: int | None = Field(None, ge=8, description="train on the last n weeks only (None = all)")
    seasonal_features: bool = True
    sku_seasonal: bool = False
    # This family's LightGBM defaults: L1 on the standardised, scale-weighted target matches every level's WAPE
    # (ml.mlf); a log-link objective needs target_transform "none", as the standardised target goes negative.
    objective: str = "l1"
    n_estimators: int = Field(300, ge=1, le=5000)

    @field_validator("lags")
    @classmethod
    def _lags(cls, v: list[int]) -> list[int]:
        if not v or min(v) < 1:
            raise ValueError("must be a non-empty list of positive integers")
        return sorted(set(v))


class ForecastConfig(BaseModel):
    """Forecaster configuration: what the Dagster launchpad, the CLI and the bench all edit."""

    model_config = ConfigDict(extra="forbid")
    horizon: int = Field(13, ge=1, le=52)
    lags: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 8, 13])
    windows: list[int] = Field(default_factory=lambda: [4, 8, 13, 26])
    season_length: int = Field(52, ge=2)
    # Direct multi-horizon training: how many recent forecast origins to stack into the training set.
    max_train_origins: int | None = Field(None, ge=1)
    origin_stride: int = Field(1, ge=1, description="use every n-th origin (counted back from the cutoff) to cut training rows")
    # A bound on the training rows of the global models, so memory and time stop growing with history x series: the
    # lgbm family keeps the most recent origins whose rows fit (series x horizon each), the mlf family the most recent
    # weeks (series each, never fewer than its longest lag + a horizon). None = no bound.
    max_train_rows: int | None = Field(None, ge=1, description="training rows of the global models, newest first")
    min_history: int = Field(8, ge=1, description="weeks of history an origin needs to become a training row")
    # residual: learn y/scale - baseline (the traditional forecast), so last year's peaks carry over even
    # when no peak of that size is in the training targets (trees cannot extrapolate). ratio: learn y/scale.
    target_mode: str = Field("residual", pattern="^(residual|ratio)$")
    # The seasonal profile (ml.features.profile_forecast, family "profile"): last year's holiday-aligned week of
    # the SKU-pooled denoised history x recent growth. holiday_alignment: none | us | cn (ml.calendar.season_shift_days);
    # profile_rank: SVD rank of a SKU's grain series across account managers (0 = raw history).
    holiday_alignment: str = Field("none", pattern="^(none|us|cn)$")
    profile_rank: int = Field(8, ge=0, le=64)
    # Where the profile's year-over-year growth is read: the raw grain history, or the pooled denoised one.
    profile_growth: str = Field("raw", pattern="^(raw|denoised)$")
    # What the residual target of the lgbm family corrects: the traditional forecast, or the seasonal profile.
    baseline: str = Field("traditional", pattern="^(traditional|profile)$")
    # How MeanOf (lgbm_profile) combines its members: a plain mean, or per SKU the convex weight with the lowest
    # absolute error of the members refitted one horizon earlier (inner backtest: a second fit of each member, about
    # a third more CPU on the Walmart bench).
    ensemble_weighting: str = Field("mean", pattern="^(mean|backtest_global|backtest_sku)$")
    lgbm: LGBMParams = Field(default_factory=LGBMParams)
    mlf: MLFParams = Field(default_factory=MLFParams)
    ets_season_length: int = Field(1, ge=1, description="AutoETS season; 52 needs > 2 years of weekly data")
    reconcilers: list[str] = Field(default_factory=lambda: list(RECONCILERS))
    reconciler: str | None = Field(None, description="fixed method; None = chosen by calibration WAPE")
    interval_levels: list[int] = Field(default_factory=lambda: [80, 95])
    calibration_origins: int = Field(2, ge=1, le=8, description="held-back origins used for conformal intervals")
    calibration_step: int = Field(4, ge=1, description="weeks between calibration origins (the latest is horizon weeks back)")
    chinese_calendar: bool = True
    # The company's fiscal year (lodestar.yaml calendar.fiscal_year_start_month): the quarter feature counts from it.
    fiscal_year_start_month: int = Field(1, ge=1, le=12)
    # The company's week (lodestar.yaml calendar.week_start): every week_start of the history and the forecast is
    # this weekday, and the weekly grid its pandas frequency (week_freq: W-MON, W-SUN, ...).
    week_start: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "monday"
    extra_future_exog: list[str] = Field(default_factory=list)
    extra_observed_exog: list[str] = Field(default_factory=list)
    # Where backtest fits run: in this process, or on a Dask cluster (dask_address, else a LocalCluster of
    # dask_workers single-threaded processes on 127.0.0.1).
    executor: str = Field("local", pattern="^(local|dask)$")
    dask_address: str | None = None
    dask_workers: int = Field(2, ge=1, le=64)
    cost_factor_wan_per_pp_month: float = Field(
        0.87, ge=0, description="inventory holding cost, 万元 per month per percentage point of deviation"
    )

    @property
    def week_freq(self) -> str:
        """The pandas frequency of the forecast's weeks (``W-MON`` for Monday weeks)."""
        return week_freq(self.week_start)

    def __setstate__(self, state: dict) -> None:
        # A forecaster pickled before a field existed (an older @champion) gets that field's default.
        values = state.get("__dict__", {})
        for name, info in type(self).model_fields.items():
            if name not in values and not info.is_required():
                values[name] = info.get_default(call_default_factory=True)
        super().__setstate__(state)

    @field_validator("lags", "windows")
    @classmethod
    def _positive_sorted(cls, v: list[int]) -> list[int]:
        if not v or min(v) < 1:
            raise ValueError("must be a non-empty list of positive integers")
        return sorted(set(v))

    @field_validator("reconcilers")
    @classmethod
    def _known_reconcilers(cls, v: list[str]) -> list[str]:
        unknown = set(v) - set(RECONCILERS)
        if unknown or not v:
            raise ValueError(f"unknown reconciler(s) {sorted(unknown)}; choose from {RECONCILERS}")
        return v

    @field_validator("reconciler")
    @classmethod
    def _known_reconciler(cls, v: str | None) -> str | None:
        if v is not None and v not in RECONCILERS:
            raise ValueError(f"unknown reconciler {v!r}; choose from {RECONCILERS}")
        return v

    @field_validator("interval_levels")
    @classmethod
    def _levels(cls, v: list[int]) -> list[int]:
        if any(lv <= 0 or lv >= 100 for lv in v):
            raise ValueError("interval levels are percentages in (0, 100)")
        return sorted(set(v))
