"""Superstore Co.: a second company from real data (the Tableau Sample Superstore export, read in place
from the shared data folder) through `lodestar run --company`, mapped onto the canonical ERP feeds.

One whole-graph run per module (raw -> staging -> customer 360 -> matrix -> forecast), shared by the tests, on a
deterministic quarter of the customers (the company-file setting `sample: {customers: 0.25}`): the same mapping,
graph and marts, with a quarter of the forecast series to train (training 500 s -> 205 s under the same load)."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from subprocess_env import subprocess_env

from connectors.files import in_sample
from lodestar.company import load_company
from lodestar.settings import PROJECT_ROOT, get_settings
from lodestar.warehouse import Warehouse

COMPANY = PROJECT_ROOT / "companies" / "superstore" / "lodestar.yaml"
SHARE = 0.25


def sampled_company(folder: Path) -> Path:
    """Superstore Co.'s own file plus `sample: {customers: 0.25}` (its contract folders made absolute)."""
    text = COMPANY.read_text(encoding="utf-8")
    for key in ("contracts_dir", "http_contracts_dir"):
        value = load_company(COMPANY).model_dump()[key]
        text = text.replace(f"{key}: {Path(value).name}", f"{key}: '{value}'")
    path = folder / "lodestar.yaml"
    path.write_text(text + f"sample: {{customers: {SHARE}}}\n", encoding="utf-8")
    return path


def export() -> pd.DataFrame:
    return pd.read_csv(get_settings().shared_data_dir / "superstore" / "superstore_orders_2019-2021.csv",
                       encoding="utf-8-sig", dtype=str)


@dataclass
class Run:
    home: Path
    proc: subprocess.CompletedProcess
    seconds: float

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.home / "warehouse.duckdb")


@pytest.fixture(scope="module")
def superstore(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """`lodestar run --company <Superstore Co. with a customer sample>`: the whole graph, in a fresh home."""
    home = tmp_path_factory.mktemp("superstore_home")
    company = sampled_company(tmp_path_factory.mktemp("superstore_company"))
    # No LODESTAR_/MLFLOW_/DBT_ variable of this session (its LODESTAR_AS_OF, a store another test left) reaches
    # the run: the company's own dates and a store of its own in its home.
    env = subprocess_env(PYTHONPATH=str(PROJECT_ROOT), COLUMNS="200", LODESTAR_HOME=str(home),
                         LODESTAR_DEMO_DIR=str(home / "demo"), LODESTAR_SHARED_DATA=str(get_settings().shared_data_dir))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "lodestar.cli", "run", "--company", str(company)],
                          env=env, capture_output=True, text=True, timeout=1800, cwd=home)
    return Run(home, proc, time.perf_counter() - t0)


def test_company_file_reads_the_shared_export_in_place():
    company = load_company(COMPANY)
    assert (company.company, company.currency, list(company.sources)) == ("Superstore Co.", "USD", ["erp"])
    assert str(company.as_of) == "2022-01-01"  # the export ends 2021-12-31: the forecast starts there, not today
    assert (company.calendar.week_start, str(company.forecast_first_week)) == ("sunday", "2021-01-03")
    assert (get_settings().shared_data_dir / "superstore").is_dir()
    assert not list((PROJECT_ROOT / "companies").rglob("*.csv"))  # never copied into the repo


def test_the_whole_graph_runs_on_superstore(superstore: Run):
    assert superstore.proc.returncode == 0, superstore.proc.stdout[-4000:] + superstore.proc.stderr[-3000:]
    assert "failed steps" not in superstore.proc.stdout and "failed check" not in superstore.proc.stdout
    print(f"Superstore whole graph: {superstore.seconds:.0f} s")  # reported with -s / in the log


def test_superstore_lands_as_the_canonical_erp_feeds(superstore: Run):
    full = export()
    sample = full[in_sample(full["Customer ID"], SHARE)]
    wh = superstore.warehouse
    n = {t: wh.row_count("raw", f"erp_{t}") for t in ("orders", "customers", "skus", "product_lines")}
    # One order line per export row of a sampled customer; the master feeds repeat per line and staging keeps one
    # per key; the feeds without a customer (SKUs, product lines) land whole.
    assert 0.15 < len(sample) / len(full) < 0.35
    assert n == {"orders": len(sample), "customers": len(sample), "skus": len(full), "product_lines": len(full)}
    assert not wh.table_exists("raw", "erp_rejects") or wh.row_count("raw", "erp_rejects") == 0
    distinct = wh.query("""select count(distinct customer_id) as customers, count(distinct region) as regions,
                                  count(distinct industry) as segments, count(distinct product_line_id) as lines
                           from raw.erp_customers, raw.erp_product_lines""").iloc[0].to_dict()
    assert distinct == {"customers": sample["Customer ID"].nunique(), "regions": full["Region"].nunique(),
                        "segments": 3, "lines": 17}
    # The orders are exactly the sampled customers' lines, none of another customer.
    assert set(wh.query("select distinct customer_id from raw.erp_orders")["customer_id"]) == set(sample["Customer ID"])
    # Columns the export lacks stay empty, never invented.
    assert wh.query("select count(*) as n from raw.erp_orders where unit_price is not null or status is not null")["n"][0] == 0
    # Only the company's sources were landed: no demo drops, no other real-data feed.
    assert not wh.table_exists("raw", "crm_accounts") and not wh.table_exists("raw", "superstore_orders")
    # Its own contract's rules, not the demo's vocabulary (regions 华东..., tiers A/B/C), were checked in staging.
    assert set(wh.query("select distinct region from staging.stg_erp__customers")["region"]) == set(export()["Region"])


def test_customer_marts_say_what_is_measured(superstore: Run):
    wh = superstore.warehouse
    customers = wh.query("select count(*) as n from marts.customer_360")["n"][0]
    assert customers == wh.query("select count(distinct customer_id) as n from raw.erp_customers")["n"][0] > 150
    assert set(wh.query("select distinct currency from marts.customer_360")["currency"]) == {"USD"}
    # Complexity: measured on what the ERP export has, the rest named as unavailable (NULL, never 0).
    cx = wh.query("select * from marts.customer_complexity")
    assert len(cx) == customers and cx["complexity_score"].between(0, 100).all()
    unavailable = set(cx["unavailable_dimensions"].iloc[0].split(", "))
    assert {"decision_makers", "ticket_load", "delivery_sites", "payment_terms"} <= unavailable
    assert cx["decision_makers_norm"].isna().all() and cx["payment_terms_contribution"].isna().all()
    assert cx["annual_purchase_amount_norm"].notna().all()
    matrix = wh.query("select quadrant, count(*) as n from marts.customer_matrix group by quadrant")
    assert matrix["n"].sum() == customers and len(matrix) >= 3


def test_marts_without_their_sources_are_empty_with_the_reason(superstore: Run):
    status = superstore.warehouse.query("select * from marts.mart_status").set_index("mart")
    assert status.loc["customer_360", "status"] == "ready" and status.loc["customer_360", "mart_rows"] > 0
    assert status.loc["launch_reconciliation", "status"] == "needs raw.pos_scans"
    assert status.loc["crm_pos_reconciliation", "status"].startswith("needs raw.pos_scans, raw.pos_stores")
    assert status.loc["csg_health", "unmet_needs"] == "crm_csg_groups, crm_csg_members"
    unmet = status[status["status"] != "ready"]
    assert len(unmet) >= 6 and (unmet["mart_rows"] == 0).all()


def test_the_forecast_runs_at_the_companys_grain(superstore: Run):
    wh = superstore.warehouse
    fc = wh.query("select * from raw.forecast_predictions")
    assert len(fc) > 0 and fc["y_hat"].notna().all()
    # No account managers in the export: each region's lines form an `unassigned:<region>` territory.
    assert set(fc["account_manager_id"].str.split(":").str[0]) == {"unassigned"}
    assert set(fc["region"]) == {"Central", "East", "South", "West"}
    # Its weeks are a US retailer's, Sunday to Saturday (calendar.week_start: sunday), in dbt's demand weeks, the
    # forecast's weeks and its origins (the weekly partitions): the last complete week before as_of 2022-01-01 is
    # Sunday 2021-12-19 .. Saturday 12-25 (with Monday weeks it was Monday 12-20).
    assert fc["origin_week"].astype(str).max() == "2021-12-19"
    demand = wh.query("select distinct week_start from intermediate.int_demand_weekly")["week_start"]
    for weeks in (demand, fc["week_start"], fc["origin_week"]):
        assert set(pd.to_datetime(weeks).dt.day_name()) == {"Sunday"}
    assert wh.query("select count(*) as n from marts.forecast_training_features where dayofweek(week_start) <> 0")["n"][0] == 0
