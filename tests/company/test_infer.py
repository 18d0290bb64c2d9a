"""`lodestar contract infer`: encodings, delimiters, header rows, types, keys, references, Chinese header
words, and the round trip through the real contract loader and file connector."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import gb18030_orders
from typer.testing import CliRunner

from connectors.contracts import load_source_contract
from connectors.files import land_file_source
from connectors.infer import InferError, canonical_names, infer_contract, load_header_words
from lodestar.cli import app
from lodestar.warehouse import Warehouse


def _round_trip(inference, tmp_path: Path, sample: Path, warehouse: Warehouse):
    """Save the proposal, load it with the contract loader, land the sample with it."""
    path = tmp_path / "proposed" / f"{inference.source}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(inference.yaml_text(), encoding="utf-8")
    contract = load_source_contract(path)
    folder = tmp_path / "land" / contract.folder_name
    folder.mkdir(parents=True)
    (folder / sample.name).write_bytes(sample.read_bytes())
    return contract, land_file_source(contract, warehouse, root=tmp_path / "land")


def test_gb18030_export_with_title_line_and_chinese_headers(tmp_path, shop_contracts, warehouse):
    sample = tmp_path / "orders_2024-05.csv"
    sample.write_bytes(gb18030_orders(30))
    inf = infer_contract(sample, "erp2", "orders", contracts_dir=shop_contracts)

    assert (inf.format, inf.encoding, inf.delimiter, inf.skip_rows) == ("csv", "gb18030", ",", 1)
    by_name = {c.name: c for c in inf.columns}
    assert list(by_name) == ["order_id", "order_date", "customer_id", "sku_id", "quantity", "unit_price", "remark"]
    assert by_name["unit_price"].header == "单价（元）" and by_name["unit_price"].canonical
    assert [(c.type, c.format) for c in inf.columns] == [
        ("string", None), ("date", "%Y/%m/%d"), ("string", None), ("string", None),
        ("integer", None), ("decimal", None), ("string", None)]
    assert [c.required for c in inf.columns] == [True] * 6 + [False]
    assert inf.primary_key == ["order_id"]
    # 30 customer codes, all among the 40 of shop.customers' sample file: a reference.
    assert inf.references == {"customer_id": ("shop.customers.customer_id", 1.0)}
    assert "skipped 1 title line(s) before the header" in inf.notes

    # The reference is checked against raw.shop_customers on load: land shop first.
    land_file_source(load_source_contract(shop_contracts / "shop.yaml"), warehouse)
    contract, landed = _round_trip(inf, tmp_path, sample, warehouse)
    feed = contract.feeds["orders"]
    assert feed.files == "orders_*.csv" and feed.csv.skip_rows == 1
    assert feed.columns["customer_id"].source_name == "客户编号"
    assert feed.columns["customer_id"].references == "shop.customers.customer_id"
    fr = landed.feeds["orders"]
    assert (fr.rows_seen, fr.rows_accepted, fr.rows_rejected) == (30, 30, 0)
    assert warehouse.query("select count(*) as n from raw.erp2_orders where remark = '加急'")["n"][0] == 7


def test_references_come_from_landed_tables_when_the_warehouse_has_them(tmp_path, shop_contracts, warehouse):
    shop = load_source_contract(shop_contracts / "shop.yaml")
    land_file_source(shop, warehouse)
    # The sample file on disk is gone: only the warehouse knows the keys now.
    (warehouse.path.parent / "demo" / "drops" / "shop" / "customers.csv").unlink()
    sample = tmp_path / "orders.csv"
    sample.write_bytes(gb18030_orders(30, bad_customer=True))
    inf = infer_contract(sample, "erp2", "orders", contracts_dir=shop_contracts, warehouse=warehouse)
    ref, share = inf.references["customer_id"]
    assert ref == "shop.customers.customer_id" and share == pytest.approx(29 / 30)
    assert any("raw.shop_customers" in n and "unknown_reference" in n for n in inf.notes)
    none_known = infer_contract(sample, "erp2", "orders", contracts_dir=shop_contracts)
    assert none_known.references == {}


def test_utf8_bom_semicolons_nulls_codes_booleans_and_ambiguous_dates(tmp_path, shop_contracts, warehouse):
    rows = ["Store;Day;Item Code;Qty;Promo;Price"]
    # Every day <= 12: 03/04/2024 could be 3 April or 4 March. No single column is unique, the pair is.
    for store in ("S1", "S2"):
        for d in range(1, 11):
            rows.append(f"{store};{d:02d}/0{(d % 9) + 1}/2024;{d:05d};{d};{'yes' if d % 2 else 'no'};"
                        f"{'NA' if d == 5 else f'{d}.5'}")
    sample = tmp_path / "pos_scans.csv"
    sample.write_bytes(b"\xef\xbb\xbf" + "\n".join(rows).encode("utf-8"))
    inf = infer_contract(sample, "till", "scans", contracts_dir=shop_contracts)

    assert (inf.encoding, inf.bom, inf.delimiter) == ("utf-8", True, ";")
    types = {c.name: (c.type, c.format) for c in inf.columns}
    assert types == {"store_id": ("string", None), "day": ("date", "%d/%m/%Y"), "sku_id": ("string", None),
                     "quantity": ("integer", None), "promo": ("boolean", None), "unit_price": ("decimal", None)}
    assert inf.null_values == ["", "NA"]
    assert {c.name: c.required for c in inf.columns}["unit_price"] is False
    assert inf.primary_key == ["store_id", "day"] or inf.primary_key == ["store_id", "sku_id"]
    assert any("day/month order ambiguous" in n for n in inf.notes)
    assert any("null_values" in n for n in inf.notes)

    contract, landed = _round_trip(inf, tmp_path, sample, warehouse)
    assert contract.feeds["scans"].csv.delimiter == ";"
    fr = landed.feeds["scans"]
    assert (fr.rows_accepted, fr.rows_rejected) == (20, 0)
    codes = warehouse.query("select sku_id from raw.till_scans order by _source_row limit 1")["sku_id"][0]
    assert codes == "00001"  # leading zeros kept: a code, not a number


def test_no_unique_column_falls_back_to_file_and_row(tmp_path, shop_contracts, warehouse):
    sample = tmp_path / "lines.csv"
    sample.write_text("sku,qty\nA,1\nA,1\nB,2\n", encoding="utf-8")
    inf = infer_contract(sample, "x", "lines", contracts_dir=shop_contracts)
    assert inf.primary_key == ["_source_file", "_source_row"] and inf.key_candidates == []
    assert any("no column or set of up to four columns is unique" in n for n in inf.notes)
    contract, landed = _round_trip(inf, tmp_path, sample, warehouse)
    assert landed.feeds["lines"].rows_accepted == 3


def test_composite_key_of_four_dimension_columns(tmp_path, shop_contracts, warehouse):
    """A monthly export keyed by month x concession x type x code (as the PBS prescriptions export): no pair
    is unique, the count column is unique by accident among a few rows and never joins the key, and the
    code wins over its longer description."""
    rows = ["Month,Concession,Type,ATC2,ATC2_desc,Scripts,Cost"]
    n = 0
    for month in ("1991-07", "1991-08", "1991-09"):
        for concession in ("Concessional", "General"):
            for type_ in ("Co-payments", "Safety net"):
                for code, desc in (("A01", "STOMATOLOGICAL PREPARATIONS"), ("A02", "ANTACIDS AND ANTIFLATULENTS")):
                    n += 1
                    rows.append(f"{month},{concession},{type_},{code},{desc},{1000 + n},{n * 3.5}")
    sample = tmp_path / "pbs.csv"
    sample.write_text("\n".join(rows) + "\n", encoding="utf-8")
    inf = infer_contract(sample, "pbs", "scripts", contracts_dir=shop_contracts)
    assert sorted(inf.primary_key) == ["atc2", "concession", "month", "type"]
    assert inf.key_candidates and all("scripts" not in k for k in inf.key_candidates)
    assert ["atc2_desc", "concession", "month", "type"] in [sorted(k) for k in inf.key_candidates]
    contract, landed = _round_trip(inf, tmp_path, sample, warehouse)
    assert (landed.feeds["scripts"].rows_accepted, landed.feeds["scripts"].rows_rejected) == (24, 0)


def test_unique_candidate_checked_on_every_row(tmp_path, shop_contracts):
    # 'id' repeats on the last row, so it is not a key; 'ref' is unique.
    sample = tmp_path / "t.csv"
    sample.write_text("id,ref,v\n1,a,x\n2,b,y\n1,c,z\n", encoding="utf-8")
    inf = infer_contract(sample, "x", "t", contracts_dir=shop_contracts)
    assert inf.primary_key == ["ref"]


def test_jsonl_and_timestamps(tmp_path, shop_contracts, warehouse):
    sample = tmp_path / "events.jsonl"
    sample.write_text('{"event_id": 1, "at": "12/1/2010 8:26", "customerName": "张三"}\n'
                      '{"event_id": 2, "at": "12/13/2010 18:05", "customerName": null}\n', encoding="utf-8")
    inf = infer_contract(sample, "web", "events", contracts_dir=shop_contracts)
    types = {c.name: (c.type, c.format, c.required) for c in inf.columns}
    assert types == {"event_id": ("integer", None, True), "at": ("timestamp", "%m/%d/%Y %H:%M", True),
                     "customer_name": ("string", None, False)}
    contract, landed = _round_trip(inf, tmp_path, sample, warehouse)
    assert landed.feeds["events"].rows_accepted == 2


def test_header_dictionary_and_naming_fallbacks():
    words = load_header_words()
    names, canon, notes = canonical_names(
        ["客户编号", " 订单日期 ", "数量(箱)", "Order Date", "神秘字段", "Sub-Category", "订单日期"], words)
    assert names == ["customer_id", "order_date", "quantity", "order_date_2", "col_5", "sub_category", "order_date_3"]
    assert canon == [True, True, True, True, False, True, True]
    assert any("'神秘字段'" in n and "rename" in n for n in notes)


def test_unreadable_samples_name_the_file(tmp_path, shop_contracts):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InferError, match="empty.csv: empty file"):
        infer_contract(empty, "x", "t", contracts_dir=shop_contracts)
    with pytest.raises(InferError, match="--source 'Bad Name' must be lower snake_case"):
        infer_contract(empty, "Bad Name", "t", contracts_dir=shop_contracts)


def test_cli_writes_a_loadable_contract_and_says_what_it_is_unsure_of(tmp_path, home):
    sample = tmp_path / "orders_2024-05.csv"
    sample.write_bytes(gb18030_orders(12))
    out = tmp_path / "erp2.yaml"
    result = CliRunner().invoke(app, ["contract", "infer", str(sample), "--source", "erp2", "--feed", "orders",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "unsure:" in result.output and "gb18030" in result.output
    assert out.read_text(encoding="utf-8").startswith("# Proposed by `lodestar contract infer`")
    assert load_source_contract(out).feeds["orders"].columns["order_id"].source_name == "订单编号"


def test_small_integer_measures_are_not_references(tmp_path, shop_contracts, home):
    # A known feed keyed 1..40 and a sample whose quantity is 1..5: overlap 100 %, but a quantity is no key.
    (shop_contracts / "nums.yaml").write_text(
        "source: nums\nroot: drops\nfeeds:\n  rows:\n    files: 'rows.csv'\n    format: csv\n"
        "    primary_key: [row_id]\n    columns:\n      row_id: {type: integer, required: true}\n", encoding="utf-8")
    (home / "demo" / "drops" / "nums").mkdir(parents=True)
    (home / "demo" / "drops" / "nums" / "rows.csv").write_text(
        "row_id\n" + "\n".join(str(i) for i in range(1, 41)) + "\n", encoding="utf-8")
    sample = tmp_path / "lines.csv"
    sample.write_text("line_no,quantity,ref_row_id\n" + "\n".join(f"L{i},{i % 5 + 1},{i}" for i in range(1, 30)),
                      encoding="utf-8")
    inf = infer_contract(sample, "x", "lines", contracts_dir=shop_contracts)
    assert "quantity" not in inf.references
    assert inf.references["ref_row_id"][0] == "nums.rows.row_id"
    assert any("land nums first" in n for n in inf.notes)
