"""The grain forecast split to customers: shares from the order window, sums back to the grain, nothing lost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml.customer_split import SplitError, allocated_share, customer_shares, split_grain_forecast

AS_OF = pd.Timestamp("2026-11-22")
KEYS = ["account_manager_id", "sku_id", "channel", "week_start"]


def _orders(rows: list[tuple[str, str, str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "account_manager_id", "sku_id", "channel", "order_date",
                                       "quantity"])


def _forecast(grains: list[tuple[str, str, str]], weeks: int = 3, value: float = 100.0) -> pd.DataFrame:
    ws = pd.date_range("2026-11-23", periods=weeks, freq="W-MON")
    return pd.DataFrame([{"account_manager_id": a, "sku_id": s, "channel": c, "week_start": w, "y_hat": value + i}
                         for a, s, c in grains for i, w in enumerate(ws)])


def test_shares_by_units_in_the_window_hand_computed() -> None:
    orders = _orders([
        ("C1", "AM1", "S1", "direct", "2026-11-17", 30), ("C2", "AM1", "S1", "direct", "2026-11-10", 10),
        ("C2", "AM1", "S1", "direct", "2026-11-03", 20),
        ("C3", "AM1", "S1", "direct", "2026-08-01", 500),  # before the 13-week window: no share
        ("C4", "AM1", "S1", "direct", "2026-11-18", -40),  # a return: clipped to 0, not a negative share
        ("C1", "AM1", "S1", "direct", "2026-11-23", 999),  # after as_of
    ])
    sh = customer_shares(orders, AS_OF).set_index("customer_id")["share"]
    assert sh.to_dict() == pytest.approx({"C1": 0.5, "C2": 0.5, "C4": 0.0})
    out = split_grain_forecast(_forecast([("AM1", "S1", "direct")], weeks=1), orders, AS_OF)
    assert out.set_index("customer_id")["y_hat"].to_dict() == pytest.approx({"C1": 50.0, "C2": 50.0, "C4": 0.0})


def test_grain_without_orders_stays_whole_and_unallocated() -> None:
    orders = _orders([("C1", "AM1", "S1", "direct", "2026-11-17", 5)])
    fc = _forecast([("AM1", "S1", "direct"), ("AM9", "S1", "ecommerce_platform")])
    out = split_grain_forecast(fc, orders, AS_OF)
    lost = out[out["customer_id"].isna()]
    assert len(lost) == 3 and (lost["account_manager_id"] == "AM9").all() and (lost["share"] == 1.0).all()
    assert allocated_share(out) == pytest.approx(fc.loc[fc.account_manager_id == "AM1", "y_hat"].sum() / fc["y_hat"].sum())


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.integers(0, 120), st.integers(-20, 200)),
                min_size=1, max_size=40),
       st.lists(st.floats(-50, 500, allow_nan=False), min_size=8, max_size=8))
def test_customer_rows_sum_back_to_the_grain(rows, values) -> None:
    """Whatever the order history, every grain week's customer rows sum to the grain's forecast."""
    grains = [("AM1", "S1", "direct"), ("AM1", "S2", "direct"), ("AM2", "S1", "distributor"), ("AM2", "S3", "direct")]
    orders = _orders([(f"C{c}", *grains[g], (AS_OF - pd.Timedelta(days=d)).date().isoformat(), q)
                      for c, g, d, q in rows])
    fc = _forecast(grains, weeks=2)
    fc["y_hat"] = values
    out = split_grain_forecast(fc, orders, AS_OF)
    back = out.groupby(KEYS)["y_hat"].sum().reindex(pd.MultiIndex.from_frame(fc[KEYS]))
    assert np.allclose(back.to_numpy(), fc["y_hat"].to_numpy(), rtol=1e-12, atol=1e-9)
    assert out.groupby(KEYS)["share"].sum().to_numpy() == pytest.approx(1.0)


def test_bad_inputs_name_frame_column_and_row() -> None:
    orders = _orders([("C1", "AM1", "S1", "direct", "2026-11-17", "lots")])
    with pytest.raises(SplitError, match=r"orders: column quantity row 0 is not numeric: 'lots'"):
        customer_shares(orders, AS_OF)
    with pytest.raises(SplitError, match=r"forecast: missing column\(s\) \['y_hat'\]"):
        split_grain_forecast(_forecast([("AM1", "S1", "direct")]).drop(columns="y_hat"), orders, AS_OF)
    with pytest.raises(SplitError, match="order_date not a date at row 0"):
        customer_shares(orders.assign(order_date="someday"), AS_OF)
