"""Fixtures for the own-company tests: an isolated LODESTAR_HOME / demo dir per test and small sample
exports written the way ERP tools write them (GB18030, title lines, BOMs, semicolons)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lodestar.warehouse import Warehouse

CUSTOMERS_YAML = """
source: shop
description: Test shop master data
root: drops
feeds:
  customers:
    files: "customers*.csv"
    format: csv
    encodings: [utf-8, gb18030]
    primary_key: [customer_id]
    columns:
      customer_id: {type: string, required: true}
      customer_name: {type: string, required: true}
      tier: {type: string, values: [A, B, C]}
"""


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LODESTAR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LODESTAR_WAREHOUSE", raising=False)
    monkeypatch.setenv("LODESTAR_DEMO_DIR", str(tmp_path / "home" / "demo"))
    monkeypatch.delenv("LODESTAR_COMPANY", raising=False)
    return tmp_path / "home"


@pytest.fixture()
def warehouse(home: Path) -> Warehouse:
    return Warehouse(home / "warehouse.duckdb")


@pytest.fixture()
def shop_contracts(tmp_path: Path, home: Path) -> Path:
    """A contracts folder with one known feed (shop.customers, 40 customers) and its file in the drops."""
    folder = tmp_path / "contracts"
    folder.mkdir()
    (folder / "shop.yaml").write_text(CUSTOMERS_YAML, encoding="utf-8")
    drops = home / "demo" / "drops" / "shop"
    drops.mkdir(parents=True)
    lines = ["customer_id,customer_name,tier"] + [f"C{i:05d},客户{i},{'ABC'[i % 3]}" for i in range(1, 41)]
    (drops / "customers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def gb18030_orders(n: int = 30, bad_customer: bool = False) -> bytes:
    """A Chinese ERP order export: a title line, Chinese headers (one with a unit), GB18030."""
    rows = ["销售订单导出 2024年5月", "订单编号,订单日期,客户编号,商品编码,数量,单价（元）,备注"]
    for i in range(1, n + 1):
        customer = "C99999" if bad_customer and i == n else f"C{(i % 40) + 1:05d}"
        note = "加急" if i % 4 == 0 else ""
        rows.append(f"SO{i:04d},2024/05/{(i % 28) + 1:02d},{customer},SKU{i % 7:03d},{i * 3},{i * 1.5:.2f},{note}")
    return ("\r\n".join(rows) + "\r\n").encode("gb18030")
