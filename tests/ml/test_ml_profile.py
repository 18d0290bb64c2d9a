"""The seasonal profile: holiday-aligned "same week last year" (ml.calendar.season_shift_days,
ml.features.aligned_last_year), SKU-pooled denoising (ml.features.pooled_denoise), the profile family and
lgbm_profile (the mean of lgbm and profile), on synthetic demand whose holidays and noise are known."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from conftest import NOISE_SD, make_history
from dateutil.easter import easter

from ml.backtest import backtest, default_cutoffs
from ml.calendar import season_shift_days
from ml.config import ForecastConfig, LGBMParams
from ml.features import aligned_last_year, build_panel, pooled_denoise, profile_forecast
from ml.models import LGBMGlobal, MeanOf, SeasonalProfile, make_model
from ml.schema import validate_history


def test_season_shift_days_aligns_fixed_and_moving_holidays() -> None:
    weeks = pd.date_range("2010-02-01", "2012-01-30", freq="W-MON")
    us = pd.Series(season_shift_days(weeks, "us"), index=weeks)
    # An ordinary week (and Thanksgiving, a weekday rule) looks back 52 weeks to the day.
    assert us[pd.Timestamp("2011-10-03")] == 364 and us[pd.Timestamp("2011-11-21")] == 364
    # Christmas 2011: the same calendar dates of 2010, a day more than 52 weeks.
    assert us[pd.Timestamp("2011-12-19")] == 365 and us[pd.Timestamp("2011-12-26")] == 365
    # Easter 2011 (24 April) is 55 weeks after Easter 2010 (4 April).
    assert us[pd.Timestamp("2011-04-18")] == (easter(2011) - easter(2010)).days == 385
    assert (season_shift_days(weeks, "none") == 364).all()
    with pytest.raises(ValueError, match="unknown holiday alignment"):
        season_shift_days(weeks, "fr")


def test_aligned_last_year_mixes_the_two_weeks_a_fractional_shift_straddles() -> None:
    M = np.arange(60, dtype=float)[None, :] * np.array([[1.0], [2.0]])
    shift = np.full(60, 364.0)
    shift[55] = 365.0  # 52 weeks and a day: 6/7 of week 3, 1/7 of week 2
    shift[56] = 385.0  # 55 weeks exactly
    got = aligned_last_year(M, shift, np.array([54, 55, 56]), o=53)
    np.testing.assert_allclose(got[0], [2.0, 3 * 6 / 7 + 2 / 7, 1.0])
    np.testing.assert_allclose(got[1], 2 * got[0])
    # A source week after the origin is unknown, not read.
    assert np.isnan(aligned_last_year(M, np.full(60, 7.0), np.array([55]), o=53)).all()


def _easter_history(n_weeks: int = 120, seed: int = 5) -> pd.DataFrame:
    """make_history plus an Easter spike of +150% in the week (Monday start) that holds Easter Sunday."""
    df = make_history(n_am=3, n_sku=3, n_weeks=n_weeks, seed=seed)
    years = range(df["week_start"].dt.year.min(), df["week_start"].dt.year.max() + 1)
    starts = {pd.Timestamp(easter(y) - dt.timedelta(days=6)) for y in years}
    spike = df["week_start"].isin(starts)
    df.loc[spike, "y"] *= 2.5
    return df


def test_profile_forecasts_the_easter_week_where_seasonal_naive_misses_it() -> None:
    df = _easter_history()
    # Easter 2024 is 31 March (week of 25 March); the origin is 6 weeks before it.
    cfg = ForecastConfig(chinese_calendar=False, holiday_alignment="us", profile_rank=2)
    panel = build_panel(validate_history(df), cfg)
    o = panel.week_index("2024-02-12")
    t = panel.week_index("2024-03-25") - o - 1
    grain = panel.hierarchy.level_mask("grain")
    actual = panel.Y[grain, o + 1 + t]
    prof = profile_forecast(panel, o, 13, cfg)[grain, t]
    naive = make_model("seasonal_naive").predict(panel, o, 13, cfg)[grain, t]
    plain = profile_forecast(panel, o, 13, cfg.model_copy(update={"holiday_alignment": "none"}))[grain, t]
    err = {k: np.abs(v - actual).sum() / actual.sum() for k, v in {"profile": prof, "naive": naive, "plain": plain}.items()}
    assert err["profile"] < 0.2 < 0.5 < err["naive"], err
    assert err["plain"] > 0.5, err  # without the alignment, last year's ordinary week is read


def test_pooled_denoise_removes_noise_from_grain_series_and_leaves_aggregates() -> None:
    df = make_history(n_am=6, n_sku=2, n_weeks=80, seed=1)
    # Rebuild y without promotions: each SKU's grain series share its season (rank 1 across account managers)
    # plus Gaussian noise of sd NOISE_SD, so the noise-free truth is known.
    t = (df["week_start"] - df["week_start"].min()).dt.days.to_numpy() / 7
    sku = df["sku_id"].str[3:].astype(int).to_numpy()
    level = 40 + 8 * df["account_manager_id"].str[2:].astype(int).to_numpy() + 5 * sku
    truth = level * (1 + 0.3 * np.sin(2 * np.pi * t / 52 + sku))
    df = df.assign(y=truth + np.random.default_rng(2).normal(0, NOISE_SD, len(df)), truth=truth)
    cfg = ForecastConfig(chinese_calendar=False)
    panel = build_panel(validate_history(df.drop(columns="truth")), cfg)
    o = panel.n_hist - 1
    raw, den = pooled_denoise(panel, o, 0), pooled_denoise(panel, o, 2)
    grain = panel.hierarchy.level_mask("grain")
    np.testing.assert_array_equal(raw, np.nan_to_num(panel.Y[:, : o + 1]))
    np.testing.assert_array_equal(den[~grain], raw[~grain])
    ids = panel.hierarchy.bottom["unique_id"]
    T = validate_history(df).pivot(index="unique_id", columns="week_start", values="truth").loc[ids].to_numpy()[:, : o + 1]
    err_raw, err_den = np.abs(raw[grain] - T).mean(), np.abs(den[grain] - T).mean()
    assert err_raw == pytest.approx(NOISE_SD * np.sqrt(2 / np.pi), rel=0.1)
    assert err_den < 0.6 * err_raw, (err_den, err_raw)


def test_profile_family_and_lgbm_profile_in_the_backtest() -> None:
    df = make_history(n_am=4, n_sku=3, n_weeks=120, seed=3)
    cfg = ForecastConfig(calibration_origins=1, chinese_calendar=False, profile_rank=2, baseline="profile",
                         lgbm=LGBMParams(n_estimators=40))
    res = backtest(df, ["seasonal_naive", "profile", "lgbm_profile"], default_cutoffs(df, n=1), 13, cfg)
    g = res.metrics[res.metrics["level"] == "grain"].set_index("model")
    # Seasonal naive reads one noisy week; the profile reads it denoised across account managers (the random
    # promotion weeks, +40% on 10% of the weeks, are left to both).
    assert g.loc["profile", "wape"] < 0.95 * g.loc["seasonal_naive", "wape"]
    assert g.loc["lgbm_profile", "wape"] < g.loc["seasonal_naive", "wape"]
    panel = build_panel(validate_history(df), cfg)
    o = panel.n_hist - 14
    ens = MeanOf("lgbm_profile", ("lgbm", "profile")).fit(panel, o, cfg).predict(panel, o, 13, cfg)
    members = [LGBMGlobal().fit(panel, o, cfg).predict(panel, o, 13, cfg), SeasonalProfile().predict(panel, o, 13, cfg)]
    np.testing.assert_allclose(ens, (members[0] + members[1]) / 2, rtol=1e-9)
    assert not np.allclose(members[0], members[1])


def test_backtest_weights_pick_the_member_closer_to_the_actuals_per_group() -> None:
    from ml.models import backtest_weights

    actual = np.array([[10.0, 10.0, np.nan], [20.0, 20.0, 20.0], [5.0, 5.0, 5.0]])
    a = np.array([[10.0, 10.0, 0.0], [0.0, 0.0, 0.0], [7.0, 7.0, 7.0]])  # right on row 0, wrong on row 1
    b = np.array([[0.0, 0.0, 0.0], [20.0, 20.0, 20.0], [3.0, 3.0, 3.0]])  # right on row 1; rows 2 straddle
    w = backtest_weights([a, b], actual, np.array(["x", "y", "z"]))
    np.testing.assert_allclose(w, [1.0, 0.0, 0.5])
    # One weight over all rows: b's error is smaller in total (20 + 0 + 4 vs 0 + 60 + 6).
    g = backtest_weights([a, b], actual, None)
    assert (g == g[0]).all() and g[0] < 0.5


def test_weighted_lgbm_profile_uses_the_inner_backtest_weight() -> None:
    df = make_history(n_am=3, n_sku=2, n_weeks=110, seed=5)
    cfg = ForecastConfig(calibration_origins=1, chinese_calendar=False, profile_rank=2, baseline="profile",
                         lgbm=LGBMParams(n_estimators=30), ensemble_weighting="backtest_sku")
    panel = build_panel(validate_history(df), cfg)
    o = panel.n_hist - 14
    ens = MeanOf("lgbm_profile", ("lgbm", "profile")).fit(panel, o, cfg)
    assert ens.weights is not None and ens.weights.shape == (panel.Y.shape[0],)
    members = [m.predict(panel, o, 13, cfg) for m in ens.members]
    w = ens.weights[:, None]
    np.testing.assert_allclose(ens.predict(panel, o, 13, cfg), w * members[0] + (1 - w) * members[1], rtol=1e-9)
    # The inner backtest reads no week after o: the weights are the same when later weeks are scrambled.
    panel.Y[:, o + 1 :] = 0.0
    again = MeanOf("lgbm_profile", ("lgbm", "profile")).fit(panel, o, cfg)
    np.testing.assert_allclose(again.weights, ens.weights)


def test_profile_growth_from_the_denoised_history_ignores_a_one_off_year_ago_spike() -> None:
    df = make_history(n_am=6, n_sku=2, n_weeks=110, seed=9)
    raw_cfg = ForecastConfig(chinese_calendar=False, profile_rank=1)
    den_cfg = raw_cfg.model_copy(update={"profile_growth": "denoised"})
    panel = build_panel(validate_history(df), raw_cfg)
    o, row = panel.n_hist - 14, panel.Y.shape[0] - 1  # the last grain series
    before = {c.profile_growth: profile_forecast(panel, o, 13, c)[row] for c in (raw_cfg, den_cfg)}
    panel.Y[row, o - 52] *= 10  # one week of the year-ago growth window, outside the weeks the profile reads
    after = {c.profile_growth: profile_forecast(panel, o, 13, c)[row] for c in (raw_cfg, den_cfg)}
    drop = {k: 1 - after[k].sum() / before[k].sum() for k in before}
    assert drop["raw"] > 0.2, drop
    assert drop["denoised"] < 0.5 * drop["raw"], drop
