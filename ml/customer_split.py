"""Split the grain forecast (account manager x SKU x channel x week) down to customers by their recent order share.

The forecast knows no customers; the sandbox and the alerts work per customer. A grain's forecast is shared out
by each customer's share of that grain's orders in the weeks before the forecast, so the customer rows of a grain
week always sum back to the grain's forecast. A grain nobody ordered in that window keeps its forecast on one
row with ``customer_id`` missing (unallocated) rather than losing it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ml.schema import numeric_column, require_columns

GRAIN = ["account_manager_id", "sku_id", "channel"]
SHARE_WEEKS = 13  # same window as the alerts' run-rate


class SplitError(ValueError):
    """An input of the customer split breaks its contract; the message names the frame, column and row."""


def _require(df: pd.DataFrame, cols, name: str) -> None:
    require_columns(df, cols, name, SplitError)


def _numeric(df: pd.DataFrame, col: str, name: str) -> pd.Series:
    return numeric_column(df, col, name, SplitError)


def customer_shares(orders: pd.DataFrame, as_of: Any, weeks: int = SHARE_WEEKS) -> pd.DataFrame:
    """Each customer's share of its grains' ordered units in the ``weeks`` weeks up to ``as_of`` (inclusive).

    ``orders``: customer_id, account_manager_id, sku_id, channel, order_date, quantity. Returns (units are
    clipped at 0, so returns never give a negative share) account_manager_id, sku_id, channel, customer_id,
    units, share; the shares of a grain sum to 1; grains without units in the window are absent.
    """
    _require(orders, ["customer_id", *GRAIN, "order_date", "quantity"], "orders")
    if weeks < 1:
        raise SplitError(f"customer_shares: weeks must be >= 1, got {weeks}")
    as_of = pd.Timestamp(as_of)
    d = pd.to_datetime(orders["order_date"], errors="coerce")
    if d.isna().any():
        raise SplitError(f"orders: order_date not a date at row {d.index[d.isna()][0]}")
    o = orders.loc[(d > as_of - pd.Timedelta(weeks=weeks)) & (d <= as_of), ["customer_id", *GRAIN]].copy()
    o["units"] = _numeric(orders, "quantity", "orders").loc[o.index].fillna(0.0).clip(lower=0.0)
    o = o.dropna(subset=["customer_id", *GRAIN])
    g = o.groupby([*GRAIN, "customer_id"], as_index=False)["units"].sum()
    total = g.groupby(GRAIN)["units"].transform("sum")
    g = g[total > 0].copy()
    g["share"] = g["units"] / total[total > 0]
    return g.reset_index(drop=True)


def split_grain_forecast(forecast: pd.DataFrame, orders: pd.DataFrame, as_of: Any,
                         weeks: int = SHARE_WEEKS, value: str = "y_hat") -> pd.DataFrame:
    """The grain forecast split to customers by :func:`customer_shares` as of ``as_of``.

    ``forecast``: account_manager_id, sku_id, channel, week_start, ``value`` (other columns are carried).
    Returns one row per grain week x customer with ``share`` and ``value`` = share x the grain's value; a grain
    without orders in the window keeps its whole value on a row with customer_id NaN and share 1.
    """
    _require(forecast, [*GRAIN, "week_start", value], "forecast")
    fc = forecast.copy()
    fc[value] = _numeric(fc, value, "forecast")
    shares = customer_shares(orders, as_of, weeks)
    out = fc.merge(shares[[*GRAIN, "customer_id", "share"]], on=GRAIN, how="left")
    out["share"] = out["share"].fillna(1.0)  # unallocated grains: the whole value, customer unknown
    out[value] = out[value] * out["share"]
    return out.reset_index(drop=True)


def allocated_share(split: pd.DataFrame, value: str = "y_hat") -> float:
    """Share of the split's total absolute ``value`` that landed on a known customer (1.0 = all of it)."""
    _require(split, ["customer_id", value], "split")
    total = float(np.abs(split[value]).sum())
    if total == 0:
        return 1.0
    return float(np.abs(split.loc[split["customer_id"].notna(), value]).sum()) / total
