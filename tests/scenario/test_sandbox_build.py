"""The sandbox over stored forecasts: which months can run and be scored, the traditional arm on the model's
information, and the whole build on the small book (scored month exact, next month honest about actuals)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lever_book import FORECAST_FACTOR, ORIGINS

from ml.sandbox import (
    STATUS_PENDING,
    STATUS_SCORED,
    SandboxError,
    plan_sandbox_months,
    price_rel_by_week,
    traditional_forecast,
)
from ml.sandbox_build import build_sandbox


def _weeks(origins: tuple[pd.Timestamp, ...], horizon: int = 13) -> pd.DataFrame:
    return pd.DataFrame([{"origin_week": o, "week_start": o + pd.Timedelta(weeks=h)}
                         for o in origins for h in range(1, horizon + 1)])


def test_plan_scores_months_with_an_earlier_forecast_and_complete_actuals() -> None:
    plan = plan_sandbox_months(_weeks(ORIGINS), actuals_through=pd.Timestamp("2026-11-16"))
    # October: forecast from 2026-09-28 (its first week is October's first Monday), actuals through Oct 26 -> scored.
    # November: 2026-11-16 started after Nov 2, so 2026-09-28 again; Nov 30 not in yet -> waiting; later months wait.
    assert plan.to_dict("records") == [
        {"month": pd.Timestamp("2026-10-01"), "origin_week": ORIGINS[0], "status": STATUS_SCORED},
        {"month": pd.Timestamp("2026-11-01"), "origin_week": ORIGINS[0], "status": STATUS_PENDING},
    ]
    # The main job's single (latest) origin: its first full month is December, not scorable yet.
    only_latest = plan_sandbox_months(_weeks(ORIGINS[1:]), actuals_through=pd.Timestamp("2026-11-16"))
    assert only_latest.to_dict("records") == [
        {"month": pd.Timestamp("2026-12-01"), "origin_week": ORIGINS[1], "status": STATUS_PENDING}]
    # A 4-week horizon covers no whole month after its origin: nothing can run.
    assert plan_sandbox_months(_weeks(ORIGINS[1:], horizon=4), pd.Timestamp("2026-11-16")).empty


def test_traditional_arm_uses_only_history_up_to_the_given_origin() -> None:
    weeks = pd.date_range("2025-06-02", "2026-11-16", freq="W-MON")
    rng = np.random.default_rng(5)
    hist = pd.DataFrame({"customer_id": "C1", "sku_id": "S1", "week_start": weeks,
                         "quantity": rng.integers(10, 50, len(weeks)).astype(float)})
    origin = pd.Timestamp("2026-09-28")
    out = traditional_forecast(hist, "2026-11", origin=origin)
    later = hist.assign(quantity=np.where(hist["week_start"] > origin, 1e6, hist["quantity"]))
    assert traditional_forecast(later, "2026-11", origin=origin)["y_hat"].iloc[0] == out["y_hat"].iloc[0]
    # hand formula: Nov 2..30 are 5..9 weeks after the origin -> the same weeks a year earlier x 13-week growth
    q = hist.set_index("week_start")["quantity"]
    o = origin
    growth = np.clip(q[o - pd.Timedelta(weeks=12): o].sum()
                     / q[o - pd.Timedelta(weeks=64): o - pd.Timedelta(weeks=52)].sum(), 0.5, 2)
    want = sum(q[w - pd.Timedelta(weeks=52)] for w in pd.date_range("2026-11-02", "2026-11-30", freq="W-MON")) * growth
    assert out["y_hat"].iloc[0] == pytest.approx(want)
    with pytest.raises(SandboxError, match="origin 2026-11-02 is not before 2026-11"):
        traditional_forecast(hist, "2026-11", origin="2026-11-02")
    with pytest.raises(SandboxError, match="not a week start of the history"):
        traditional_forecast(hist, "2026-11", origin="2026-09-29")


def test_price_rel_against_the_price_in_force_at_the_reference_day() -> None:
    prices = pd.DataFrame({"sku_id": ["S3", "S3", "S1"], "effective_date": ["2024-01-01", "2026-10-12", "2024-01-01"],
                           "list_price": [30.0, 33.0, 10.0]})
    weeks = pd.DataFrame({"sku_id": ["S3", "S3", "S1", "S9"],
                          "week_start": pd.to_datetime(["2026-10-05", "2026-10-19", "2026-10-19", "2026-10-19"])})
    rel = price_rel_by_week(prices, weeks, "2026-10-05").set_index(["sku_id", "week_start"])["price_rel"]
    assert rel[("S3", pd.Timestamp("2026-10-05"))] == 1.0 and rel[("S3", pd.Timestamp("2026-10-19"))] == pytest.approx(1.1)
    assert rel[("S1", pd.Timestamp("2026-10-19"))] == 1.0 and np.isnan(rel[("S9", pd.Timestamp("2026-10-19"))])


def test_build_on_the_book_scores_october_and_waits_for_november(book) -> None:
    built = build_sandbox(book)
    rows = book.query("select * from raw.forecast_sandbox order by month, customer_id, arm")
    assert len(rows) == len(built.rows) > 0
    assert built.customers == ["C1", "C2", "C3"]  # top 3 by strategic value
    assert set(rows["customer_id"]) == {"C1", "C2", "C3"}
    oct_ = rows[rows["month"] == pd.Timestamp("2026-10-01")]
    nov = rows[rows["month"] == pd.Timestamp("2026-11-01")]
    assert set(rows["month"]) == {pd.Timestamp("2026-10-01"), pd.Timestamp("2026-11-01")}
    assert (oct_["status"] == STATUS_SCORED).all() and (nov["status"] == STATUS_PENDING).all()
    # Constant orders: the traditional arm (same week last year x growth 1) is exact, the model is 10% over.
    assert oct_.loc[oct_["arm"] == "traditional", "wape"].eq(0).all()
    assert oct_.loc[oct_["arm"] == "model", "wape"].to_numpy() == pytest.approx(FORECAST_FACTOR - 1)
    assert (oct_["forecast_total"] > 0).all() and oct_["actual_total"].notna().all()
    # Every series of a sandbox customer is in exactly one arm (C1: S1+S3, C2: S2+S3, C3: S2+S3).
    assert oct_.groupby("customer_id")["series_count"].sum().to_dict() == {"C1": 2, "C2": 2, "C3": 2}
    # November: forecasts only, no errors, the lever carried from October unchanged.
    assert nov[["actual_total", "wape", "bias"]].isna().all().all() and (nov["n_obs"] == 0).all()
    assert (nov["lever_value_before"] == oct_["calibrated_value"].iloc[0]).all()
    assert (rows["origin_week"] == ORIGINS[0]).all()
    assert "2026-10 scored" in built.summary() and "2026-11 actuals not yet in" in built.summary()


def test_build_needs_the_customer_matrix(book) -> None:
    with book.connect() as con:
        con.execute("drop table marts.customer_matrix")
    with pytest.raises(SandboxError, match="marts.customer_matrix does not exist yet: build the dbt marts first"):
        build_sandbox(book)
