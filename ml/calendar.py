"""Week-level calendar features: seasonality plus Chinese holidays (Spring Festival, Golden Week) and
the e-commerce peaks 618 and Double 11, computed for a whole index of weeks at once.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import numpy as np
import pandas as pd

CALENDAR_COLS = (
    "cal_week_of_year",
    "cal_month",
    "cal_quarter",
    "cal_cn_holiday_days",
    "cal_cny",
    "cal_golden_week",
    "cal_618",
    "cal_double11",
)


def _holiday_table() -> pd.DataFrame:
    # chinese_calendar ships statutory holidays for the years it covers; outside them the flags are 0.
    items = [(d, str(name)) for d, name in chinese_calendar.holidays.items()]
    return pd.DataFrame(items, columns=["date", "name"])


_HOLIDAYS = _holiday_table()
_CNY_DATES = set(_HOLIDAYS.loc[_HOLIDAYS["name"].str.contains("Spring"), "date"])
_GOLDEN_DATES = set(_HOLIDAYS.loc[_HOLIDAYS["name"].str.contains("National"), "date"])
_ALL_DATES = set(_HOLIDAYS["date"])


def week_calendar(weeks: pd.DatetimeIndex, *, chinese: bool = True, fiscal_year_start_month: int = 1) -> pd.DataFrame:
    """One row per week (Monday start) with the CALENDAR_COLS features, indexed like ``weeks``; ``cal_quarter`` is
    the quarter of the company's fiscal year (1 = the quarter starting in ``fiscal_year_start_month``)."""
    if not 1 <= fiscal_year_start_month <= 12:
        raise ValueError(f"fiscal_year_start_month must be 1..12, got {fiscal_year_start_month}")
    weeks = pd.DatetimeIndex(weeks)
    iso = weeks.isocalendar()
    out = pd.DataFrame(
        {
            "cal_week_of_year": iso["week"].to_numpy(dtype=float),
            "cal_month": weeks.month.to_numpy(dtype=float),
            "cal_quarter": ((weeks.month.to_numpy() - fiscal_year_start_month) % 12 // 3 + 1).astype(float),
        },
        index=weeks,
    )
    # 7 x n_weeks matrix of the days in each week; membership tests are vectorised with np.isin.
    days = np.add.outer(np.arange(7), weeks.values.astype("datetime64[D]"))
    flat = days.ravel()
    if chinese:
        py_days = pd.DatetimeIndex(flat).date
        def in_set(dates: set[dt.date]) -> np.ndarray:
            return np.isin(py_days, list(dates)).reshape(days.shape)
        out["cal_cn_holiday_days"] = in_set(_ALL_DATES).sum(axis=0).astype(float)
        out["cal_cny"] = in_set(_CNY_DATES).any(axis=0).astype(float)
        out["cal_golden_week"] = in_set(_GOLDEN_DATES).any(axis=0).astype(float)
    else:
        out["cal_cn_holiday_days"] = 0.0
        out["cal_cny"] = 0.0
        out["cal_golden_week"] = 0.0
    md = pd.DatetimeIndex(flat).strftime("%m-%d").to_numpy().reshape(days.shape)
    out["cal_618"] = (md == "06-18").any(axis=0).astype(float)
    out["cal_double11"] = (md == "11-11").any(axis=0).astype(float)
    return out[list(CALENDAR_COLS)]


HOLIDAY_ALIGNMENTS = ("none", "us", "cn")
# Fixed-date holidays (month, day): a week near one is compared with the same calendar dates a year earlier.
_FIXED_DATE = {"us": ((12, 25), (1, 1), (7, 4)), "cn": ((10, 1), (11, 11), (6, 18), (1, 1))}
ALIGN_WINDOW_DAYS = 10  # a week is "near" a holiday when its middle day is at most this far from it


def _moving_holidays(alignment: str, year: int) -> list[dt.date]:
    """The moving holidays of ``alignment`` in ``year``: Easter (US), the first Spring Festival day (CN)."""
    if alignment == "us":
        from dateutil.easter import easter

        return [easter(year)]
    if alignment == "cn":
        days = sorted(d for d in _CNY_DATES if d.year == year and d.month <= 2)
        return days[:1]
    return []


def season_shift_days(weeks: pd.DatetimeIndex, alignment: str = "none", season_length: int = 52) -> np.ndarray:
    """Per week: how many days back "the same week last year" is, holiday-aligned.

    By default a season (``season_length`` weeks, 364 days for 52) back: the same weekday, which keeps
    weekday-rule holidays (Thanksgiving, Labor Day, Super Bowl) aligned. A week near a fixed-date holiday
    (Christmas, New Year, 4 July; Golden Week, 11-11 ...) looks back to the same calendar dates (365 or 366 days:
    a fraction of a week more); a week near a moving holiday (Easter; Spring Festival) looks back by the distance
    between that holiday's two dates, so last year's holiday week lands on this year's. The weekly value at a
    fractional shift is read by :func:`ml.features.aligned_last_year` as a day-weighted mix of two weeks.
    """
    if alignment not in HOLIDAY_ALIGNMENTS:
        raise ValueError(f"unknown holiday alignment {alignment!r}; choose from {HOLIDAY_ALIGNMENTS}")
    weeks = pd.DatetimeIndex(weeks)
    out = np.full(len(weeks), 7.0 * season_length)
    if alignment == "none":
        return out
    mids = (weeks + pd.Timedelta(days=3)).date
    for i, mid in enumerate(mids):
        for y in (mid.year - 1, mid.year, mid.year + 1):
            for month, day in _FIXED_DATE[alignment]:
                hol = dt.date(y, month, day)
                if abs((mid - hol).days) <= ALIGN_WINDOW_DAYS:
                    out[i] = float((hol - dt.date(y - 1, month, day)).days)
            cur, prev = _moving_holidays(alignment, y), _moving_holidays(alignment, y - 1)
            if cur and prev and abs((mid - cur[0]).days) <= ALIGN_WINDOW_DAYS:
                out[i] = float((cur[0] - prev[0]).days)
    return out
