"""Master data of the demo company: customers and their aliases, account managers, SKUs, BOM, factories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from faker import Faker

from lodestar.demo import names
from lodestar.demo.common import WEEKS, rng, scaled

LAUNCH_CASE_DATE = date(2026, 9, 7)
EVENT_MONTH_START = date(2026, 12, 7)  # first Monday of "next month"

TIER_VOLUME = {"A": 900.0, "B": 320.0, "C": 120.0, "D": 45.0}  # mean units per week
TIER_BASKET = {"A": 34, "B": 24, "C": 15, "D": 8}
TIER_DISCOUNT = {"A": 0.12, "B": 0.08, "C": 0.05, "D": 0.0}
TIER_TERMS = {"A": 90, "B": 60, "C": 45, "D": 30}

INDUSTRY_LINES = {
    "零售商超": ["PL01", "PL02", "PL03", "PL04", "PL05", "PL06", "PL07", "PL08"],
    "经销商": ["PL01", "PL02", "PL03", "PL04", "PL05", "PL06", "PL07", "PL08"],
    "电商平台": ["PL01", "PL02", "PL03", "PL05", "PL08"],
    "医疗机构": ["PL02", "PL03", "PL04", "PL06", "PL08"], "学校": ["PL01", "PL03", "PL04", "PL07", "PL08"],
    "酒店": ["PL01", "PL03", "PL04", "PL07", "PL08"], "餐饮连锁": ["PL01", "PL05", "PL06", "PL04"],
    "物业管理": ["PL01", "PL04", "PL07", "PL03"], "食品制造": ["PL05", "PL06", "PL01", "PL02"],
    "电子制造": ["PL06", "PL01", "PL07", "PL03"], "物流仓储": ["PL04", "PL05", "PL06", "PL07"],
}
ECOM_LEGAL = {"京东自营": "北京京东世纪贸易有限公司", "天猫超市": "浙江天猫供应链管理有限公司",
              "拼多多百亿补贴": "上海寻梦信息技术有限公司", "抖音电商": "北京抖音电子商务有限公司",
              "苏宁易购": "苏宁易购集团股份有限公司", "唯品会": "广州唯品会电子商务有限公司"}


@dataclass
class Master:
    clusters: pd.DataFrame
    account_managers: pd.DataFrame
    customers: pd.DataFrame      # one row per customer with every system's name for it
    stores: pd.DataFrame
    product_lines: pd.DataFrame
    skus: pd.DataFrame
    materials: pd.DataFrame
    bom: pd.DataFrame
    factories: pd.DataFrame
    baskets: pd.DataFrame        # customer_id, sku_id, share of the customer's volume
    events: pd.DataFrame         # injected demand-drop events (truth)
    launch_sku: str


def _ean13(body12: str) -> str:
    digits = [int(c) for c in body12]
    check = (10 - (sum(digits[0::2]) + 3 * sum(digits[1::2])) % 10) % 10
    return body12 + str(check)


def _credit_code(r: np.random.Generator) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    tail = "".join(alphabet[i] for i in r.integers(0, len(alphabet), 10))
    return "91" + f"{r.integers(110000, 660000):06d}" + tail


def _build_skus(r: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    lines = pd.DataFrame([(pid, name, f"洁立达{name}系列") for pid, name, _, _ in names.PRODUCT_LINES],
                         columns=["product_line_id", "product_line_name", "description"])
    rows = []
    n = 0
    for li, (pid, _lname, products, sizes) in enumerate(names.PRODUCT_LINES):
        base_price = [18.0, 22.0, 45.0, 15.0, 28.0, 35.0, 30.0, 20.0][li]
        factories = [f for f, _, _, _, pls in names.FACTORIES if pid in pls]
        for pi, product in enumerate(products):
            for si, size in enumerate(sizes):
                n += 1
                price = round(base_price * (1 + 0.35 * si) * (0.8 + 0.1 * pi) * r.uniform(0.9, 1.1), 1)
                launch = date(2019, 1, 1) + timedelta(days=int(r.integers(0, 1400)))
                rows.append({
                    "sku_id": f"SKU{10000 + n}", "sku_name": f"洁立达{product} {size}", "product_line_id": pid,
                    "barcode": _ean13(f"69{n:05d}{li:01d}{pi:01d}{si:01d}0"[:12].ljust(12, "0")),
                    "unit": "箱" if li in (2, 3, 4) else "件", "pack_size": int(r.choice([6, 12, 20, 24, 50])),
                    "list_price": price, "unit_cost": round(price * r.uniform(0.52, 0.7), 2),
                    "launch_date": launch, "discontinue_date": None,
                    "lead_time_days": int(r.choice([7, 10, 14, 21, 28])),
                    "factory_id": factories[int(r.integers(0, len(factories)))],
                    "popularity": float(r.pareto(1.6) + 0.3),
                })
    skus = pd.DataFrame(rows)
    # New products launched during the history (ramping up) and products discontinued in it.
    idx = r.permutation(len(skus))
    for k, i in enumerate(idx[:12]):
        skus.loc[i, "launch_date"] = WEEKS[20 + k * 14].date()
    for k, i in enumerate(idx[12:20]):
        skus.loc[i, "discontinue_date"] = WEEKS[40 + k * 18].date()
    return lines, skus


def build_master(scale: float, seed: int) -> Master:
    r = rng(seed, "master")
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    product_lines, skus = _build_skus(r)

    # The launch case: a new antibacterial hand-soap variant sold through the retail stores.
    launch_idx = skus.index[(skus.product_line_id == "PL08") & (skus.discontinue_date.isna())][3]
    skus.loc[launch_idx, ["sku_name", "launch_date", "popularity"]] = ["洁立达抑菌洗手液 樱花香 500ml",
                                                                        LAUNCH_CASE_DATE, 2.5]
    launch_sku = str(skus.loc[launch_idx, "sku_id"])

    clusters = pd.DataFrame({"cluster_id": [f"CL{i + 1:02d}" for i in range(len(names.CLUSTERS))],
                             "cluster_name": names.CLUSTERS,
                             "description": [f"{c}客户群" for c in names.CLUSTERS]})
    cluster_of = dict(zip(clusters.cluster_name, clusters.cluster_id, strict=True))

    n_am = scaled(40, scale, minimum=len(names.CLUSTERS))
    regions = ["华东", "华南", "华北", "华中", "西南", "西北", "东北"]
    am_cluster = [clusters.cluster_id[i % len(clusters)] for i in range(n_am)]
    account_managers = pd.DataFrame({
        "account_manager_id": [f"AM{i + 1:03d}" for i in range(n_am)],
        "name": [fake.name() for _ in range(n_am)],
        "cluster_id": am_cluster,
        "region": [regions[int(i)] for i in r.integers(0, len(regions), n_am)],
        "email": [f"am{i + 1:03d}@jielida.com.cn" for i in range(n_am)],
        "hire_date": [date(2012, 1, 1) + timedelta(days=int(d)) for d in r.integers(0, 4000, n_am)],
    })

    # Customers per industry.
    pw = names.PROVINCE_WEIGHT / names.PROVINCE_WEIGHT.sum()
    rows = []
    used: set[str] = set()
    cid = 0
    for industry, count in names.INDUSTRY_COUNTS.items():
        channel, word, short_word = names.INDUSTRIES[industry]
        n = 6 if industry == "电商平台" else scaled(count, scale, minimum=4 if industry in ("零售商超", "经销商") else 2)
        for k in range(n):
            cid += 1
            pi = int(r.choice(len(names.PROVINCES), p=pw))
            prov, prov_short, region, cities = names.PROVINCES[pi]
            city = cities[int(r.integers(0, len(cities)))]
            tier = str(r.choice(["A", "B", "C", "D"], p=[0.12, 0.28, 0.35, 0.25]))
            if industry == "电商平台":
                brand = names.ECOMMERCE_PLATFORM_CUSTOMERS[k]
                legal, crm_name, pos_name, tier = ECOM_LEGAL[brand], brand, brand, "A"
            else:
                for _ in range(200):
                    brand = names.BRAND_WORDS[int(r.integers(0, len(names.BRAND_WORDS)))]
                    if (brand, city, industry) not in used:
                        break
                    city = cities[int(r.integers(0, len(cities)))]
                    if (brand, city, industry) in used:
                        brand = brand + names.BRAND_WORDS[int(r.integers(0, len(names.BRAND_WORDS)))][0]
                used.add((brand, city, industry))
                joint = r.random() < 0.25
                legal = f"{city}{brand}{word}{'股份' if joint else ''}有限公司"
                variant = int(r.integers(0, 4))
                crm_name = [f"{brand}{short_word}（{city}）", f"{city}{brand}{short_word}", f"{brand}{short_word}集团",
                            f"{city}{brand}{word}{'' if joint else '股份'}有限公司"][variant]
                pos_name = [f"{brand}{short_word}", f"{brand}", f"{city}{brand}",
                            f"{legal}{city}分公司"][int(r.integers(0, 4))]
            rows.append({"customer_id": f"C{cid:05d}", "legal_name": legal, "crm_name": crm_name,
                         "alias": pos_name, "brand": brand, "industry": industry, "channel": channel,
                         "province": prov, "province_short": prov_short, "region": region, "city": city,
                         "tier": tier})
    customers = pd.DataFrame(rows)
    customers["credit_code"] = [_credit_code(r) if r.random() < 0.92 else None for _ in range(len(customers))]
    cl = []
    for row in customers.itertuples():
        if row.industry == "零售商超":
            name = {"华东": "华东商超", "华南": "华南商超", "西南": "华南商超"}.get(row.region, "华北商超")
        elif row.industry == "经销商":
            name = {"华东": "经销网络-华东", "华南": "经销网络-南方", "西南": "经销网络-南方", "华中": "经销网络-南方"}.get(
                row.region, "经销网络-北方")
        elif row.industry == "电商平台":
            name = "电商平台"
        elif row.region in ("西南", "西北") and row.tier == "A":
            name = "西部重点客户"
        else:
            name = {"医疗机构": "公立医院", "学校": "教育后勤", "餐饮连锁": "连锁餐饮", "食品制造": "食品工厂",
                    "电子制造": "电子工厂", "物流仓储": "物流园区"}.get(row.industry)
            if row.industry == "酒店":
                name = "高端酒店" if row.tier in ("A", "B") else "中端连锁酒店"
            if row.industry == "物业管理":
                name = "商业物业" if r.random() < 0.5 else "住宅物业"
        cl.append(cluster_of[name])
    customers["cluster_id"] = cl
    ams_by_cluster = account_managers.groupby("cluster_id").account_manager_id.apply(list).to_dict()
    customers["account_manager_id"] = [ams[int(r.integers(0, len(ams)))] for ams in
                                       (ams_by_cluster[c] for c in customers.cluster_id)]
    # Some customers were won during the history, a few were lost.
    n_c = len(customers)
    start = np.where(r.random(n_c) < 0.1, r.integers(10, len(WEEKS) - 30, n_c), 0)
    churn = np.where((r.random(n_c) < 0.04) & (start == 0), r.integers(60, len(WEEKS) - 10, n_c), len(WEEKS))
    customers.loc[customers.industry == "电商平台", ["start_week"]] = 0
    customers["start_week"] = start
    customers["churn_week"] = churn
    customers.loc[customers.industry.isin(["零售商超", "电商平台"]), ["start_week", "churn_week"]] = [0, len(WEEKS)]
    customers["created_date"] = [(WEEKS[s].date() - timedelta(days=int(d))) if s else
                                 date(2015, 1, 1) + timedelta(days=int(d) * 7) for s, d in
                                 zip(start, r.integers(1, 280, n_c), strict=True)]
    customers["volume"] = [TIER_VOLUME[t] * r.lognormal(0, 0.45) for t in customers.tier]
    customers.loc[customers.channel.isin(["ecommerce", "distributor"]), "volume"] *= 2.2
    customers["order_prob"] = np.clip(r.beta(2.0, 8, n_c) + 0.04, 0.06, 0.9)
    customers.loc[customers.tier == "A", "order_prob"] = np.clip(customers.order_prob * 1.8, 0.1, 0.95)

    # Baskets: customers buy a subset of the SKUs of their industry's lines.
    sku_line = skus.product_line_id.to_numpy()
    pop = skus.popularity.to_numpy()
    basket_rows = []
    for row in customers.itertuples():
        allowed = np.isin(sku_line, INDUSTRY_LINES[row.industry])
        if row.channel == "retail":
            allowed |= skus.sku_id.to_numpy() == launch_sku
        p = np.where(allowed, pop, 0.0)
        k = min(int(allowed.sum()), max(3, int(TIER_BASKET[row.tier] * r.uniform(0.7, 1.3))))
        chosen = np.sort(r.choice(len(skus), size=k, replace=False, p=p / p.sum()))
        if row.channel == "retail":
            chosen = np.union1d(chosen, [launch_idx])
        shares = r.dirichlet(np.full(len(chosen), 0.9))
        for i, s in zip(chosen, shares, strict=True):
            basket_rows.append((row.customer_id, skus.sku_id[i], float(s)))
    baskets = pd.DataFrame(basket_rows, columns=["customer_id", "sku_id", "share"])

    # Injected events: customers whose demand will drop >= 40% next month.
    events = []
    direct = customers[(customers.channel == "direct") & customers.tier.isin(["B", "C"]) &
                       (customers.churn_week == len(WEEKS)) & (customers.start_week == 0)]
    # The discontinued SKUs are the least-bought established ones, so other customers barely notice.
    eligible = skus[(skus.discontinue_date.isna()) & (skus.launch_date < date(2022, 1, 1))].sku_id
    buyers = baskets.sku_id.value_counts()
    eligible_skus = pd.Series(sorted(eligible, key=lambda s: (int(buyers.get(s, 0)), s)))
    n_ev = scaled(3, scale, minimum=2)
    drop_customers = direct.customer_id.to_numpy()[:n_ev]
    for j, cust in enumerate(drop_customers):
        sku = eligible_skus.iloc[j]
        share = 0.55 + 0.05 * (j % 4)
        mask = baskets.customer_id == cust
        baskets.loc[mask, "share"] *= (1 - share) / baskets.loc[mask, "share"].sum()
        baskets = pd.concat([baskets[~(mask & (baskets.sku_id == sku))],
                             pd.DataFrame([(cust, sku, share)], columns=baskets.columns)], ignore_index=True)
        skus.loc[skus.sku_id == sku, "discontinue_date"] = EVENT_MONTH_START
        events.append({"customer_id": cust, "event_type": "sku_discontinued", "sku_id": sku,
                       "effective_date": EVENT_MONTH_START, "expected_drop_pct": round(share * 100, 1),
                       "evidence": f"erp.skus discontinue_date of {sku}"})
    factories_c = customers[customers.industry.isin(["食品制造", "电子制造"]) & (customers.churn_week == len(WEEKS))
                            & (customers.start_week == 0)]
    for j, cust in enumerate(factories_c.customer_id.to_numpy()[:n_ev]):
        events.append({"customer_id": cust, "event_type": "production_line_upgrade", "sku_id": None,
                       "effective_date": EVENT_MONTH_START, "expected_drop_pct": 60.0 + 5 * (j % 4),
                       "evidence": "crm.meeting_notes mentioning 产线升级"})
    baskets = baskets.sort_values(["customer_id", "sku_id"], kind="stable").reset_index(drop=True)

    stores = _build_stores(customers, scale, r)
    materials = pd.DataFrame([(f"MAT{i + 1:03d}", n, c, u, p) for i, (n, c, u, p) in enumerate(names.MATERIALS)],
                             columns=["material_id", "material_name", "category", "unit", "base_price"])
    bom_rows = []
    for s in skus.itertuples():
        mats = names.LINE_MATERIALS[s.product_line_id]
        k = min(len(mats), int(r.integers(3, 7)))
        for m in sorted(r.choice(mats, size=k, replace=False)):
            unit = names.MATERIALS[m][2]
            qty = r.uniform(0.05, 2.0) if unit == "kg" else r.uniform(0.0002, 0.004)
            bom_rows.append((f"BOM{len(bom_rows) + 1:06d}", s.sku_id, f"MAT{m + 1:03d}", round(qty, 5), unit))
    bom = pd.DataFrame(bom_rows, columns=["bom_line_id", "sku_id", "material_id", "qty_per_unit", "unit"])
    factories = pd.DataFrame([(f, n, p, c) for f, n, p, c, _ in names.FACTORIES],
                             columns=["factory_id", "factory_name", "province", "city"])
    return Master(clusters, account_managers, customers, stores, product_lines, skus, materials, bom, factories,
                  baskets, pd.DataFrame(events), launch_sku)


def _build_stores(customers: pd.DataFrame, scale: float, r: np.random.Generator) -> pd.DataFrame:
    retail = customers[customers.channel == "retail"].reset_index(drop=True)
    n_stores = max(scaled(40, scale), len(retail), 8)
    weights = retail.volume.to_numpy() / retail.volume.sum()
    counts = np.ones(len(retail), dtype=int) + r.multinomial(n_stores - len(retail), weights)
    districts = ["中心", "东区", "西区", "南区", "北区", "高新", "开发区", "新城", "老城", "滨江", "湖滨", "万达"]
    rows = []
    for row, cnt in zip(retail.itertuples(), counts, strict=True):
        for k in range(cnt):
            city = row.city
            rows.append({"store_id": f"ST{len(rows) + 1:04d}",
                         "store_name": f"{row.brand}超市{city}{districts[k % len(districts)]}店",
                         "customer_id": row.customer_id, "chain_name": row.alias, "province": row.province,
                         "city": city, "region": row.region,
                         "store_format": str(r.choice(["大卖场", "标准超市", "便利店"], p=[0.3, 0.5, 0.2])),
                         "opened_date": date(2010, 1, 1) + timedelta(days=int(r.integers(0, 5000))),
                         "size": float(r.lognormal(0, 0.4))})
    return pd.DataFrame(rows)
