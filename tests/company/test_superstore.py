"""Superstore Co.: a second company from real data (the Tableau Sample Superstore export, read in place
from the shared data folder) through `lodestar run --company`, mapped onto the canonical ERP feeds."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd

from lodestar.company import load_company
from lodestar.settings import PROJECT_ROOT, get_settings
from lodestar.warehouse import Warehouse

COMPANY = PROJECT_ROOT / "companies" / "superstore" / "lodestar.yaml"


def test_company_file_reads_the_shared_export_in_place():
    company = load_company(COMPANY)
    assert (company.company, company.currency, list(company.sources)) == ("Superstore Co.", "USD", ["erp"])
    assert (get_settings().shared_data_dir / "superstore").is_dir()
    assert not list((PROJECT_ROOT / "companies").rglob("*.csv"))  # never copied into the repo


def test_superstore_lands_as_the_canonical_erp_feeds(home, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "COLUMNS": "200"}
    env.pop("LODESTAR_COMPANY", None)
    proc = subprocess.run(
        [sys.executable, "-m", "lodestar.cli", "run", "--company", str(COMPANY), "--select", "tag:layer=landing"],
        env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    export = pd.read_csv(get_settings().shared_data_dir / "superstore" / "superstore_orders_2019-2021.csv",
                         encoding="utf-8-sig", dtype=str)
    wh = Warehouse(home / "warehouse.duckdb")
    n = {t: wh.row_count("raw", f"erp_{t}") for t in ("orders", "customers", "skus", "product_lines")}
    # One order line per export row; the master feeds repeat per line and staging keeps one per key.
    assert n == dict.fromkeys(("orders", "customers", "skus", "product_lines"), len(export))
    assert not wh.table_exists("raw", "erp_rejects") or wh.row_count("raw", "erp_rejects") == 0
    distinct = wh.query("""select count(distinct customer_id) as customers, count(distinct region) as regions,
                                  count(distinct industry) as segments, count(distinct product_line_id) as lines
                           from raw.erp_customers, raw.erp_product_lines""").iloc[0].to_dict()
    assert distinct == {"customers": export["Customer ID"].nunique(), "regions": export["Region"].nunique(),
                        "segments": 3, "lines": 17}
    # Columns the export lacks stay empty, never invented.
    assert wh.query("select count(*) as n from raw.erp_orders where unit_price is not null or status is not null")["n"][0] == 0
    # Only the company's sources were landed: no demo drops, no other real-data feed.
    assert not wh.table_exists("raw", "crm_accounts") and not wh.table_exists("raw", "superstore_orders")
