"""`lodestar contract check`: the file connector's reader and validation on one file, nothing written."""

from __future__ import annotations

import pytest
from conftest import gb18030_orders
from typer.testing import CliRunner

from connectors.contracts import load_source_contract
from connectors.dryrun import CheckError, check_file
from connectors.files import land_file_source
from connectors.infer import infer_contract
from lodestar.cli import app
from lodestar.files import sha256_file

BAD_CUSTOMERS = (
    "customer_id,customer_name,tier\n"
    "C00001,甲公司,A\n"
    "C00002,,B\n"          # row 2: missing name
    "C00003,丙公司,Z\n"     # row 3: tier not allowed
    "C00001,甲公司again,A\n"  # row 4: key repeated
    "C00005,戊公司\n"       # row 5: a field short
    "C00006,己公司,C\n"
)




def test_reasons_per_row_and_nothing_written(tmp_path, shop_contracts, warehouse):
    land_file_source(load_source_contract(shop_contracts / "shop.yaml"), warehouse)
    before = (sha256_file(warehouse.path), warehouse.path.stat().st_mtime_ns)
    counts = warehouse.query("select count(*) as n from raw.shop_customers")["n"][0]
    sample = tmp_path / "customers_new.csv"
    sample.write_text(BAD_CUSTOMERS, encoding="utf-8")

    result = check_file(sample, warehouse=warehouse, contracts_dir=shop_contracts)
    assert (result.contract.source, result.feed.name) == ("shop", "customers")
    assert (result.rows_seen, result.rows_accepted, result.rows_rejected) == (6, 2, 4)
    got = {r._1: (r.kind, r.reason) for r in result.rejects.itertuples()}
    assert got[2] == ("missing_required", "customer_name: missing_required no value ()")
    assert got[3][0] == "bad_value" and "(Z)" in got[3][1]
    assert got[4][0] == "duplicate_key" and "C00001" in got[4][1]
    assert got[5][0] == "truncated"
    # The warehouse is untouched: same bytes, same mtime, same rows, no file logged.
    assert (sha256_file(warehouse.path), warehouse.path.stat().st_mtime_ns) == before
    assert warehouse.query("select count(*) as n from raw.shop_customers")["n"][0] == counts
    assert warehouse.query("select count(*) as n from raw._file_log where file like '%customers_new%'")["n"][0] == 0


def test_references_checked_against_landed_tables_or_said_unchecked(tmp_path, shop_contracts, warehouse):
    sample = tmp_path / "orders_2024-05.csv"
    sample.write_bytes(gb18030_orders(20, bad_customer=True))
    proposal = tmp_path / "erp2.yaml"
    proposal.write_text(infer_contract(sample, "erp2", "orders", contracts_dir=shop_contracts).yaml_text(),
                        encoding="utf-8")
    # No warehouse yet: the reference is not checked, and checking creates no warehouse.
    unchecked = check_file(sample, contract_path=proposal, warehouse=warehouse)
    assert unchecked.rows_accepted == 20 and not warehouse.path.exists()
    assert unchecked.notes == ["customer_id: reference shop.customers.customer_id not checked (no warehouse)"]
    land_file_source(load_source_contract(shop_contracts / "shop.yaml"), warehouse)
    checked = check_file(sample, contract_path=proposal, warehouse=warehouse)
    assert (checked.rows_accepted, checked.rows_rejected) == (19, 1)
    assert checked.rejects.iloc[0]["_source_row"] == 20
    assert checked.rejects.iloc[0]["reason"] == "customer_id: unknown_reference shop.customers.customer_id (C99999)"


def test_unmatched_or_ambiguous_files_are_errors(tmp_path, shop_contracts):
    other = tmp_path / "payments.csv"
    other.write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(CheckError, match="no feed of any contract matches the file name 'payments.csv'"):
        check_file(other, contracts_dir=shop_contracts)
    with pytest.raises(CheckError, match="no such file"):
        check_file(tmp_path / "missing.csv", contracts_dir=shop_contracts)


def test_cli_prints_counts_and_reasons_and_fails_above_threshold(tmp_path, shop_contracts, home):
    sample = tmp_path / "customers_new.csv"
    sample.write_text(BAD_CUSTOMERS, encoding="utf-8")
    result = CliRunner().invoke(app, ["contract", "check", str(sample), "--contract",
                                      str(shop_contracts / "shop.yaml")], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output  # 4 of 6 rejected > 5 % threshold
    assert "accepted 2" in result.output and "rejected 4" in result.output
    assert "customer_name: missing_required no value ()" in result.output
    assert "above the feed's threshold" in result.output
    assert not (home / "warehouse.duckdb").exists()
