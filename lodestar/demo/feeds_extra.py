"""Complaint texts and the HTTP-served data: e-commerce platform orders and customer KPI series."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from lodestar.demo import notes
from lodestar.demo.common import TODAY, rng, season_factors
from lodestar.demo.master import Master

PLATFORMS = ["天猫", "京东", "拼多多", "抖音"]
KPIS = {"库存周转天数": ("天", 45.0, -1), "缺货率": ("%", 6.0, -1), "毛利率": ("%", 22.0, 1), "准时交付率": ("%", 91.0, 1)}


def build_complaints(m: Master, seed: int, scale: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    r = rng(seed, "complaints")
    n = max(40, int(round(800 * scale)))
    c = m.customers
    idx = r.integers(0, len(c), n)
    basket = m.baskets.groupby("customer_id").sku_id.apply(list).to_dict()
    sku_name = m.skus.set_index("sku_id").sku_name
    start = datetime(2023, 1, 2)
    span = (datetime(2026, 11, 22) - start).total_seconds()
    rows, truth = [], []
    for k, i in enumerate(idx):
        cu = c.iloc[int(i)]
        # Complaints name the customer the way the caller does: short name, legal name, or with a branch.
        alias = [cu.alias, cu.crm_name, cu.legal_name, f"{cu.brand}{cu.city}分店", f"{cu.city}的{cu.brand}"][
            int(r.integers(0, 5))]
        skus = basket.get(cu.customer_id) or []
        sku = skus[int(r.integers(0, len(skus)))] if skus and r.random() < 0.8 else None
        product = sku_name[sku].split(" ")[0].replace("洁立达", "") if sku else "清洁剂"
        with_comp = r.random() < 0.35
        text, comp = notes.complaint_text(r, alias, product, with_comp)
        t = start + timedelta(seconds=float(r.random() * span))
        cid = f"CMP{k + 1:06d}"
        rows.append({"complaint_id": cid, "received_at": t.replace(microsecond=0),
                     "channel": ["热线", "邮件", "微信", "销售转交"][int(r.integers(0, 4))], "customer_alias": alias,
                     "sku_id": sku, "text": text})
        truth.append({"complaint_id": cid, "customer_id": cu.customer_id, "alias": alias, "competitor": comp,
                      "sentiment": "neutral" if any(w in text for w in ("询问", "咨询", "补开")) else "negative"})
    df = pd.DataFrame(rows).sort_values(["received_at", "complaint_id"], kind="stable").reset_index(drop=True)
    return df, pd.DataFrame(truth)


def build_ecommerce_orders(m: Master, seed: int, scale: float) -> pd.DataFrame:
    r = rng(seed, "ecommerce")
    am = m.account_managers[m.account_managers.cluster_id == "CL07"].account_manager_id.tolist() or \
        m.account_managers.account_manager_id.tolist()[:1]
    dist = m.customers[m.customers.channel == "distributor"].alias.tolist()
    shops = [(p, "洁立达官方旗舰店") for p in PLATFORMS] + [
        (PLATFORMS[k % 4], f"{a}清洁用品专营店") for k, a in enumerate(dist[:6])]
    days = pd.date_range("2025-01-01", TODAY - timedelta(days=1), freq="D")
    sf = season_factors(pd.DatetimeIndex(days))
    daily = 30 * scale * sf["cny"] * (1 + 2.5 * sf["is_d11"] + 1.2 * sf["is_618"])
    per_day = r.poisson(daily)
    day_idx = np.repeat(np.arange(len(days)), per_day)
    n = len(day_idx)
    skus = m.skus[m.skus.product_line_id.isin(["PL01", "PL02", "PL03", "PL05", "PL08"])]
    p = skus.popularity.to_numpy() / skus.popularity.sum()
    si = r.choice(len(skus), n, p=p)
    shop_i = r.integers(0, len(shops), n)
    order_time = days.to_numpy()[day_idx] + r.integers(0, 86400, n).astype("timedelta64[s]")
    status = r.choice(["completed", "shipped", "refunded", "cancelled"], n, p=[0.86, 0.06, 0.05, 0.03])
    # Most orders settle within two days; refunds and late deliveries are updated weeks later.
    lag_h = np.where(np.isin(status, ["refunded"]), r.integers(72, 720, n), r.integers(1, 48, n))
    updated = order_time + lag_h.astype("timedelta64[h]")
    recent = updated >= np.datetime64("2026-11-23")
    status = np.where(recent, "paid", status)
    updated = np.where(recent, order_time + np.timedelta64(1, "h"), updated)
    price = skus.list_price.to_numpy()[si]
    df = pd.DataFrame({
        "order_id": [f"EC{d:%y%m%d}{k:07d}" for d, k in zip(pd.to_datetime(order_time), range(n), strict=True)],
        "platform": [shops[i][0] for i in shop_i], "shop_name": [shops[i][1] for i in shop_i],
        "sku_id": skus.sku_id.to_numpy()[si], "account_manager_id": [am[i % len(am)] for i in shop_i],
        "quantity": 1 + r.poisson(0.6, n), "unit_price": np.round(price * r.uniform(0.75, 1.0, n), 2),
        "order_time": pd.to_datetime(order_time), "status": status, "updated_at": pd.to_datetime(updated)})
    return df.sort_values(["updated_at", "order_id"], kind="stable").reset_index(drop=True)


def build_customer_kpis(m: Master, seed: int, csg_accounts: pd.DataFrame) -> pd.DataFrame:
    """Monthly KPI series per key customer; customers with a CSG improve after it starts (value realization)."""
    r = rng(seed, "kpis")
    c = m.customers[m.customers.tier.isin(["A", "B"])].reset_index(drop=True)
    months = pd.date_range("2023-01-01", "2026-10-01", freq="MS")
    csg_start = dict(zip(csg_accounts.customer_id, pd.to_datetime(csg_accounts.created_date), strict=False))
    rows = []
    for cu in c.itertuples():
        start = csg_start.get(cu.customer_id)
        for kpi, (unit, base, better) in KPIS.items():
            level = base * r.uniform(0.8, 1.2)
            noise = r.normal(0, 0.04 * base, len(months))
            for k, mo in enumerate(months):
                gain = 0.0
                if start is not None and mo >= start:
                    gain = min(1.0, ((mo - start).days / 30) / 9) * 0.15  # up to 15% better within 9 months
                v = level * (1 + better * gain if better > 0 else 1 - gain) + noise[k]
                if unit == "%":
                    v = min(v, 99.9)
                upd = datetime(mo.year, mo.month, 1) + timedelta(days=32)
                upd = datetime(upd.year, upd.month, 5, 6, 0, 0)
                rows.append({"customer_id": cu.customer_id, "kpi_name": kpi, "month": mo.date(),
                             "value": round(float(v), 2), "unit": unit, "updated_at": upd})
    df = pd.DataFrame(rows)
    # Restatements: some values corrected weeks later, so an incremental cursor must pick them up.
    restated = r.random(len(df)) < 0.06
    df.loc[restated, "value"] = np.round(df.loc[restated, "value"] * r.uniform(0.95, 1.05, int(restated.sum())), 2)
    df.loc[restated, "updated_at"] = df.loc[restated, "updated_at"] + pd.to_timedelta(
        r.integers(10, 40, int(restated.sum())), unit="D")
    df = df[df.updated_at < datetime(2026, 11, 23)]
    return df.sort_values(["updated_at", "customer_id", "kpi_name", "month"], kind="stable").reset_index(drop=True)

