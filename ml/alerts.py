"""Customer drop alerts (cause, substitute customers, solution pack) and replenishment suggestions.

Both work on plain frames (testable without a warehouse); ``load_*`` helpers read them from the warehouse.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd

from ml.explain import DRIVER_GROUPS, parse_drivers

DROP_THRESHOLD = 0.40  # next-month forecast >= 40% below the recent run-rate raises an alert
RUN_RATE_WEEKS = 13
UPGRADE_CUT = 0.6  # share of a customer's demand paused by an announced production-line upgrade
NOTE_LOOKBACK_DAYS = 60
# A coming upgrade (要/将/计划 ... 产线升级, or an upgrade followed by falling orders), not a past one (去年做过).
UPGRADE_RE = re.compile(r"(要|将|计划|准备|即将)[^。]{0,8}产线升级|产线升级[^。]{0,12}(下降|减少|暂停|停产)")
Z_SERVICE = 1.65  # ~95% cycle service level
DRIVER_COLUMNS = list(DRIVER_GROUPS)


def _recent_orders(orders: pd.DataFrame, as_of: pd.Timestamp, weeks: int) -> pd.DataFrame:
    d = pd.to_datetime(orders["order_date"])
    return orders[(d > as_of - pd.Timedelta(weeks=weeks)) & (d <= as_of)]


def drop_alerts(
    orders: pd.DataFrame,
    skus: pd.DataFrame,
    customers: pd.DataFrame,
    notes: pd.DataFrame | None = None,
    forecast: pd.DataFrame | None = None,
    as_of: pd.Timestamp | str | None = None,
    threshold: float = DROP_THRESHOLD,
    require_confident_model: bool = True,
) -> pd.DataFrame:
    """Customers whose next-month forecast falls >= ``threshold`` below their 13-week run-rate.

    orders: customer_id, account_manager_id, sku_id, channel, order_date, quantity.
    skus: sku_id, product_line_id, discontinue_date (NaT = active). customers: customer_id, industry, channel.
    notes: customer_id, note_date, text (CRM meeting notes). forecast: account_manager_id, sku_id, channel,
    week_start, y_hat (grain base forecast; customers get their recent share of it; None = run-rate) and optionally
    drivers (the forecast's stored drivers, ml.explain JSON) and hi80 (the week's upper 80% bound).

    The next month is the customer's SKU mix rolled forward, times event factors. The drop splits into
    additive log contributions per driver (model trend, each discontinued SKU, upgrade, price move); the
    largest is the main driver. A drop whose main driver is the model trend is raised only when the run-rate lies
    above the forecast's 80% interval for the month (with hi80 given; ``require_confident_model=False`` raises it
    on the point forecast alone, as before). When the model trend is the main driver and the forecast carries drivers, the
    reason names the forecast's largest negative driver over the month (e.g. "model trend: same weeks last year
    (-1,200 units next month)"), and contributions lists every driver's units. Returns one row per alert with drop_pct, main_driver, reason, contributions,
    substitutes (3 customer ids) and solution_pack (JSON list of {sku_id, quantity, offer_to}).
    """
    as_of = pd.Timestamp(as_of) if as_of is not None else pd.to_datetime(orders["order_date"]).max()
    # "Next month" = the first calendar month after the last data day (what the field plans in).
    start = (as_of + pd.offsets.MonthBegin(1)).normalize()
    end = start + pd.offsets.MonthBegin(1)
    month_weeks = (end - start).days / 7.0
    rec = _recent_orders(orders, as_of, RUN_RATE_WEEKS)
    cust_sku = rec.groupby(["customer_id", "account_manager_id", "sku_id", "channel"], as_index=False)["quantity"].sum()
    cust_sku["run_rate"] = cust_sku["quantity"] / RUN_RATE_WEEKS * month_weeks  # units per next month
    # Model part: the grain forecast over the next month split by the customer's share of the grain.
    grain = ["account_manager_id", "sku_id", "channel"]
    if forecast is not None and len(forecast):
        fc = forecast.assign(week_start=pd.to_datetime(forecast["week_start"]))
        fc = fc[(fc["week_start"] >= start - pd.Timedelta(days=3)) & (fc["week_start"] < end - pd.Timedelta(days=3))]
        fsum = fc.groupby(grain, as_index=False)["y_hat"].sum().rename(columns={"y_hat": "grain_fc"})
        if "hi80" in fc.columns:
            # The month's 80% half-width from the weekly ones, in quadrature (a lower bound: week errors correlate).
            half = ((fc["hi80"] - fc["y_hat"]) ** 2).groupby([fc[c] for c in grain]).sum(min_count=1) ** 0.5
            fsum = fsum.merge(half.rename("grain_half80").reset_index(), on=grain, how="left")
        cust_sku = cust_sku.merge(fsum, on=grain, how="left")
        share = cust_sku["quantity"] / cust_sku.groupby(grain)["quantity"].transform("sum")
        cust_sku["model_fc"] = (share * cust_sku["grain_fc"]).fillna(cust_sku["run_rate"]).clip(lower=0)
        if "grain_half80" in cust_sku.columns:
            cust_sku["model_hi80"] = cust_sku["model_fc"] + share * cust_sku["grain_half80"]
        if "drivers" in fc.columns:
            # The forecast's stored drivers (ml.explain) over the month, given to customers by the same share.
            units = parse_drivers(fc["drivers"])
            dsum = pd.concat([fc[grain], units], axis=1).groupby(grain, as_index=False)[DRIVER_COLUMNS].sum()
            cust_sku = cust_sku.merge(dsum, on=grain, how="left")
            cust_sku[DRIVER_COLUMNS] = cust_sku[DRIVER_COLUMNS].mul(share, axis=0).fillna(0.0)
    else:
        cust_sku["model_fc"] = cust_sku["run_rate"]
    for col in DRIVER_COLUMNS:
        if col not in cust_sku.columns:
            cust_sku[col] = 0.0
    if "model_hi80" not in cust_sku.columns:
        cust_sku["model_hi80"] = np.nan
    # Event: SKU discontinued in ERP within/before the month -> the weeks after it sell nothing.
    sk = skus[["sku_id", "product_line_id", "discontinue_date"]].copy()
    sk["discontinue_date"] = pd.to_datetime(sk["discontinue_date"])
    cust_sku = cust_sku.merge(sk, on="sku_id", how="left")
    live_days = (cust_sku["discontinue_date"] - start).dt.days.clip(0, (end - start).days)
    cust_sku["disc_factor"] = np.where(cust_sku["discontinue_date"].notna(), live_days / (end - start).days, 1.0)
    cust_sku["after_disc"] = cust_sku["model_fc"] * cust_sku["disc_factor"]
    # The share of the customer's month a discontinuation takes is read from its own order mix (run-rate), not
    # from the model's split of the grain: at a sparse grain (lumpy orders of one customer) the model spreads the
    # SKU thin, and the event would vanish in noise. Measured on the demo company: see the alerts asset metadata.
    cust_sku["lost_mix"] = cust_sku["run_rate"] * (1 - cust_sku["disc_factor"])
    per_c = cust_sku.groupby("customer_id").agg(run_rate=("run_rate", "sum"), model_fc=("model_fc", "sum"),
                                                lost_mix=("lost_mix", "sum"))
    per_c = per_c.join(cust_sku.groupby("customer_id")[DRIVER_COLUMNS].sum())
    per_c["model_hi80"] = cust_sku.groupby("customer_id")["model_hi80"].sum(min_count=1)
    per_c["after_disc"] = per_c["model_fc"] * (1 - per_c["lost_mix"] / per_c["run_rate"].where(per_c["run_rate"] > 0))
    per_c["after_disc"] = per_c["after_disc"].fillna(per_c["model_fc"])
    upgrade = set()
    if notes is not None and len(notes):
        n = notes[pd.to_datetime(notes["note_date"]) > as_of - pd.Timedelta(days=NOTE_LOOKBACK_DAYS)]
        upgrade = set(n.loc[n["text"].astype(str).str.contains(UPGRADE_RE.pattern.replace("(", "(?:")), "customer_id"])
    per_c["upgrade_factor"] = np.where(per_c.index.isin(list(upgrade)), 1 - UPGRADE_CUT, 1.0)
    per_c["forecast_next_month"] = per_c["after_disc"] * per_c["upgrade_factor"]
    per_c = per_c[per_c["run_rate"] > 0]
    per_c["drop_pct"] = 1 - per_c["forecast_next_month"] / per_c["run_rate"]
    hits = per_c[per_c["drop_pct"] >= threshold]
    rows = []
    eps = 1e-9
    for cid, r in hits.iterrows():
        contrib = {"model trend": math.log((r.model_fc + eps) / r.run_rate)}
        cs = cust_sku[cust_sku["customer_id"] == cid]
        disc = cs[cs["disc_factor"] < 1]
        if len(disc):
            total_disc = math.log((r.after_disc + eps) / (r.model_fc + eps))
            lost = disc["lost_mix"].groupby(disc["sku_id"]).sum()
            for sku, lv in lost.items():  # split the discontinuation effect by each SKU's lost units
                contrib[f"discontinued SKU in ERP: {sku}"] = total_disc * lv / max(lost.sum(), eps)
        if r.upgrade_factor < 1:
            contrib["production-line upgrade mentioned in CRM notes"] = math.log(r.upgrade_factor)
        main = min(contrib, key=contrib.get)
        if require_confident_model and main == "model trend" and np.isfinite(r.model_hi80) \
                and r.run_rate <= r.model_hi80:
            # No event behind it, and the run-rate is inside the forecast's own 80% interval: the model is not
            # confident of any drop (an L1 model's median of a lumpy series sits far below its mean). These were
            # most of the false alarms (bench/alerts_precision.py).
            continue
        model_drivers = {g: round(float(r[g]), 1) for g in DRIVER_COLUMNS if abs(r[g]) >= 0.05}
        if model_drivers:
            contrib["model trend drivers (units)"] = model_drivers
        if main == "model trend" and model_drivers:
            # The cause of a model-driven drop is the forecast's own largest negative driver (its stored TreeSHAP
            # or statistical component), not the bare ratio of forecast to run-rate.
            top = min(model_drivers, key=model_drivers.get)
            if model_drivers[top] < 0:
                main = f"model trend: {top} ({model_drivers[top]:+,.0f} units next month)"
        rows.append({"customer_id": cid, "as_of": as_of.normalize(), "run_rate_month": r.run_rate,
                     "forecast_next_month": r.forecast_next_month, "drop_pct": round(100 * r.drop_pct, 1),
                     "main_driver": main.split(":")[0], "reason": main,
                     "contributions": json.dumps({k: round(v, 4) if isinstance(v, float) else v
                                                  for k, v in contrib.items()}, ensure_ascii=False)})
    out = pd.DataFrame(rows, columns=["customer_id", "as_of", "run_rate_month", "forecast_next_month", "drop_pct",
                                      "main_driver", "reason", "contributions"])
    if out.empty:
        return out.assign(substitutes=pd.Series(dtype=object), solution_pack=pd.Series(dtype=object))
    subs = substitute_customers(orders, skus, customers, list(out["customer_id"]), as_of=as_of)
    out["substitutes"] = out["customer_id"].map(lambda c: ",".join(subs.get(c, [])))
    out["solution_pack"] = [json.dumps(solution_pack(cust_sku, r.customer_id, subs.get(r.customer_id, []), skus,
                                                     orders, as_of))
                            for r in out.itertuples()]
    return out


def substitute_customers(
    orders: pd.DataFrame, skus: pd.DataFrame, customers: pd.DataFrame, targets: list[str],
    as_of: pd.Timestamp | None = None, k: int = 3,
) -> dict[str, list[str]]:
    """Up to ``k`` other customers per target ranked by similarity: cosine of 52-week product-line mixes,
    +0.25 for the same industry, +0.1 for the same channel (supplier network); only overlapping buyers."""
    as_of = as_of or pd.to_datetime(orders["order_date"]).max()
    rec = _recent_orders(orders, as_of, 52).merge(skus[["sku_id", "product_line_id"]], on="sku_id")
    mix = rec.pivot_table(index="customer_id", columns="product_line_id", values="quantity", aggfunc="sum", fill_value=0)
    norm = mix.div(np.sqrt((mix**2).sum(axis=1)).replace(0, 1), axis=0)
    meta = customers.set_index("customer_id")
    out = {}
    for t in targets:
        if t not in norm.index:
            out[t] = []
            continue
        cos = norm.drop(index=t) @ norm.loc[t]
        overlap = ((mix.drop(index=t) > 0) & (mix.loc[t] > 0)).any(axis=1)
        score = cos.copy()
        if t in meta.index:
            same_ind = meta.reindex(score.index)["industry"] == meta.at[t, "industry"]
            same_ch = meta.reindex(score.index)["channel"] == meta.at[t, "channel"]
            score = score + 0.25 * same_ind.fillna(False) + 0.1 * same_ch.fillna(False)
        keep = overlap & ~score.index.isin(targets)  # a customer that is itself dropping is no substitute
        out[t] = list(score[keep].sort_values(ascending=False).index[:k])
    return out


def solution_pack(cust_sku: pd.DataFrame, customer_id: str, substitutes: list[str], skus: pd.DataFrame,
                  orders: pd.DataFrame, as_of: pd.Timestamp) -> list[dict]:
    """SKUs and quantities to offer the substitutes so the lost month is recovered: the lost units of each SKU
    (a discontinued SKU is replaced by the best-selling active SKU of its product line), split evenly."""
    cs = cust_sku[cust_sku["customer_id"] == customer_id]
    lost = (cs["run_rate"] - cs["after_disc"]).clip(lower=0)
    cs = cs.assign(lost=lost)[lost > 0]
    if cs.empty or not substitutes:
        return []
    active = skus[skus["discontinue_date"].isna()] if "discontinue_date" in skus else skus
    sales = _recent_orders(orders, as_of, 52).groupby("sku_id")["quantity"].sum()
    best = (active.assign(q=active["sku_id"].map(sales).fillna(0)).sort_values("q", ascending=False)
            .drop_duplicates("product_line_id").set_index("product_line_id")["sku_id"])
    pack = []
    for r in cs.sort_values("lost", ascending=False).head(5).itertuples():
        sku = r.sku_id if r.disc_factor >= 1 else best.get(r.product_line_id, r.sku_id)
        for s in substitutes:
            pack.append({"sku_id": sku, "quantity": int(math.ceil(r.lost / len(substitutes))), "offer_to": s,
                         "replaces": r.sku_id if sku != r.sku_id else None})
    return pack


def alert_precision(alerts: pd.DataFrame, injected: pd.DataFrame) -> dict[str, float]:
    """Precision/recall of alerted customers against the generator's injected drop events (and cause match)."""
    cause = {"sku_discontinued": "discontinued SKU in ERP", "production_line_upgrade": "production-line upgrade mentioned in CRM notes"}
    truth = injected.drop_duplicates("customer_id").set_index("customer_id")["event_type"].map(cause)
    got = set(alerts["customer_id"])
    tp = got & set(truth.index)
    right_cause = sum(alerts.set_index("customer_id").loc[list(tp), "main_driver"].eq(truth[list(tp)]).astype(int)) if tp else 0
    return {"alerts": len(got), "injected": len(truth), "true_positives": len(tp),
            "precision": len(tp) / len(got) if got else float("nan"),
            "recall": len(tp) / len(truth) if len(truth) else float("nan"),
            "cause_accuracy": right_cause / len(tp) if tp else float("nan")}


# --------------------------------------------------------------------------------------- replenishment
def replenishment(
    stock: pd.DataFrame, demand: pd.DataFrame, lead_time_days: pd.Series | float | None = None,
    safety_stock_coef: float = 1.0, z: float = Z_SERVICE,
) -> pd.DataFrame:
    """Flag holder x SKU whose stock covers less than lead time + safety stock; suggest an order quantity.

    stock: holder_id, sku_id, on_hand, in_transit (latest snapshot). demand: holder_id, sku_id,
    weekly_demand (forecast/scenario units per week), weekly_sd, account_manager_id. lead_time_days: per-SKU
    Series (index sku_id) or one number; None = the stock's ``lead_time_days`` column (dbt's
    int_distributor_stock_latest carries it, with the default lead time for SKUs ERP has none for). safety stock = coef x z x weekly_sd x sqrt(lead time in weeks).
    suggested_qty = ceil(weekly_demand x LT weeks + safety stock - on_hand - in_transit) when positive.
    """
    df = stock.merge(demand, on=["holder_id", "sku_id"], how="inner")
    if lead_time_days is None:
        if "lead_time_days" not in df.columns:
            raise ValueError("replenishment: stock has no lead_time_days column and no lead_time_days was given")
        lt = df["lead_time_days"]
    else:
        lt = df["sku_id"].map(lead_time_days) if isinstance(lead_time_days, pd.Series) else lead_time_days
    lt = pd.Series(lt, index=df.index, dtype=float)
    if lt.isna().any():
        raise ValueError(f"replenishment: no lead time for SKU {df.loc[lt.isna(), 'sku_id'].iloc[0]!r}")
    df["lead_time_weeks"] = lt / 7.0
    df["safety_stock"] = safety_stock_coef * z * df["weekly_sd"].fillna(0) * np.sqrt(df["lead_time_weeks"])
    df["demand_over_lead_time"] = df["weekly_demand"] * df["lead_time_weeks"]
    df["position"] = df["on_hand"] + df["in_transit"]
    df["cover_weeks"] = np.where(df["weekly_demand"] > 0, df["position"] / df["weekly_demand"].where(df["weekly_demand"] > 0, 1), np.inf)
    need = df["demand_over_lead_time"] + df["safety_stock"] - df["position"]
    df["flag"] = need > 0
    df["suggested_qty"] = np.where(df["flag"], np.ceil(need.clip(lower=0) - 1e-9), 0).astype(int)
    return df.sort_values(["flag", "suggested_qty"], ascending=False).reset_index(drop=True)


# ------------------------------------------------------------------------------------------- warehouse
# The dbt models the alerts read (each cleaning rule, e.g. "not cancelled", lives in them), and the stock the
# replenishment reads on top.
ALERT_RELATIONS = (("intermediate", "int_order_lines"), ("intermediate", "int_skus"), ("staging", "stg_erp__customers"),
                   ("intermediate", "int_customer_notes"), ("intermediate", "int_forecasts"))
STOCK_RELATION = ("intermediate", "int_distributor_stock_latest")


def load_alert_inputs(warehouse) -> dict[str, pd.DataFrame]:
    """orders, skus, customers, notes (by ERP customer) and the latest base forecast, from the dbt models
    (ALERT_RELATIONS). The forecast frame is empty before the first forecast (the alerts then use run-rates)."""
    for relation in ALERT_RELATIONS:
        if not warehouse.table_exists(*relation):
            raise ValueError(f"{'.'.join(relation)} does not exist yet: build the dbt models first")
    q = warehouse.query
    out = {
        "orders": q("select customer_id, account_manager_id, sku_id, channel, order_date, quantity "
                    "from intermediate.int_order_lines"),
        "skus": q("select sku_id, product_line_id, discontinue_date, lead_time_days from intermediate.int_skus"),
        "customers": q("select customer_id, industry, channel from staging.stg_erp__customers"),
        "notes": q("select customer_id, note_date, note_text as text from intermediate.int_customer_notes"),
        "forecast": q("select account_manager_id, sku_id, channel, week_start, y_hat, hi80, drivers "
                      "from intermediate.int_forecasts where is_latest_origin"),
    }
    for k in ("order_date", "discontinue_date", "note_date", "week_start"):
        for f in out.values():
            if k in f.columns:
                f[k] = pd.to_datetime(f[k])
    if out["forecast"].empty:
        out.pop("forecast")
    return out


def build_alerts(warehouse, write: bool = True) -> pd.DataFrame:
    """Drop alerts for the latest data; with ``write`` they replace raw.alerts. Returns the alert rows."""
    inp = load_alert_inputs(warehouse)
    alerts = drop_alerts(inp["orders"], inp["skus"], inp["customers"], inp["notes"], inp.get("forecast"))
    alerts["created_at"] = pd.Timestamp.now(tz="UTC").tz_localize(None)
    if write:
        warehouse.replace_table("raw", "alerts", alerts)
    return alerts


def build_replenishment(warehouse, safety_stock_coef: float = 1.0, scenario: pd.DataFrame | None = None,
                        write: bool = False, scenario_name: str | None = None) -> pd.DataFrame:
    """Replenishment suggestions for distributors (the newest distributor stock snapshot, dbt's
    intermediate.int_distributor_stock_latest).

    Weekly demand per distributor x SKU is its 13-week order rate, scaled by the forecast (or the scenario's
    y_scenario / y_base) of its grain; returns the ``replenishment`` rows with account_manager_id. With
    ``write`` they replace raw.replenishment, with the snapshot date and ``scenario_name`` on every row.
    """
    if not warehouse.table_exists(*STOCK_RELATION):
        raise ValueError(f"{'.'.join(STOCK_RELATION)} does not exist yet: build the dbt models first")
    inv = warehouse.query("select snapshot_date, holder_id, sku_id, on_hand, in_transit, lead_time_days "
                          f"from {'.'.join(STOCK_RELATION)}")
    snapshot = pd.to_datetime(inv["snapshot_date"]).max() if len(inv) else None
    snapshot = snapshot.date() if snapshot is not None and pd.notna(snapshot) else None
    inv = inv.drop(columns="snapshot_date")
    inp = load_alert_inputs(warehouse)
    orders = inp["orders"]
    as_of = orders["order_date"].max()
    rec = _recent_orders(orders, as_of, RUN_RATE_WEEKS)
    rec = rec.assign(week=rec["order_date"].dt.to_period("W").dt.start_time)
    wk = rec.groupby(["customer_id", "account_manager_id", "sku_id", "channel", "week"])["quantity"].sum()
    g = wk.groupby(level=[0, 1, 2, 3])
    dem = pd.DataFrame({"weekly_demand": g.sum() / RUN_RATE_WEEKS,
                        "weekly_sd": g.apply(lambda s: np.std(np.r_[s.to_numpy(), np.zeros(RUN_RATE_WEEKS - len(s))]))})
    dem = dem.reset_index().rename(columns={"customer_id": "holder_id"})
    if scenario is not None and len(scenario):
        ratio = scenario.groupby(["account_manager_id", "sku_id", "channel"])[["y_scenario", "y_base"]].sum()
        ratio = (ratio["y_scenario"] / ratio["y_base"].where(ratio["y_base"] > 0)).rename("ratio").reset_index()
        dem = dem.merge(ratio, on=["account_manager_id", "sku_id", "channel"], how="left")
        dem["weekly_demand"] *= dem["ratio"].fillna(1.0)
    dem = dem.groupby(["holder_id", "sku_id"], as_index=False).agg(
        weekly_demand=("weekly_demand", "sum"), weekly_sd=("weekly_sd", "sum"), account_manager_id=("account_manager_id", "first"))
    out = replenishment(inv, dem, safety_stock_coef=safety_stock_coef)
    out["snapshot_date"] = snapshot
    out["scenario_name"] = scenario_name if scenario is not None and len(scenario) else None
    out["created_at"] = pd.Timestamp.now(tz="UTC").tz_localize(None)
    if write:
        warehouse.replace_table("raw", "replenishment", out)
    return out
