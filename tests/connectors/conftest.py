"""Shared fixtures: an isolated LODESTAR_HOME per test, both loaders, and a fixture source contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.contracts import SourceContract, load_source_contract
from lodestar.warehouse import Warehouse

SHOP_YAML = """
source: shop
description: Test shop
root: drops
feeds:
  skus:
    files: "skus_*.csv"
    format: csv
    encodings: [utf-8, gb18030]
    primary_key: [sku_id]
    columns:
      sku_id: {type: string, required: true}
      name: {type: string, required: true, source_name: "SKU Name"}
      list_price: {type: decimal, min: 0}
      active: {type: boolean}
  orders:
    files: "orders_*.csv"
    format: csv
    encodings: [utf-8, gb18030]
    primary_key: [order_line_id]
    columns:
      order_line_id: {type: string, required: true}
      order_date: {type: date, required: true, format: "%Y-%m-%d"}
      quantity: {type: integer, required: true, min: 0, max: 1000}
      channel: {type: string, required: true, values: [direct, distributor, ecommerce]}
      sku_id: {type: string, required: true, references: skus.sku_id}
      shipped_at: {type: timestamp}
  events:
    files: "events_*.jsonl"
    format: jsonl
    primary_key: [event_id]
    columns:
      event_id: {type: integer, required: true}
      sku_id: {type: string, required: true, references: skus.sku_id}
      note: {type: string}
  targets:
    files: "targets_*.xlsx"
    format: excel
    primary_key: [sku_id, month]
    columns:
      sku_id: {type: string, required: true, references: skus.sku_id}
      month: {type: date, required: true}
      target_qty: {type: integer, required: true, min: 0}
"""

HTTP_YAML = """
name: shopapi_orders
source: shopapi
description: Orders from the test API.
base_url_env: TEST_API_URL
auth: {type: bearer, token_env: TEST_API_TOKEN}
endpoint: {path: /api/v1/orders, params: {page_size: 2}}
data_selector: data
paginator: {type: page_number, page_param: page, total_path: total_pages, base_page: 1}
incremental: {cursor_param: updated_since, cursor_field: updated_at, initial_value: "2000-01-01T00:00:00"}
primary_key: [order_id]
columns:
  order_id: {type: string, required: true}
  amount: {type: decimal, required: true, min: 0}
  status: {type: string, values: [open, shipped]}
  updated_at: {type: timestamp, required: true}
  customer: {type: string, source_name: customerName}
"""


@pytest.fixture()
def shop_yaml() -> str:
    return SHOP_YAML


@pytest.fixture()
def http_yaml() -> str:
    return HTTP_YAML


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LODESTAR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    return tmp_path / "home"


@pytest.fixture(params=["duckdb", "dlt"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every landing test runs on both loaders: the direct DuckDB one (default) and dlt."""
    monkeypatch.setenv("LODESTAR_LOADER", request.param)
    return request.param


@pytest.fixture()
def warehouse(home: Path, loader: str) -> Warehouse:
    return Warehouse(home / "warehouse.duckdb")


@pytest.fixture()
def shop(tmp_path: Path) -> SourceContract:
    path = tmp_path / "contracts" / "shop.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(SHOP_YAML, encoding="utf-8")
    return load_source_contract(path)


@pytest.fixture()
def drops(home: Path) -> Path:
    folder = home / "demo" / "drops" / "shop"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture()
def fault_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A LODESTAR_HOME for one fault case of connectors/faults.py, on the default (DuckDB) loader:
    the faults are met before the loader, so one loader is enough."""
    monkeypatch.setenv("LODESTAR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LODESTAR_LOADER", "duckdb")
    return tmp_path / "home"
