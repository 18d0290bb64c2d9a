"""Drop alerts (cause, substitutes, pack) on a small generated book, and replenishment arithmetic by hand."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ml.alerts import alert_precision, drop_alerts, replenishment

AS_OF = pd.Timestamp("2026-11-20")


def book() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Six customers over 20 weeks; C1 buys mostly S1, which ERP discontinues on 2026-12-07."""
    skus = pd.DataFrame({"sku_id": ["S1", "S2", "S3", "S4"], "product_line_id": ["PL1", "PL1", "PL2", "PL3"],
                         "discontinue_date": pd.to_datetime(["2026-12-07", None, None, None])})
    customers = pd.DataFrame({"customer_id": [f"C{i}" for i in range(1, 7)],
                              "industry": ["food", "food", "food", "hospital", "food", "retail"],
                              "channel": ["direct"] * 6})
    mix = {"C1": {"S1": 80, "S3": 20}, "C2": {"S2": 50, "S3": 30}, "C3": {"S2": 40, "S3": 10},
           "C4": {"S3": 60}, "C5": {"S4": 70, "S2": 5}, "C6": {"S4": 90}}
    rows = []
    for w in range(20):
        day = AS_OF - pd.Timedelta(weeks=w)
        for c, m in mix.items():
            for s, q in m.items():
                rows.append({"customer_id": c, "account_manager_id": "AM1", "sku_id": s, "channel": "direct",
                             "order_date": day, "quantity": q})
    notes = pd.DataFrame({"customer_id": ["C4", "C6"], "note_date": [AS_OF - pd.Timedelta(days=10)] * 2,
                          "text": ["对方说明年初前要完成产线升级改造，12月份的订单会明显下降。",
                                   "客户提到去年做过一次产线升级，目前生产稳定。"]})
    return pd.DataFrame(rows), skus, customers, notes


def test_discontinuation_and_upgrade_raise_alerts_with_their_cause() -> None:
    orders, skus, customers, notes = book()
    a = drop_alerts(orders, skus, customers, notes, as_of=AS_OF).set_index("customer_id")
    assert set(a.index) == {"C1", "C4"}  # C6's upgrade was last year: no alert
    assert a.at["C1", "main_driver"] == "discontinued SKU in ERP"
    assert a.at["C1", "reason"] == "discontinued SKU in ERP: S1"
    # December: S1 sells 6 of 31 days; 80 of C1's 100 units/week are S1 -> drop = 80/100 * 25/31
    assert a.at["C1", "drop_pct"] == pytest.approx(round(100 * 0.8 * 25 / 31, 1))
    assert a.at["C4", "main_driver"] == "production-line upgrade mentioned in CRM notes"
    assert a.at["C4", "drop_pct"] == pytest.approx(60.0)
    prec = alert_precision(a.reset_index(), pd.DataFrame({"customer_id": ["C1", "C4"],
                                                           "event_type": ["sku_discontinued", "production_line_upgrade"]}))
    assert prec["precision"] == 1.0 and prec["cause_accuracy"] == 1.0


def test_substitutes_are_real_customers_with_overlapping_lines_and_pack_replaces_discontinued() -> None:
    orders, skus, customers, notes = book()
    a = drop_alerts(orders, skus, customers, notes, as_of=AS_OF).set_index("customer_id")
    subs = a.at["C1", "substitutes"].split(",")
    assert len(subs) == 3 and "C1" not in subs and "C4" not in subs  # C4 is itself dropping
    lines = orders.merge(skus, on="sku_id").groupby("customer_id")["product_line_id"].agg(set)
    for s in subs:
        assert s in set(customers["customer_id"])
        assert lines[s] & lines["C1"], f"{s} shares no product line with C1"
    assert subs[:2] == ["C3", "C2"]  # same industry; C3 has exactly C1's 4:1 PL1:PL2 mix
    pack = json.loads(a.at["C1", "solution_pack"])
    assert {p["sku_id"] for p in pack} == {"S2"} and {p["replaces"] for p in pack} == {"S1"}
    lost = 80 * (31 / 7) * (25 / 31)
    assert sum(p["quantity"] for p in pack) == pytest.approx(lost, abs=3)


def test_model_forecast_drop_is_attributed_to_model_trend() -> None:
    orders, skus, customers, _ = book()
    weeks = pd.date_range("2026-11-23", periods=9, freq="W-MON")
    fc = pd.DataFrame([{"account_manager_id": "AM1", "sku_id": s, "channel": "direct", "week_start": w,
                        "y_hat": 0.0 if s == "S4" else 1000.0} for s in ("S1", "S2", "S3", "S4") for w in weeks])
    a = drop_alerts(orders, skus, customers, None, forecast=fc, as_of=AS_OF).set_index("customer_id")
    assert a.at["C6", "main_driver"] == "model trend" and a.at["C6", "drop_pct"] == pytest.approx(100.0)


def test_model_trend_alert_names_the_forecasts_own_largest_negative_driver() -> None:
    """With the forecast's stored drivers, a model-driven drop's reason is its largest negative driver over the
    month (here last year's same weeks), and every driver's units are in the contributions."""
    orders, skus, customers, _ = book()
    weeks = pd.date_range("2026-11-23", periods=9, freq="W-MON")
    drivers = json.dumps({"same weeks last year": -80.0, "recent demand": -15.0, "promotion & price plan": 5.0})
    fc = pd.DataFrame([{"account_manager_id": "AM1", "sku_id": s, "channel": "direct", "week_start": w,
                        "y_hat": 0.0 if s == "S4" else 1000.0, "drivers": drivers if s == "S4" else "{}"}
                       for s in ("S1", "S2", "S3", "S4") for w in weeks])
    a = drop_alerts(orders, skus, customers, None, forecast=fc, as_of=AS_OF).set_index("customer_id")
    assert a.at["C6", "main_driver"] == "model trend"
    assert a.at["C6", "reason"].startswith("model trend: same weeks last year (")
    got = json.loads(a.at["C6", "contributions"])["model trend drivers (units)"]
    # C6 gets its 13-week share of the grain's December weeks (the weeks starting Nov 28 .. Dec 28).
    rec = orders[(orders["order_date"] > AS_OF - pd.Timedelta(weeks=13)) & (orders["order_date"] <= AS_OF)
                 & (orders["account_manager_id"] == "AM1") & (orders["sku_id"] == "S4") & (orders["channel"] == "direct")]
    share = rec.loc[rec["customer_id"] == "C6", "quantity"].sum() / rec["quantity"].sum()
    n_weeks = int(((weeks >= "2026-11-28") & (weeks < "2026-12-29")).sum())
    assert 0 < share < 1 and n_weeks == 5
    want = {"same weeks last year": -80.0, "recent demand": -15.0, "promotion & price plan": 5.0}
    assert got == pytest.approx({k: round(v * n_weeks * share, 1) for k, v in want.items()}, abs=0.051)


def test_replenishment_hand_computed() -> None:
    stock = pd.DataFrame({"holder_id": ["D1", "D1", "D2"], "sku_id": ["A", "B", "A"],
                          "on_hand": [10, 500, 0], "in_transit": [5, 0, 0]})
    demand = pd.DataFrame({"holder_id": ["D1", "D1", "D2"], "sku_id": ["A", "B", "A"], "weekly_demand": [20.0, 10.0, 0.0],
                           "weekly_sd": [4.0, 2.0, 0.0], "account_manager_id": ["AM1", "AM1", "AM2"]})
    out = replenishment(stock, demand, pd.Series({"A": 14, "B": 28}), safety_stock_coef=1.5, z=2.0).set_index(["holder_id", "sku_id"])
    # D1/A: LT 2 w -> demand 40; SS = 1.5*2*4*sqrt(2) = 16.97; need 40 + 16.97 - 15 = 41.97 -> 42
    assert out.at[("D1", "A"), "safety_stock"] == pytest.approx(12 * np.sqrt(2))
    assert bool(out.at[("D1", "A"), "flag"]) and out.at[("D1", "A"), "suggested_qty"] == 42
    # D1/B: LT 4 w -> 40 + 1.5*2*2*2 = 52 << 500 on hand: no flag
    assert not bool(out.at[("D1", "B"), "flag"]) and out.at[("D1", "B"), "suggested_qty"] == 0
    assert out.at[("D2", "A"), "suggested_qty"] == 0
    assert out.at[("D1", "A"), "account_manager_id"] == "AM1"


def test_model_trend_drop_inside_the_forecasts_interval_raises_no_alert() -> None:
    """A drop with no event behind it is raised only when the run-rate lies above the forecast's 80% interval for
    the month: a lumpy series whose interval covers its run-rate (an L1 median far below the mean) is no alarm."""
    orders, skus, customers, _ = book()
    weeks = pd.date_range("2026-11-23", periods=9, freq="W-MON")

    def fc(half_width_s4: float) -> pd.DataFrame:
        return pd.DataFrame([{"account_manager_id": "AM1", "sku_id": s, "channel": "direct", "week_start": w,
                              "y_hat": 0.0 if s == "S4" else 1000.0,
                              "hi80": half_width_s4 if s == "S4" else 1100.0}
                             for s in ("S1", "S2", "S3", "S4") for w in weeks])

    run_rate = drop_alerts(orders, skus, customers, None, forecast=None, as_of=AS_OF)
    assert "C6" not in set(run_rate["customer_id"])
    wide = drop_alerts(orders, skus, customers, None, forecast=fc(10_000.0), as_of=AS_OF)
    assert "C6" not in set(wide["customer_id"])
    narrow = drop_alerts(orders, skus, customers, None, forecast=fc(1.0), as_of=AS_OF).set_index("customer_id")
    assert narrow.at["C6", "main_driver"] == "model trend"
    point = drop_alerts(orders, skus, customers, None, forecast=fc(10_000.0), as_of=AS_OF,
                        require_confident_model=False)
    assert "C6" in set(point["customer_id"])
