"""Fixed calendar, random streams and scaling rules shared by the demo generator modules."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import numpy as np
import pandas as pd

TODAY = date(2026, 11, 23)  # a Monday; the generator never reads the wall clock
HISTORY_START = date(2023, 1, 2)
# Weekly history: every Monday from HISTORY_START up to the last complete week before TODAY.
WEEKS = pd.date_range(HISTORY_START, TODAY - timedelta(days=7), freq="W-MON")
POS_START = date(2025, 11, 24)  # 52 weeks of store scans before TODAY
POS_WEEKS = pd.date_range(POS_START, TODAY - timedelta(days=7), freq="W-MON")

# Chinese New Year (正月初一); a fixed table keeps the generator independent of calendar packages.
CNY = {2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29),
       2026: date(2026, 2, 17), 2027: date(2027, 2, 6)}

CHANNELS = ["direct", "distributor", "ecommerce", "retail", "tender"]


def rng(seed: int, tag: str) -> np.random.Generator:
    """An independent stream per module, so adding draws in one module leaves the others unchanged."""
    digest = int.from_bytes(hashlib.sha256(tag.encode()).digest()[:8], "little")
    return np.random.default_rng([seed, digest])


def scaled(n: int, scale: float, minimum: int = 1) -> int:
    return max(minimum, int(round(n * scale)))


def week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def season_factors(weeks: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Multiplicative calendar effects per week: CNY dip and pre-stock, 618, Double 11, summer."""
    n = len(weeks)
    cny = np.ones(n)
    for d in CNY.values():
        ws = pd.Timestamp(week_start(d))
        for offset, f in ((-21, 1.18), (-14, 1.30), (-7, 1.12), (0, 0.38), (7, 0.62), (14, 0.88)):
            cny[weeks == ws + pd.Timedelta(days=offset)] *= f
    day = np.asarray(weeks.dayofyear)
    month = np.asarray(weeks.month)
    dom = np.asarray(weeks.day)
    # Weeks overlapping 1-18 June (618) and 20 Oct - 11 Nov (Double 11 pre-sales and the day itself).
    is_618 = (month == 6) & (dom <= 18)
    is_d11 = ((month == 10) & (dom >= 20)) | ((month == 11) & (dom <= 11))
    summer = 1.0 + 0.08 * np.sin(2 * np.pi * (day - 100) / 365.25)
    return {"cny": cny, "is_618": is_618.astype(float), "is_d11": is_d11.astype(float), "summer": summer}
