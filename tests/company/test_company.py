"""A company is configuration: lodestar.yaml picks the contracts, drop folders at any path, HTTP base URLs
and tokens, the document inbox; `lodestar run` lands it without generating anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.contracts import load_file_contracts, load_http_contract, load_source_contract
from connectors.files import source_root
from lodestar.cli import app
from lodestar.company import (
    COMPANY_ENV,
    CompanyError,
    contract_rules,
    current_company,
    dbt_vars,
    demo_company_yaml,
    http_environment,
    load_company,
)
from lodestar.settings import PROJECT_ROOT, get_settings
from lodestar.warehouse import Warehouse

SHOP = """
source: shop
root: drops
feeds:
  customers:
    files: "customers*.csv"
    format: csv
    primary_key: [customer_id]
    # one planted duplicate in three rows: a reject the run reports, within the feed's threshold (a failed
    # reject-rate check would make `lodestar run` exit 1)
    reject_threshold: 0.5
    columns:
      customer_id: {type: string, required: true}
      customer_name: {type: string, required: true}
"""
OTHER = SHOP.replace("source: shop", "source: other")
ORDERS_API = """
name: acme_orders
source: acme_api
base_url_env: ACME_ORDERS_URL
auth: {type: bearer, token_env: ACME_ORDERS_TOKEN}
endpoint: {path: /v2/orders}
data_selector: items
paginator: {type: page_number, page_param: page, total_path: meta.total_pages, base_page: 1}
incremental: {cursor_param: since, cursor_field: updatedAt, initial_value: "2000-01-01T00:00:00"}
primary_key: [id]
columns:
  id: {type: string, required: true}
  customer_name: {type: string, source_name: customerName}
  amount: {type: decimal, required: true, min: 0}
  updated_at: {type: timestamp, required: true, source_name: updatedAt}
"""


@pytest.fixture()
def company_dir(tmp_path: Path) -> Path:
    """A company whose drops live in an arbitrary folder, with its own contracts (two, one applies)."""
    root = tmp_path / "acme"
    (root / "contracts").mkdir(parents=True)
    (root / "contracts" / "shop.yaml").write_text(SHOP, encoding="utf-8")
    (root / "contracts" / "other.yaml").write_text(OTHER, encoding="utf-8")
    (root / "http").mkdir()
    (root / "http" / "acme_orders.yaml").write_text(ORDERS_API, encoding="utf-8")
    exports = tmp_path / "mnt" / "erp exports" / "2024"
    exports.mkdir(parents=True)
    (exports / "customers.csv").write_text("customer_id,customer_name\nC1,甲\nC2,乙\nC2,乙2\n", encoding="utf-8")
    (root / "lodestar.yaml").write_text(
        "company: ACME 贸易\ncurrency: EUR\ncalendar: {week_start: sunday, timezone: Europe/Paris}\n"
        "contracts_dir: contracts\nhttp_contracts_dir: http\n"
        f"sources:\n  shop: {{path: '{exports}'}}\n"
        "http:\n  acme_orders: {base_url: 'http://127.0.0.1:9', token_env: ACME_SECRET}\n"
        "documents: inbox\n", encoding="utf-8")
    return root


def test_company_file_resolves_paths_and_names_bad_fields(company_dir, tmp_path):
    company = load_company(company_dir / "lodestar.yaml")
    assert (company.company, company.currency, company.calendar.week_start) == ("ACME 贸易", "EUR", "sunday")
    assert company.contracts_dir == (company_dir / "contracts").resolve()
    assert company.documents == (company_dir / "inbox").resolve()
    assert company.source_folder("shop") == (tmp_path / "mnt" / "erp exports" / "2024").resolve()
    assert company.applies("shop") and not company.applies("other")
    bad = tmp_path / "bad.yaml"
    bad.write_text("company: X\ncurrency: EUR\nsorces: {}\n", encoding="utf-8")
    with pytest.raises(CompanyError, match=r"bad.yaml: sorces: unknown field \(typo\?\)"):
        load_company(bad)
    bad.write_text("company: X\ncurrency: EUR\ncontracts_dir: nowhere\n", encoding="utf-8")
    with pytest.raises(CompanyError, match="contracts_dir: no such folder"):
        load_company(bad)


def test_as_of_and_first_forecast_week_come_from_the_company(tmp_path, home, monkeypatch):
    """A company whose export stops in the past forecasts from its own as-of date, not from today."""
    f = tmp_path / "lodestar.yaml"
    f.write_text("company: X\ncurrency: USD\nas_of: 2022-01-01\nforecast_first_week: 2021-01-04\n", encoding="utf-8")
    for key in ("LODESTAR_AS_OF", "LODESTAR_FORECAST_LAST_WEEK", "LODESTAR_FORECAST_FIRST_WEEK"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv(COMPANY_ENV, str(f))
    settings = get_settings()
    assert (str(settings.as_of), str(settings.forecast_last_week), str(settings.forecast_first_week)) == (
        "2022-01-01", "2021-12-20", "2021-01-04")
    monkeypatch.setenv("LODESTAR_AS_OF", "2022-03-01")  # the environment still wins
    assert str(get_settings().as_of) == "2022-03-01"
    f.write_text("company: X\ncurrency: USD\nforecast_first_week: 2021-01-05\n", encoding="utf-8")
    with pytest.raises(CompanyError, match="forecast_first_week: .*must be a Monday"):
        load_company(f)
    # With Sunday weeks the first week is a Sunday, and the last origin the last complete Sunday week.
    f.write_text("company: X\ncurrency: USD\ncalendar: {week_start: sunday}\nforecast_first_week: 2021-01-04\n",
                 encoding="utf-8")
    with pytest.raises(CompanyError, match="forecast_first_week: must be a Sunday, the calendar's week_start"):
        load_company(f)
    f.write_text("company: X\ncurrency: USD\ncalendar: {week_start: sunday}\nas_of: 2022-01-01\n", encoding="utf-8")
    monkeypatch.delenv("LODESTAR_AS_OF")
    settings = get_settings()
    assert (str(settings.forecast_last_week), str(settings.forecast_first_week)) == ("2021-12-19", "2023-12-31")
    f.write_text("company: X\ncurrency: USD\ncalendar: {timezone: Mars/Olympus}\n", encoding="utf-8")
    with pytest.raises(CompanyError, match="calendar.timezone: unknown time zone 'Mars/Olympus'"):
        load_company(f)


def test_staging_tests_follow_the_companys_contract_rules(company_dir):
    """The dbt variable a company run passes: its own required columns and allowed values, per raw table."""
    company = load_company(company_dir / "lodestar.yaml")
    rules = contract_rules(company, PROJECT_ROOT / "connectors" / "contracts", PROJECT_ROOT / "connectors" / "http")
    # its own folders only: shop (listed) and its HTTP feed; not `other` (not listed), not the demo's contracts
    assert set(rules) == {"shop_customers", "acme_orders"}
    assert rules["shop_customers"] == {"required": ["customer_id", "customer_name"], "values": {}}
    assert rules["acme_orders"]["required"] == ["amount", "id", "updated_at"]
    superstore = load_company(PROJECT_ROOT / "companies" / "superstore" / "lodestar.yaml")
    v = dbt_vars(superstore)
    assert v["lodestar_currency"] == "USD" and set(v["lodestar_contracts"]) == {
        "erp_orders", "erp_customers", "erp_skus", "erp_product_lines"}
    # Superstore's customers have no tier or channel: nothing requires them, no demo vocabulary is checked.
    assert v["lodestar_contracts"]["erp_customers"] == {
        "required": ["customer_id", "industry", "legal_name", "region"], "values": {}}


def test_drops_and_documents_resolve_through_the_company(company_dir, tmp_path, home, monkeypatch):
    shop = load_source_contract(company_dir / "contracts" / "shop.yaml")
    # No company: the demo layout.
    assert source_root(shop) == get_settings().drops_dir / "shop"
    monkeypatch.setenv(COMPANY_ENV, str(company_dir / "lodestar.yaml"))
    assert source_root(shop) == (tmp_path / "mnt" / "erp exports" / "2024").resolve()
    assert source_root(load_source_contract(company_dir / "contracts" / "other.yaml")) == get_settings().drops_dir / "other"
    assert get_settings().documents_dir == (company_dir / "inbox").resolve()


def test_http_base_url_and_token_come_from_the_company(company_dir, monkeypatch):
    monkeypatch.setenv(COMPANY_ENV, str(company_dir / "lodestar.yaml"))
    monkeypatch.setenv("ACME_SECRET", "tok")
    monkeypatch.delenv("ACME_ORDERS_URL", raising=False)
    monkeypatch.delenv("ACME_ORDERS_TOKEN", raising=False)
    contract = load_http_contract(company_dir / "http" / "acme_orders.yaml")
    with http_environment(current_company(), contract):
        assert os.environ["ACME_ORDERS_URL"] == "http://127.0.0.1:9"
        assert os.environ["ACME_ORDERS_TOKEN"] == "tok"
    assert "ACME_ORDERS_URL" not in os.environ and "ACME_ORDERS_TOKEN" not in os.environ


def test_the_generator_writes_the_demo_as_a_company_file(tmp_path):
    from lodestar.demo.generator import generate

    contracts = PROJECT_ROOT / "connectors" / "contracts"
    generate(tmp_path / "demo", scale=0.02)
    path = tmp_path / "demo" / "lodestar.yaml"
    assert path.read_text(encoding="utf-8").endswith(
        demo_company_yaml(contracts, PROJECT_ROOT / "connectors" / "http").split("\n", 3)[3])
    company = load_company(path)
    # Every drops source's folder is where the generator put its files.
    assert list(company.source_folder("erp").glob("orders_*.csv"))
    assert company.demo_api and company.currency == "CNY"
    sources, _ = load_file_contracts(contracts)
    assert set(company.sources) == {c.source for c in sources}
    for c in sources:
        expected = (tmp_path / "demo" / "drops" / c.folder_name).resolve() if c.root == "drops" else None
        assert company.source_folder(c.source) == expected
    assert company.documents == (tmp_path / "demo" / "documents").resolve()


def test_run_without_a_company_says_how_to_name_one(home):
    result = CliRunner().invoke(app, ["run"], env={COMPANY_ENV: ""})
    assert result.exit_code == 2 and "--company PATH" in result.output


def test_lodestar_run_lands_the_configured_company_without_generating(company_dir, home, tmp_path, styled_api):
    api = styled_api("page_number")  # the company's order API, on 127.0.0.1
    text = (company_dir / "lodestar.yaml").read_text(encoding="utf-8").replace("http://127.0.0.1:9", api.url)
    (company_dir / "lodestar.yaml").write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "COLUMNS": "200", "ACME_SECRET": "t0ken"}
    env.pop(COMPANY_ENV, None)
    proc = subprocess.run(
        [sys.executable, "-m", "lodestar.cli", "run", "--company", str(company_dir / "lodestar.yaml"),
         "--select", "tag:layer=landing"],
        env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "ACME 贸易" in proc.stdout and "raw.shop_customers" in proc.stdout
    # Progress a person can follow: a line per finished step with rows landed / rejected; the full
    # Dagster log goes to the file the summary names, not to the terminal.
    steps = [line for line in proc.stdout.splitlines() if line.startswith("[") and "/" in line.split("]")[0]]
    assert any("land_shop" in line and "+2 rows, 1 rejected" in line for line in steps), proc.stdout
    assert all(line.split("]")[0].endswith("/2") for line in steps) and len(steps) == 2
    assert "dagster - INFO" not in proc.stdout + proc.stderr
    log_file = Path(next(line for line in proc.stdout.splitlines() if "full Dagster and dbt log:" in line).split(": ", 1)[1])
    assert log_file.parent == home / "logs" and "land_shop" in log_file.read_text(encoding="utf-8")
    wh = Warehouse(home / "warehouse.duckdb")
    assert wh.query("select count(*) as n from raw.shop_customers")["n"][0] == 2
    assert wh.query("select kind from raw.shop_rejects")["kind"].tolist() == ["duplicate_key"]
    # The HTTP feed read the company's base URL and token (3 pages of 3, 3, 1 records).
    assert wh.query("select count(*) as n from raw.acme_orders")["n"][0] == 7
    assert "t0ken" not in proc.stdout + proc.stderr
    # Only the company's applicable source was landed, and nothing was generated.
    assert not wh.table_exists("raw", "other_customers") and not wh.table_exists("raw", "erp_orders")
    assert not (home / "demo").exists()
