"""Weekly sell-in history: demand model, promotions, prices, capacity, stockouts, orders and payments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from lodestar.demo.common import WEEKS, rng, season_factors
from lodestar.demo.master import TIER_DISCOUNT, TIER_TERMS, Master
from lodestar.demo.names import LINE_SUMMER_AMP

PRICE_CHANGE_DATES = [date(2023, 7, 3), date(2024, 3, 4), date(2025, 4, 7), date(2026, 3, 2)]


@dataclass
class Sales:
    orders: pd.DataFrame
    payments: pd.DataFrame
    promotions: pd.DataFrame
    price_list: pd.DataFrame
    material_prices: pd.DataFrame
    capacity: pd.DataFrame
    inventory: pd.DataFrame
    weekly_channel: pd.DataFrame  # truth: units per week x channel (for realism checks)
    expected_demand: pd.DataFrame  # truth: noise-free expected shipped ERP units per grain (AM x SKU x channel) x week


def _expected_demand(b: pd.DataFrame, pc: pd.DataFrame, channel: np.ndarray, mean: np.ndarray) -> pd.DataFrame:
    """The demand model's expectation per grain series and week: the forecast oracle (the physical limit).

    ``mean`` is E[qty] of each customer x SKU basket (orders are Bernoulli(q) x Poisson(mean / q)) times the
    share of it that week's capacity cap and stockouts let ship; a grain series sums its baskets. The order
    noise, the rounding down of shipments and bad rows are what a forecast cannot know. Only weeks with a
    positive expectation are kept (the rest are 0).
    """
    key = pd.DataFrame({"account_manager_id": pc.account_manager_id.to_numpy(), "sku_id": b.sku_id.to_numpy(),
                        "channel": channel})
    codes, uniq = pd.factorize(pd.MultiIndex.from_frame(key), sort=True)
    agg = np.zeros((len(uniq), mean.shape[1]))
    np.add.at(agg, codes, mean)
    gi, wi = np.nonzero(agg > 0)
    out = pd.MultiIndex.from_tuples(uniq, names=list(key.columns)).to_frame(index=False).iloc[gi].reset_index(drop=True)
    out["week_start"] = WEEKS.date[wi]
    out["expected_units"] = np.round(agg[gi, wi], 3)
    return out


def _material_prices(m: Master, r: np.random.Generator) -> pd.DataFrame:
    n_w, n_m = len(WEEKS), len(m.materials)
    steps = r.normal(0.0005, 0.015, (n_w, n_m))
    # Shocks: plastics up in spring 2024, pulp down in 2025, ethanol spike around CNY 2023.
    cat = m.materials.category.to_numpy()
    steps[64:72, cat == "塑料粒子"] += 0.018
    steps[110:130, cat == "纸浆"] -= 0.008
    steps[2:6, m.materials.material_name.str.contains("乙醇").to_numpy()] += 0.05
    level = np.exp(np.cumsum(steps, axis=0)) * m.materials.base_price.to_numpy()
    return pd.DataFrame({
        "material_id": np.tile(m.materials.material_id.to_numpy(), n_w),
        "week_start": np.repeat(WEEKS.date, n_m),
        "price": np.round(level.ravel(), 2),
        "currency": "CNY",
        "unit": np.tile(m.materials.unit.to_numpy(), n_w),
    })


def _price_list(m: Master, r: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """Price list feed and the list price per SKU x week."""
    n_s = len(m.skus)
    prices = np.tile(m.skus.list_price.to_numpy(), (len(WEEKS), 1))
    rows = [(s.sku_id, max(s.launch_date, date(2023, 1, 2)), s.list_price) for s in m.skus.itertuples()]
    current = m.skus.list_price.to_numpy().copy()
    for d in PRICE_CHANGE_DATES:
        changed = r.random(n_s) < 0.35
        factor = np.where(r.random(n_s) < 0.85, r.uniform(1.03, 1.08, n_s), r.uniform(0.92, 0.97, n_s))
        current = np.where(changed, np.round(current * factor, 1), current)
        prices[WEEKS.date >= d] = current
        rows += [(m.skus.sku_id[i], d, current[i]) for i in np.flatnonzero(changed)]
    pl = pd.DataFrame(rows, columns=["sku_id", "effective_date", "list_price"])
    pl["currency"] = "CNY"
    pl = pl.sort_values(["sku_id", "effective_date"], kind="stable").drop_duplicates(
        ["sku_id", "effective_date"], keep="last").reset_index(drop=True)
    pl.insert(0, "price_id", [f"PR{i + 1:06d}" for i in range(len(pl))])
    return pl, prices


def _promotions(m: Master, r: np.random.Generator) -> pd.DataFrame:
    n = 120
    skus = m.skus.sku_id.to_numpy()
    start_idx = r.integers(4, len(WEEKS) - 4, n)
    # Promotions cluster around 618 and Double 11 as they do in the trade.
    peaks = np.flatnonzero(((WEEKS.month == 6) & (WEEKS.day <= 14)) | ((WEEKS.month == 10) & (WEEKS.day >= 27)))
    start_idx[: n // 3] = r.choice(peaks, n // 3)
    channel = r.choice(["retail", "ecommerce", "distributor", "direct"], n, p=[0.35, 0.35, 0.2, 0.1])
    dur = r.integers(2, 5, n)
    promos = pd.DataFrame({
        "promotion_id": [f"PM{i + 1:05d}" for i in range(n)],
        "promotion_name": [f"{WEEKS[s].year}年{['春季', '年中', '秋季', '双11', '周年庆'][k]}促销" for s, k in
                           zip(start_idx, r.integers(0, 5, n), strict=True)],
        "sku_id": r.choice(skus, n),
        "channel": channel,
        "start_date": WEEKS[start_idx].date,
        "end_date": [WEEKS[s].date() + timedelta(days=int(7 * d - 1)) for s, d in zip(start_idx, dur, strict=True)],
        "promo_type": r.choice(["直降", "满减", "买赠", "返利"], n),
        "discount_rate": np.round(r.uniform(0.05, 0.2, n), 2),
        "expected_lift": np.round(r.uniform(0.3, 1.0, n), 2),
    })
    return promos.sort_values("promotion_id").reset_index(drop=True)


def build_sales(m: Master, seed: int) -> Sales:
    r = rng(seed, "sales")
    n_w = len(WEEKS)
    cust = m.customers.set_index("customer_id")
    skus = m.skus.set_index("sku_id")
    b = m.baskets
    pc = cust.loc[b.customer_id]
    ps = skus.loc[b.sku_id]
    n_p = len(b)
    channel = pc.channel.to_numpy()
    t = np.arange(n_w) / 52.0

    sf = season_factors(WEEKS)
    growth = r.normal(0.06, 0.08, len(cust))
    growth_p = pd.Series(growth, index=cust.index).loc[b.customer_id].to_numpy()
    trend = np.exp(np.outer(growth_p, t))
    amp = ps.product_line_id.map(LINE_SUMMER_AMP).to_numpy()
    summer = 1 + np.outer(amp, np.sin(2 * np.pi * (np.asarray(WEEKS.dayofyear) - 100) / 365.25))
    d11 = np.where(np.isin(channel, ["ecommerce", "retail"]), 0.75, 0.3)[:, None] * sf["is_d11"]
    s618 = np.where(channel == "ecommerce", 0.5, np.where(channel == "retail", 0.2, 0.05))[:, None] * sf["is_618"]
    cny_strength = np.where(np.isin(channel, ["retail", "distributor", "ecommerce"]), 1.0, 0.8)[:, None]
    cny = 1 + (sf["cny"][None, :] - 1) * cny_strength
    mean = (pc.volume.to_numpy() * b.share.to_numpy())[:, None] * trend * summer * (1 + d11 + s618) * cny

    # Lifecycle: launch ramps up, discontinued SKUs stop, customers start and churn.
    wk = WEEKS.date
    launch_days = (pd.to_datetime(ps.launch_date).to_numpy()[:, None] - WEEKS.to_numpy()[None, :])
    disc = np.array([np.searchsorted(wk, d) if d is not None and not pd.isna(d) else n_w
                     for d in ps.discontinue_date])
    age = -launch_days / np.timedelta64(7, "D")
    mean *= np.where(age < 0, 0.0, 1 - np.exp(-(age + 1) / 6.0))
    mean *= np.arange(n_w)[None, :] < disc[:, None]
    mean *= (np.arange(n_w)[None, :] >= pc.start_week.to_numpy()[:, None])
    mean *= (np.arange(n_w)[None, :] < pc.churn_week.to_numpy()[:, None])

    # Prices: list-price moves with a mild elasticity.
    price_list, list_prices = _price_list(m, r)
    sku_pos = pd.Index(m.skus.sku_id).get_indexer(b.sku_id)
    lp = list_prices[:, sku_pos].T
    mean *= (lp / lp[:, :1]) ** -0.8

    # Promotions: decaying lift during the promotion, a small dip the week after.
    promos = _promotions(m, r)
    promo_id = np.full((n_p, n_w), -1, dtype=np.int32)
    promo_disc = np.zeros((n_p, n_w))
    for k, pr in enumerate(promos.itertuples()):
        rows_ = np.flatnonzero((b.sku_id.to_numpy() == pr.sku_id) & (channel == pr.channel))
        if len(rows_) == 0:
            continue
        s0 = int(np.searchsorted(wk, pr.start_date))
        dur = (pr.end_date - pr.start_date).days // 7 + 1
        for j in range(dur):
            if s0 + j < n_w:
                mean[rows_, s0 + j] *= 1 + pr.expected_lift * np.exp(-0.6 * j)
                promo_id[rows_, s0 + j] = k
                promo_disc[rows_, s0 + j] = pr.discount_rate
        if s0 + dur < n_w:
            mean[rows_, s0 + dur] *= 0.88

    # Orders are intermittent: a customer orders in a given week with its own probability.
    q = pc.order_prob.to_numpy()[:, None]
    orders_mask = r.random((n_p, n_w)) < q
    qty = np.where(orders_mask, r.poisson(mean / q), 0)

    # Capacity per factory x line x week; some weeks have a production-line upgrade downtime.
    fac = ps.factory_id.to_numpy()
    line = ps.product_line_id.to_numpy()
    keys = pd.Series(list(zip(fac, line, strict=True))).astype(str).to_numpy()
    cap_rows, ratio = [], np.ones((n_p, n_w))
    downtime_rng = rng(0, "downtime")  # fixed: the factories' upgrade plan does not depend on the seed
    for key in sorted(set(keys)):
        sel = keys == key
        f, pl = eval(key)  # noqa: S307 - our own tuple repr
        exp_demand = mean[sel].sum(axis=0)
        cap = np.zeros(n_w)
        for y in sorted(set(WEEKS.year)):
            yw = WEEKS.year == y
            cap[yw] = np.ceil(np.quantile(exp_demand[yw], 0.8) * 1.12 / 10) * 10
        reason = np.full(n_w, None, dtype=object)
        if downtime_rng.random() < 0.6:
            s0 = int(downtime_rng.integers(20, n_w - 8))
            cap[s0:s0 + 3] *= 0.35
            reason[s0:s0 + 3] = "产线升级停机"
        actual = qty[sel].sum(axis=0)
        rt = np.where(actual > cap, cap / np.maximum(actual, 1), 1.0)
        ratio[sel] = rt
        cap_rows.append(pd.DataFrame({"factory_id": f, "product_line_id": pl, "week_start": wk,
                                      "capacity_units": cap.astype(np.int64), "downtime_reason": reason}))
    # Random supply stockouts at SKU level.
    n_s = len(m.skus)
    stockout = r.random((n_s, n_w)) < 0.01
    stock_ratio = np.where(stockout, 0.3, 1.0)[sku_pos]
    shipped = np.floor(qty * np.minimum(ratio, stock_ratio)).astype(np.int64)
    shipped = np.where(orders_mask & (qty > 0) & (shipped == 0), 1, shipped)

    capacity = pd.concat(cap_rows, ignore_index=True).sort_values(
        ["factory_id", "product_line_id", "week_start"], kind="stable").reset_index(drop=True)

    # Order lines at customer x SKU x week (one channel per customer).
    pi, wi = np.nonzero(shipped > 0)
    order_key = pd.factorize(pd.Series(b.customer_id.to_numpy()[pi]) + "|" + pd.Series(wi).astype(str))[0]
    weekday = r.integers(0, 5, order_key.max() + 1)[order_key]
    order_date = WEEKS.to_numpy()[wi] + weekday.astype("timedelta64[D]")
    tier_disc = pc.tier.map(TIER_DISCOUNT).to_numpy()[pi]
    unit_price = np.round(lp[pi, wi] * (1 - tier_disc) * (1 - promo_disc[pi, wi]), 2)
    q_ = shipped[pi, wi]
    orders = pd.DataFrame({
        "order_date": pd.to_datetime(order_date).date, "customer_id": b.customer_id.to_numpy()[pi],
        "account_manager_id": pc.account_manager_id.to_numpy()[pi], "sku_id": b.sku_id.to_numpy()[pi],
        "channel": channel[pi], "quantity": q_, "unit_price": unit_price,
        "discount_rate": np.round(tier_disc + promo_disc[pi, wi], 2), "amount": np.round(unit_price * q_, 2),
        "promotion_id": np.where(promo_id[pi, wi] >= 0, promos.promotion_id.to_numpy()[np.maximum(promo_id[pi, wi], 0)],
                                 None),
        "week": wi, "order_key": order_key,
    })
    orders = orders.sort_values(["order_date", "customer_id", "sku_id"], kind="stable").reset_index(drop=True)
    okey_order = pd.factorize(orders.order_key)[0]
    ym = pd.to_datetime(orders.order_date).dt.strftime("%Y%m").to_numpy()
    orders["order_id"] = [f"SO{y}{k + 1:07d}" for y, k in zip(ym, okey_order, strict=True)]
    orders["order_line_id"] = orders.order_id + "-" + (orders.groupby("order_id").cumcount() + 1).astype(str).str.zfill(3)
    ship = pd.to_datetime(orders.order_date) + pd.to_timedelta(r.integers(1, 5, len(orders)), unit="D")
    recent = ship >= pd.Timestamp("2026-11-20")
    orders["ship_date"] = np.where(recent, None, ship.dt.date)
    status = np.where(recent, "open", np.where(r.random(len(orders)) < 0.004, "cancelled", "delivered"))
    orders["status"] = status

    # Weekly channel totals (truth for realism checks).
    weekly_channel = orders.groupby(["week", "channel"], as_index=False).quantity.sum()
    weekly_channel["week_start"] = WEEKS.date[weekly_channel.week]

    # The capacity cut and the stockouts of each week are part of what was shippable, so the oracle carries them.
    expected = _expected_demand(b, pc, channel, mean * np.minimum(ratio, stock_ratio))
    payments = _payments(orders, cust, r)
    inventory = _inventory(m, mean, sku_pos, stockout, r)
    mp = _material_prices(m, r)
    orders = orders.drop(columns=["week", "order_key"])
    return Sales(orders, payments, promos, price_list, mp, capacity, inventory, weekly_channel, expected)


def _payments(orders: pd.DataFrame, cust: pd.DataFrame, r: np.random.Generator) -> pd.DataFrame:
    inv = orders[orders.status != "cancelled"].groupby("order_id", as_index=False, sort=True).agg(
        customer_id=("customer_id", "first"), order_date=("order_date", "first"), amount=("amount", "sum"))
    n = len(inv)
    invoice_date = pd.to_datetime(inv.order_date) + pd.to_timedelta(r.integers(1, 4, n), unit="D")
    terms = cust.loc[inv.customer_id, "tier"].map(TIER_TERMS).to_numpy()
    due = invoice_date + pd.to_timedelta(terms, unit="D")
    # Most pay around the due date; a slice pays late, a few very late.
    late = r.random(n)
    delay = np.where(late < 0.78, -r.integers(0, 10, n), np.where(late < 0.96, r.integers(5, 45, n),
                                                                     r.integers(45, 150, n)))
    paid = due + pd.to_timedelta(delay, unit="D")
    today = pd.Timestamp("2026-11-23")
    unpaid = paid >= today
    inv["invoice_id"] = ["INV" + o[2:] for o in inv.order_id]
    inv["invoice_date"] = invoice_date.dt.date
    inv["due_date"] = due.dt.date
    inv["paid_date"] = np.where(unpaid, None, paid.dt.date)
    inv["amount"] = inv.amount.round(2)
    inv["paid_amount"] = np.where(unpaid, 0.0, inv.amount)
    inv["status"] = np.where(unpaid, np.where(due < today, "overdue", "open"),
                             np.where(delay > 0, "paid_late", "paid"))
    inv["currency"] = "CNY"
    return inv[["invoice_id", "order_id", "customer_id", "invoice_date", "due_date", "amount", "currency",
                "paid_date", "paid_amount", "status"]]


def _inventory(m: Master, mean: np.ndarray, sku_pos: np.ndarray, stockout: np.ndarray,
               r: np.random.Generator) -> pd.DataFrame:
    n_s, n_w = len(m.skus), len(WEEKS)
    demand = np.zeros((n_s, n_w))
    np.add.at(demand, sku_pos, mean)
    cover = r.uniform(1.2, 3.5, (n_s, n_w))
    on_hand = np.where(stockout, 0, np.round(demand * cover)).astype(np.int64)
    return pd.DataFrame({
        "snapshot_date": np.repeat(WEEKS.date, n_s), "factory_id": np.tile(m.skus.factory_id.to_numpy(), n_w),
        "sku_id": np.tile(m.skus.sku_id.to_numpy(), n_w), "on_hand": on_hand.T.ravel(),
        "allocated": np.round(demand.T.ravel() * 0.4).astype(np.int64),
    })
