"""Store POS scans, CRM sell-through reports with recorded discrepancies, and distributor inventory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from lodestar.demo.common import POS_START, POS_WEEKS, TODAY, rng, season_factors
from lodestar.demo.master import LAUNCH_CASE_DATE, Master

LAUNCH_OVERSTATEMENT = 0.346
DISCREPANCY_RATE = 0.03
DOW = np.array([0.85, 0.85, 0.9, 0.95, 1.1, 1.35, 1.25])  # Monday..Sunday


@dataclass
class Pos:
    stores: pd.DataFrame
    scans: pd.DataFrame
    sell_through: pd.DataFrame
    discrepancies: pd.DataFrame
    launch_case: dict
    dist_inventory: pd.DataFrame


def build_pos(m: Master, seed: int) -> Pos:
    r = rng(seed, "pos")
    days = pd.date_range(POS_START, TODAY - timedelta(days=1), freq="D")
    stores = m.stores
    skus = m.skus.set_index("sku_id")
    cust = m.customers.set_index("customer_id")
    # Store x SKU pairs: a store carries its chain's range.
    pairs = stores[["store_id", "customer_id", "size"]].merge(m.baskets, on="customer_id")
    pairs = pairs.sort_values(["store_id", "sku_id"], kind="stable").reset_index(drop=True)
    chain_size = stores.groupby("customer_id")["size"].transform("sum")
    share_in_chain = (stores["size"] / chain_size).set_axis(stores.store_id)
    pack = skus.loc[pairs.sku_id, "pack_size"].to_numpy()
    weekly_units = (cust.loc[pairs.customer_id, "volume"].to_numpy() * pairs.share.to_numpy()
                    * share_in_chain.loc[pairs.store_id].to_numpy() * pack * 0.9)
    launch_mask = pairs.sku_id.to_numpy() == m.launch_sku
    weekly_units[launch_mask] = np.maximum(weekly_units[launch_mask], 25.0)  # the launch is pushed in every store
    sf = season_factors(pd.DatetimeIndex(days))
    season = sf["cny"] * (1 + 0.6 * sf["is_d11"] + 0.25 * sf["is_618"]) * sf["summer"]
    lam = weekly_units[:, None] / 7.0 * season[None, :] * DOW[days.dayofweek.to_numpy()][None, :]
    launch = pd.to_datetime(skus.loc[pairs.sku_id, "launch_date"]).to_numpy()
    age = (days.to_numpy()[None, :] - launch[:, None]) / np.timedelta64(7, "D")
    lam *= np.where(age < 0, 0.0, 1 - np.exp(-(age + 1) / 3.0))
    disc = pd.to_datetime(skus.loc[pairs.sku_id, "discontinue_date"]).to_numpy()
    lam *= ~(days.to_numpy()[None, :] > disc[:, None])  # NaT compares False: active SKUs stay on
    units = r.poisson(lam)
    price = np.round(skus.loc[pairs.sku_id, "list_price"].to_numpy() / pack * 1.45, 1)

    pi, di = np.nonzero(units)
    scans = pd.DataFrame({
        "scan_date": days.date[di], "store_id": pairs.store_id.to_numpy()[pi],
        "barcode": skus.loc[pairs.sku_id, "barcode"].to_numpy()[pi], "units": units[pi, di],
        "sales_amount": np.round(units[pi, di] * price[pi], 2)})
    scans = scans.sort_values(["scan_date", "store_id", "barcode"], kind="stable").reset_index(drop=True)

    # Weekly POS truth per store x SKU x week.
    wk_index = (di // 7)
    wk_units = np.zeros((len(pairs), len(POS_WEEKS)), dtype=np.int64)
    np.add.at(wk_units, (pi, wk_index), units[pi, di])
    wk_amount = wk_units * price[:, None]

    sell, truth = _sell_through(m, pairs, wk_units, wk_amount, r)
    launch_case = _launch_case(m, pairs, wk_units, sell)
    dist = _distributor_inventory(m, r)
    st = stores.drop(columns=["size"])
    return Pos(st, scans, sell, truth, launch_case, dist)


def _sell_through(m: Master, pairs: pd.DataFrame, wk_units: np.ndarray, wk_amount: np.ndarray,
                  r: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    n_p, n_w = wk_units.shape
    am_of = m.customers.set_index("customer_id").account_manager_id
    crm_units = wk_units.astype(float).copy()
    present = wk_units > 0
    duplicate = np.zeros_like(present)
    kind = np.full(wk_units.shape, "", dtype=object)
    launch_rows = np.flatnonzero(pairs.sku_id.to_numpy() == m.launch_sku)
    launch_w0 = int(np.searchsorted(POS_WEEKS.date, LAUNCH_CASE_DATE))
    protected = np.zeros_like(present)
    protected[np.ix_(launch_rows, np.arange(launch_w0, min(n_w, launch_w0 + 5)))] = True

    cand = np.argwhere(present & ~protected)
    pick = cand[r.random(len(cand)) < DISCREPANCY_RATE]
    kinds = r.choice(["over_reporting", "timing_shift", "missing_report", "double_count"], len(pick),
                     p=[0.4, 0.2, 0.25, 0.15])
    for (p, w), k in zip(pick, kinds, strict=True):
        if kind[p, w] or (k == "timing_shift" and (w + 1 >= n_w or kind[p, w + 1] or protected[p, w + 1])):
            continue
        if k == "over_reporting":
            crm_units[p, w] = np.round(wk_units[p, w] * (1 + r.uniform(0.2, 0.6))) + 1
        elif k == "missing_report":
            present[p, w] = False
            crm_units[p, w] = 0
        elif k == "double_count":
            duplicate[p, w] = True
        else:  # the week's units reported one week late, on top of the next week's
            crm_units[p, w + 1] += crm_units[p, w]
            crm_units[p, w] = 0
            present[p, w] = False
            present[p, w + 1] = True
            kind[p, w + 1] = "timing_shift"
        kind[p, w] = k

    # The launch case: the new product's first four weeks overstated by exactly 34.6% in total.
    w_sl = np.arange(launch_w0, min(n_w, launch_w0 + 4))
    block = wk_units[np.ix_(launch_rows, w_sl)].astype(float)
    target = int(round(block.sum() * (1 + LAUNCH_OVERSTATEMENT)))
    over = np.floor(block * (1 + LAUNCH_OVERSTATEMENT))
    rem = target - int(over.sum())
    flat = over.ravel()
    order = np.argsort(-block.ravel(), kind="stable")
    flat[order[:rem]] += 1
    over = flat.reshape(block.shape)
    crm_units[np.ix_(launch_rows, w_sl)] = over
    present[np.ix_(launch_rows, w_sl)] = block > 0
    sub = kind[np.ix_(launch_rows, w_sl)]
    sub[over != block] = "over_reporting"
    kind[np.ix_(launch_rows, w_sl)] = sub

    p_idx, w_idx = np.nonzero(present)
    reps = np.where(duplicate[p_idx, w_idx], 2, 1)
    p_idx, w_idx = np.repeat(p_idx, reps), np.repeat(w_idx, reps)
    unit_price = np.divide(wk_amount, np.maximum(wk_units, 1))
    cu = crm_units[p_idx, w_idx]
    sell = pd.DataFrame({
        "account_manager_id": am_of.loc[pairs.customer_id.to_numpy()[p_idx]].to_numpy(),
        "store_id": pairs.store_id.to_numpy()[p_idx], "sku_id": pairs.sku_id.to_numpy()[p_idx],
        "week_start": POS_WEEKS.date[w_idx], "units_sold": cu.astype(np.int64),
        # Field reports round the amount to whole yuan: the only noise on agreeing cells.
        "sales_amount": np.round(cu * unit_price[p_idx, w_idx], 0),
        "reported_at": [pd.Timestamp(d) + pd.Timedelta(days=7 + int(k), hours=int(h)) for d, k, h in
                        zip(POS_WEEKS.date[w_idx], r.integers(0, 3, len(w_idx)), r.integers(9, 19, len(w_idx)),
                            strict=True)]})
    sell = sell.sort_values(["week_start", "store_id", "sku_id"], kind="stable").reset_index(drop=True)
    sell.insert(0, "report_id", [f"STR{i + 1:07d}" for i in range(len(sell))])

    tp, tw = np.nonzero(kind != "")
    truth = pd.DataFrame({
        "store_id": pairs.store_id.to_numpy()[tp], "sku_id": pairs.sku_id.to_numpy()[tp],
        "week_start": POS_WEEKS.date[tw], "kind": kind[tp, tw].astype(str), "pos_units": wk_units[tp, tw],
        "crm_units": np.where(duplicate[tp, tw], 2 * crm_units[tp, tw], np.where(present[tp, tw], crm_units[tp, tw], 0)
                              ).astype(np.int64)})
    truth["magnitude_pct"] = np.round((truth.crm_units - truth.pos_units) / truth.pos_units.clip(lower=1) * 100, 1)
    is_launch = truth.sku_id.eq(m.launch_sku) & truth.week_start.isin(POS_WEEKS.date[w_sl])
    truth["note"] = np.where(is_launch, "launch_case", "")
    truth = truth.sort_values(["week_start", "store_id", "sku_id"], kind="stable").reset_index(drop=True)
    return sell, truth


def _launch_case(m: Master, pairs: pd.DataFrame, wk_units: np.ndarray, sell: pd.DataFrame) -> dict:
    w0 = int(np.searchsorted(POS_WEEKS.date, LAUNCH_CASE_DATE))
    weeks = POS_WEEKS.date[w0:w0 + 4]
    rows = pairs.sku_id.to_numpy() == m.launch_sku
    pos_units = int(wk_units[rows][:, w0:w0 + 4].sum())
    crm = int(sell[(sell.sku_id == m.launch_sku) & sell.week_start.isin(weeks)].units_sold.sum())
    sku = m.skus.set_index("sku_id").loc[m.launch_sku]
    return {"sku_id": m.launch_sku, "sku_name": sku.sku_name, "barcode": sku.barcode,
            "launch_date": str(LAUNCH_CASE_DATE), "weeks": [str(w) for w in weeks],
            "stores": int(rows.sum()), "pos_units": pos_units, "crm_units": crm,
            "overstatement_pct": round((crm / pos_units - 1) * 100, 1)}


def _distributor_inventory(m: Master, r: np.random.Generator) -> pd.DataFrame:
    dist = m.customers[m.customers.channel == "distributor"]
    pairs = dist[["customer_id", "alias", "volume"]].merge(m.baskets, on="customer_id").sort_values(
        ["customer_id", "sku_id"], kind="stable").reset_index(drop=True)
    barcode = m.skus.set_index("sku_id").barcode
    weekly = pairs.volume.to_numpy() * pairs.share.to_numpy()
    n_p, n_w = len(pairs), len(POS_WEEKS)
    cover = np.clip(2.5 + np.cumsum(r.normal(0, 0.3, (n_p, n_w)), axis=1), 0.0, 8.0)
    on_hand = np.round(weekly[:, None] * cover).astype(np.int64)
    in_transit = np.where(r.random((n_p, n_w)) < 0.35, np.round(weekly[:, None] * r.uniform(0.5, 2, (n_p, n_w))), 0
                          ).astype(np.int64)
    return pd.DataFrame({
        "snapshot_date": np.repeat(POS_WEEKS.date, n_p), "distributor_id": np.tile(pairs.customer_id.to_numpy(), n_w),
        "distributor_name": np.tile(pairs.alias.to_numpy(), n_w), "sku_id": np.tile(pairs.sku_id.to_numpy(), n_w),
        "barcode": np.tile(barcode.loc[pairs.sku_id].to_numpy(), n_w), "on_hand": on_hand.T.ravel(),
        "in_transit": in_transit.T.ravel()})
