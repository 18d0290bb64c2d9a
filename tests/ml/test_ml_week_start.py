"""The forecast's weeks are the company's (ForecastConfig.week_start, from lodestar.yaml calendar.week_start):
a history of Sunday weeks trains and forecasts Sunday weeks with the hand-written and the mlforecast families, a
history of the wrong weekday is refused naming the expected day, and Monday stays the default."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_history

from ml.config import ForecastConfig, LGBMParams, MLFParams
from ml.forecaster import Forecaster
from ml.sandbox import month_weeks, plan_sandbox_months
from ml.schema import ContractError, week_freq

SUNDAY = ForecastConfig(week_start="sunday", calibration_origins=1, chinese_calendar=False, max_train_origins=8,
                        lgbm=LGBMParams(n_estimators=30, num_leaves=15, min_child_samples=10),
                        mlf=MLFParams(n_estimators=30, num_leaves=15, min_child_samples=10))


@pytest.fixture(scope="module")
def mondays() -> pd.DataFrame:
    return make_history(n_am=2, n_sku=2, n_weeks=110, seed=8)


@pytest.fixture(scope="module")
def sundays(mondays: pd.DataFrame) -> pd.DataFrame:
    return mondays.assign(week_start=mondays["week_start"] - pd.Timedelta(days=1))


def test_week_freq_names_the_pandas_anchor() -> None:
    assert [week_freq(d) for d in ("monday", "sunday", "Saturday")] == ["W-MON", "W-SUN", "W-SAT"]
    assert ForecastConfig().week_start == "monday" and ForecastConfig().week_freq == "W-MON"
    with pytest.raises(ContractError, match="not a weekday"):
        week_freq("someday")


@pytest.mark.parametrize("family", ["lgbm", "mlf"])
def test_sunday_weeks_train_and_forecast_sundays(sundays: pd.DataFrame, family: str) -> None:
    fc = Forecaster(family, SUNDAY).fit(sundays)
    out = fc.predict(horizon=6)
    weeks = pd.DatetimeIndex(sorted(out.loc[out["period"] == "week", "period_start"].unique()))
    last = sundays["week_start"].max()
    assert (weeks.dayofweek == 6).all()  # Sundays
    assert list(weeks) == list(pd.date_range(last + pd.Timedelta(days=7), periods=6, freq="7D"))
    grain = out[(out["level"] == "grain") & (out["period"] == "week")]
    assert len(grain) == 8 * 6 and grain["mean"].notna().all() and grain["mean"].abs().sum() > 0
    # The forecast is a forecast of this history: its total sits near the recent weekly level, not at 0 or 10x.
    recent = sundays[sundays["week_start"] > last - pd.Timedelta(weeks=6)].groupby("week_start")["y"].sum().mean()
    total = out[(out["level"] == "total") & (out["period"] == "week")]["mean"]
    assert 0.5 * recent < total.mean() < 1.5 * recent


def test_a_history_of_another_weekday_is_refused_naming_the_day(mondays: pd.DataFrame, sundays: pd.DataFrame) -> None:
    with pytest.raises(ContractError, match=r"must be a Sunday \(the week start\).*is a Monday"):
        Forecaster("seasonal_naive", SUNDAY).fit(mondays)
    with pytest.raises(ContractError, match=r"must be a Monday \(the week start\).*is a Sunday"):
        Forecaster("seasonal_naive", ForecastConfig(calibration_origins=1)).fit(sundays)


def test_monday_default_is_the_same_forecast_one_day_later(mondays: pd.DataFrame, sundays: pd.DataFrame) -> None:
    """Without calendar-dependent features the week start only names the weeks: the default (Monday) forecast of
    the Monday history equals the Sunday forecast of the same history dated a day earlier, week for week."""
    mon = Forecaster("traditional", ForecastConfig(calibration_origins=1)).fit(mondays).predict(horizon=4)
    sun = Forecaster("traditional", ForecastConfig(calibration_origins=1, week_start="sunday")).fit(sundays).predict(horizon=4)
    mw, sw = (f[f["period"] == "week"].sort_values(["level", "node_id", "period_start"]) for f in (mon, sun))
    assert (pd.DatetimeIndex(mw["period_start"]).dayofweek == 0).all()
    assert (pd.to_datetime(mw["period_start"]) - pd.to_datetime(sw["period_start"]) == pd.Timedelta(days=1)).all()
    np.testing.assert_allclose(mw["mean"].to_numpy(), sw["mean"].to_numpy())


def test_sandbox_months_count_the_forecasts_own_weeks() -> None:
    assert list(month_weeks("2026-03").day) == [2, 9, 16, 23, 30]  # Mondays by default
    assert list(month_weeks("2026-03", "sunday").day) == [1, 8, 15, 22, 29]
    # Sunday forecasts made at origin 2026-02-22 cover March's five Sundays: March can run (and is scored once the
    # actuals reach its last week, 03-29).
    weeks = pd.date_range("2026-03-01", periods=13, freq="W-SUN")
    fw = pd.DataFrame({"origin_week": pd.Timestamp("2026-02-22"), "week_start": weeks})
    plan = plan_sandbox_months(fw, "2026-03-29")
    assert plan.iloc[0][["month", "origin_week", "status"]].tolist() == [
        pd.Timestamp("2026-03-01"), pd.Timestamp("2026-02-22"), "scored"]
