"""Builds a small book in a real DuckDB file for the lever assets: six customers, four SKUs, 77 weeks of constant weekly
orders (so every expected number is hand-computable), two forecast origins, distributor stock, notes, and the
tables the scenario drivers read (material prices + BOM, capacity, intent signals, complaint heat, health,
opportunities)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from staged_warehouse import build_ml_inputs

from lodestar.warehouse import Warehouse

LOADED = pd.Timestamp("2026-11-23 06:00")
FIRST_WEEK = pd.Timestamp("2025-06-02")
LAST_WEEK = pd.Timestamp("2026-11-16")  # last complete week of orders (orders fall on Tuesdays)
ORIGINS = (pd.Timestamp("2026-09-28"), pd.Timestamp("2026-11-16"))
FORECAST_FACTOR = 1.1  # the "model" forecasts 10% above the constant demand
CUSTOMERS = pd.DataFrame({
    "customer_id": ["C1", "C2", "C3", "C4", "C5", "C6"],
    "legal_name": ["一号食品", "二号食品", "三号食品", "四号医院", "五号商贸", "六号商贸"],
    "industry": ["food", "food", "food", "hospital", "retail", "retail"],
    "channel": ["direct", "direct", "direct", "direct", "distributor", "distributor"],
    "region": ["East", "East", "South", "South", "East", "South"],
    "tier": ["A", "A", "B", "B", "B", "C"],
})
AM_OF = {"C1": "AM1", "C2": "AM1", "C3": "AM2", "C4": "AM2", "C5": "AM1", "C6": "AM2"}
MIX = {"C1": {"S1": 80, "S3": 20}, "C2": {"S2": 50, "S3": 30}, "C3": {"S2": 40, "S3": 10}, "C4": {"S3": 60},
       "C5": {"S4": 70, "S2": 5}, "C6": {"S4": 90, "S1": 10}}
SKUS = pd.DataFrame({
    "sku_id": ["S1", "S2", "S3", "S4"], "sku_name": ["皂", "凝胶", "喷雾", "湿巾"],
    "product_line_id": ["PL1", "PL1", "PL2", "PL3"],
    "launch_date": pd.to_datetime(["2020-01-01", "2020-01-01", "2020-01-01", "2020-01-01"]).date,
    "discontinue_date": pd.to_datetime(["2026-12-07", None, None, None]).date,
    "lead_time_days": [14, 7, 21, 14],
})
UNALLOCATED_GRAIN = ("AM3", "S2", "ecommerce_platform")  # forecast demand no ERP customer ordered


def weeks(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    return pd.date_range(start, end, freq="W-MON")


def orders() -> pd.DataFrame:
    channel = CUSTOMERS.set_index("customer_id")["channel"].to_dict()
    rows = []
    for i, w in enumerate(weeks(FIRST_WEEK, LAST_WEEK)):
        for c, mix in MIX.items():
            for s, q in mix.items():
                rows.append({"order_line_id": f"L{i}-{c}-{s}", "order_id": f"O{i}-{c}",
                             "order_date": (w + pd.Timedelta(days=1)).date(), "customer_id": c,
                             "account_manager_id": AM_OF[c], "sku_id": s,
                             "channel": channel[c], "quantity": q,
                             "unit_price": 10.0, "ship_date": (w + pd.Timedelta(days=3)).date(), "status": "shipped"})
    df = pd.DataFrame(rows)
    # a cancelled line never counts as demand
    cancelled = df.iloc[[-1]].assign(order_line_id="CANCELLED", quantity=10_000, status="cancelled")
    return pd.concat([df, cancelled], ignore_index=True).assign(_loaded_at=LOADED)


def grain_weekly() -> pd.DataFrame:
    """Constant weekly units per grain (account manager x SKU x channel)."""
    o = orders()
    o = o[o["status"] != "cancelled"]
    g = o[o["order_date"] == o["order_date"].max()].groupby(["account_manager_id", "sku_id", "channel"],
                                                             as_index=False)["quantity"].sum()
    return g.rename(columns={"quantity": "units"})


def forecast_predictions() -> pd.DataFrame:
    g = grain_weekly()
    g = pd.concat([g, pd.DataFrame([dict(zip(["account_manager_id", "sku_id", "channel"], UNALLOCATED_GRAIN,
                                             strict=True), units=12)])], ignore_index=True)
    rows = []
    for k, origin in enumerate(ORIGINS):
        for h in range(1, 14):
            for r in g.itertuples():
                rows.append({"run_id": f"run{k}", "model_name": "lodestar-demand-lgbm", "model_version": f"v{k + 1}",
                             "origin_week": origin.date(), "account_manager_id": r.account_manager_id,
                             "sku_id": r.sku_id, "channel": r.channel,
                             "region": "East" if r.account_manager_id == "AM1" else "South",
                             "week_start": (origin + pd.Timedelta(weeks=h)).date(), "h": h,
                             "y_hat": FORECAST_FACTOR * r.units,
                             "created_at": LOADED - pd.Timedelta(days=10 * (len(ORIGINS) - k))})
    return pd.DataFrame(rows)


def intent_signals() -> pd.DataFrame:
    """AM1's account A1: one signal a week for a year, five a week in the last four weeks before the forecast."""
    rows = []
    for w in weeks(ORIGINS[1] - pd.Timedelta(weeks=51), ORIGINS[1]):
        n = 5 if w > ORIGINS[1] - pd.Timedelta(weeks=4) else 1
        rows += [{"signal_id": f"SG{w:%Y%m%d}-{j}", "account_id": "A1", "contact_id": "K1",
                  "signal_type": "proposal_download", "occurred_at": w + pd.Timedelta(hours=10), "detail": ""}
                 for j in range(n)]
    return pd.DataFrame(rows).assign(_loaded_at=LOADED)


def build_book(path: Path, drivers: bool = True) -> Warehouse:
    """The book's raw tables (and the two marts the lever assets read, by hand), then the dbt models ml/ reads."""
    wh = _land_book(Warehouse(path), drivers)
    build_ml_inputs(wh)
    return wh


def _land_book(wh: Warehouse, drivers: bool) -> Warehouse:
    wh.replace_table("raw", "erp_customers", CUSTOMERS.assign(_loaded_at=LOADED))
    wh.replace_table("raw", "erp_skus", SKUS.assign(_loaded_at=LOADED))
    wh.replace_table("raw", "erp_orders", orders())
    wh.replace_table("raw", "erp_price_list", pd.DataFrame({
        "price_id": ["P1", "P2", "P3", "P4", "P5"], "sku_id": ["S1", "S2", "S3", "S4", "S3"],
        "effective_date": pd.to_datetime(["2024-01-01"] * 4 + ["2026-10-12"]).date,
        "list_price": [10.0, 20.0, 30.0, 40.0, 33.0], "currency": "CNY", "_loaded_at": LOADED}))
    wh.replace_table("raw", "erp_promotions", pd.DataFrame({
        "promotion_id": ["PR1"], "promotion_name": ["双十二"], "sku_id": ["S2"], "channel": ["direct"],
        "start_date": [pd.Timestamp("2026-12-07").date()], "end_date": [pd.Timestamp("2026-12-20").date()],
        "promo_type": ["discount"], "discount_rate": [0.1], "expected_lift": [0.3], "_loaded_at": LOADED}))
    wh.replace_table("raw", "crm_accounts", pd.DataFrame({
        "account_id": ["A1", "A2", "A4"], "account_name": ["一号", "二号", "四号"], "erp_customer_id": ["C1", "C2", "C4"],
        "tier": ["A", "A", "B"], "account_manager_id": ["AM1", "AM1", "AM2"], "_loaded_at": LOADED}))
    wh.replace_table("raw", "crm_meeting_notes", pd.DataFrame({
        "note_id": ["N1"], "visit_id": ["V1"], "account_id": ["A4"], "account_manager_id": ["AM2"],
        "note_date": [pd.Timestamp("2026-11-10").date()],
        "text": ["对方说明年初前要完成产线升级改造，12月份的订单会明显下降。"], "_loaded_at": LOADED}))
    wh.replace_table("raw", "distributor_inventory", pd.DataFrame({
        "snapshot_date": [pd.Timestamp("2026-11-09").date()] * 4 + [LAST_WEEK.date()] * 4,
        "distributor_id": ["C5", "C5", "C6", "C6"] * 2, "sku_id": ["S4", "S2", "S4", "S1"] * 2,
        "on_hand": [900, 900, 900, 900, 50, 100, 500, 5], "in_transit": [0, 0, 0, 0, 0, 0, 100, 0],
        "_loaded_at": LOADED}))
    wh.replace_table("raw", "forecast_predictions", forecast_predictions())
    wh.replace_table("marts", "customer_matrix", pd.DataFrame({
        "customer_id": CUSTOMERS["customer_id"], "strategic_value_score": [90.0, 80.0, 70.0, 40.0, 60.0, 20.0]}))
    if not drivers:
        # dbt builds every mart, empty when its feeds have not landed
        wh.replace_table("marts", "customer_health", pd.DataFrame({
            "customer_id": pd.Series(dtype=str), "health_score": pd.Series(dtype=float),
            "health_colour": pd.Series(dtype=str)}))
        return wh
    mp = []
    for w in weeks(FIRST_WEEK, LAST_WEEK):
        mp.append({"material_id": "M1", "week_start": w.date(), "price": 12.0 if w >= pd.Timestamp("2026-11-09") else 10.0})
        mp.append({"material_id": "M2", "week_start": w.date(), "price": 5.0})
    wh.replace_table("raw", "erp_material_prices", pd.DataFrame(mp).assign(currency="CNY", unit="kg", _loaded_at=LOADED))
    wh.replace_table("raw", "erp_bom", pd.DataFrame({
        "bom_line_id": ["B1", "B2"], "sku_id": ["S1", "S3"], "material_id": ["M1", "M2"], "qty_per_unit": [2.0, 1.0],
        "unit": "kg", "_loaded_at": LOADED}))
    wh.replace_table("raw", "erp_capacity", pd.DataFrame([
        {"factory_id": f, "product_line_id": "PL2", "week_start": w.date(), "capacity_units": cap, "downtime_reason": None}
        for w in weeks(FIRST_WEEK, LAST_WEEK) for f, cap in (("F1", 60), ("F2", 40))]).assign(_loaded_at=LOADED))
    wh.replace_table("raw", "crm_intent_signals", intent_signals())
    wh.replace_table("raw", "intel_complaint_heat", pd.DataFrame({
        "customer_id": ["C3", "C3", "C3", "C3"],
        "week_start": pd.to_datetime(["2026-10-19", "2026-11-02", "2026-11-09", "2026-11-16"]).date,
        "complaints": [9, 5, 1, 1], "negative_complaints": [0, 0, 0, 0], "competitor_mentions": [9, 0, 1, 1],
        "heat": [18.0, 5.0, 2.0, 2.0]}))
    wh.replace_table("marts", "customer_health", pd.DataFrame({
        "customer_id": CUSTOMERS["customer_id"], "health_score": [80, 75, 60, 30, 90, 85],
        "health_colour": ["green", "green", "yellow", "red", "green", "green"]}))
    wh.replace_table("raw", "crm_opportunities", pd.DataFrame({
        "opportunity_id": ["OP1", "OP2", "OP3"], "account_id": ["A1", "A1", "A2"], "account_manager_id": ["AM1"] * 3,
        "opportunity_name": ["扩产", "旧单", "远期"], "product_line_id": ["PL2", "PL2", "PL2"],
        "stage": ["方案报价", "赢单", "线索"], "amount": [1e5, 1e5, 1e5], "probability": [0.5, 1.0, 0.1],
        "created_date": pd.to_datetime(["2026-10-01"] * 3).date,
        "expected_close_date": pd.to_datetime(["2026-12-15", "2026-12-15", "2027-06-30"]).date,
        "closed_date": [None, pd.Timestamp("2026-11-01").date(), None], "_loaded_at": LOADED}))
    return wh
