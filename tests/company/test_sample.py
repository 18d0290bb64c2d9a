"""The company-file setting `sample: {customers: share}`: a trial run lands a deterministic share of the customers,
the same ones in every feed (orders follow their customers), feeds without a customer whole, and the rows left out
are counted, not rejected; dropping the setting lands the files whole."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from connectors.contracts import load_source_contract
from connectors.files import in_sample, land_file_source
from lodestar.company import COMPANY_ENV, CompanyError, load_company

SHOP = """
source: shop
root: drops
feeds:
  customers:
    files: "customers.csv"
    format: csv
    primary_key: [customer_id]
    columns:
      customer_id: {type: string, required: true}
  orders:
    files: "orders.csv"
    format: csv
    primary_key: [order_id]
    columns:
      order_id: {type: string, required: true}
      customer_id: {type: string, required: true, references: customers.customer_id}
  skus:
    files: "skus.csv"
    format: csv
    primary_key: [sku_id]
    columns:
      sku_id: {type: string, required: true}
"""


def test_the_sample_is_deterministic_and_nested():
    ids = pd.Series([f"C{i:05d}" for i in range(4000)] + [None, ""])
    quarter, half = in_sample(ids, 0.25), in_sample(ids, 0.5)
    assert (quarter == in_sample(ids.copy(), 0.25)).all()  # the same customers every time
    assert 0.22 < quarter[:4000].mean() < 0.28 and 0.47 < half[:4000].mean() < 0.53
    assert not (quarter & ~half).any()  # a larger share keeps every customer of a smaller one
    assert not quarter[-2:].any() and in_sample(ids, 1.0)[:4000].all()


def test_a_sampled_company_lands_its_customers_orders_and_every_sku(tmp_path: Path, warehouse, monkeypatch):
    root = tmp_path / "acme"
    (root / "contracts").mkdir(parents=True)
    (root / "contracts" / "shop.yaml").write_text(SHOP, encoding="utf-8")
    drops = tmp_path / "exports"
    drops.mkdir()
    customers = [f"C{i:04d}" for i in range(400)]
    (drops / "customers.csv").write_text("customer_id\n" + "\n".join(customers) + "\n", encoding="utf-8")
    (drops / "orders.csv").write_text(
        "order_id,customer_id\n" + "\n".join(f"O{i},{customers[i % 400]}" for i in range(1200)) + "\n", encoding="utf-8")
    (drops / "skus.csv").write_text("sku_id\n" + "\n".join(f"K{i}" for i in range(50)) + "\n", encoding="utf-8")
    company = root / "lodestar.yaml"
    company.write_text(f"company: ACME\ncurrency: EUR\ncontracts_dir: contracts\nsources:\n  shop: {{path: '{drops}'}}\n"
                       "sample: {customers: 0.25}\n", encoding="utf-8")
    monkeypatch.setenv(COMPANY_ENV, str(company))
    contract = load_source_contract(root / "contracts" / "shop.yaml")
    result = land_file_source(contract, warehouse).feeds
    kept = {c for c, k in zip(customers, in_sample(pd.Series(customers), 0.25), strict=True) if k}
    landed = set(warehouse.query("select customer_id from raw.shop_customers")["customer_id"])
    assert landed == kept and 70 < len(kept) < 130
    # Orders follow their customers (their reference holds: nothing rejected); SKUs have no customer: all land.
    assert set(warehouse.query("select distinct customer_id from raw.shop_orders")["customer_id"]) == kept
    assert warehouse.row_count("raw", "shop_orders") == 3 * len(kept)
    assert warehouse.row_count("raw", "shop_skus") == 50 and result["skus"].rows_sampled_out == 0
    assert (result["customers"].rows_sampled_out, result["orders"].rows_sampled_out) == (400 - len(kept), 1200 - 3 * len(kept))
    assert result["orders"].rows_rejected == 0 and not warehouse.table_exists("raw", "shop_rejects")
    # Without the sample the same files are new again and land whole.
    company.write_text(company.read_text(encoding="utf-8").replace("sample: {customers: 0.25}\n", ""), encoding="utf-8")
    again = land_file_source(contract, warehouse).feeds
    assert again["customers"].files_loaded == 1 and again["skus"].files_skipped == 1
    assert warehouse.row_count("raw", "shop_customers") == 400 and warehouse.row_count("raw", "shop_orders") == 1200


def test_a_sample_share_outside_0_1_is_refused(tmp_path: Path):
    (tmp_path / "contracts").mkdir()
    path = tmp_path / "lodestar.yaml"
    path.write_text("company: ACME\ncurrency: EUR\ncontracts_dir: contracts\nsample: {customers: 1.5}\n", encoding="utf-8")
    try:
        load_company(path)
    except CompanyError as exc:
        assert "sample.customers" in str(exc)
    else:
        raise AssertionError("a share of 1.5 was accepted")
