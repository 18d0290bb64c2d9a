"""File connector on a small fixture source: every reject kind, typing, idempotence, merge, failures."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from connectors import landing
from connectors.contracts import load_source_contract
from connectors.files import land_file_source
from lodestar.warehouse import Warehouse

SKUS = (
    "sku_id,SKU Name,list_price,active\n"
    "S1,Widget,10.5,true\n"  # 1 ok
    "S2,Gadget,3,false\n"  # 2 ok
    "S3,Thing,-1,yes\n"  # 3 out_of_range
    "S4,,2,true\n"  # 4 missing_required
    "S5,Bolt,abc,true\n"  # 5 bad_type (decimal)
    "S6,Nut,1,maybe\n"  # 6 bad_type (boolean)
    "S1,Dup,1,true\n"  # 7 duplicate_key
    "S7,Short\n"  # 8 truncated
    "S9,Washer,0.25,\n"  # 9 ok (active empty = null)
)
ORDERS = (
    "order_line_id,order_date,quantity,channel,sku_id,shipped_at\n"
    "L1,2024-01-05,5,direct,S1,2024-01-06T10:00:00\n"  # 1 ok
    "L2,2024-13-45,5,direct,S1,\n"  # 2 bad_type date
    "L3,2024-01-05,-2,direct,S2,\n"  # 3 out_of_range
    "L4,2024-01-05,3,telepathy,S2,\n"  # 4 bad_value
    "L5,2024-01-05,3,direct,S99,\n"  # 5 unknown_reference
    "L6,2024-01-05,2.5,direct,S2,\n"  # 6 bad_type integer
    "L7,2024-01-05,1,direct,S3,\n"  # 7 unknown_reference (S3 was rejected)
    "L8,2024-01-05,4,ecommerce,S9,2024-01-07 08:30:00\n"  # 8 ok, references a key of this batch
)


def write(drops: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = drops / name
    path.write_bytes(text.encode(encoding))
    return path


def rejects(wh: Warehouse) -> pd.DataFrame:
    return wh.query("select * from raw.shop_rejects order by feed, _source_file, _source_row")


def test_every_reject_kind_with_reason_and_typed_accepted_rows(shop, warehouse, drops):
    write(drops, "skus_1.csv", SKUS)
    write(drops, "orders_1.csv", ORDERS)
    res = land_file_source(shop, warehouse, feeds=["skus", "orders"])

    skus, orders = res.feeds["skus"], res.feeds["orders"]
    assert list(res.feeds) == ["skus", "orders"]  # reference order
    assert (skus.rows_seen, skus.rows_accepted, skus.rows_rejected) == (9, 3, 6)
    assert skus.rejects_by_kind == {
        "out_of_range": 1,
        "missing_required": 1,
        "bad_type": 2,
        "duplicate_key": 1,
        "truncated": 1,
    }
    assert (orders.rows_seen, orders.rows_accepted, orders.rows_rejected) == (8, 2, 6)
    assert orders.rejects_by_kind == {
        "bad_type": 2,
        "out_of_range": 1,
        "bad_value": 1,
        "unknown_reference": 2,
    }
    assert skus.threshold_exceeded and skus.reject_rate == pytest.approx(6 / 9)

    rej = rejects(warehouse)
    by_row = {(r["feed"], r["_source_row"]): (r["kind"], r["reason"]) for r in rej.to_dict("records")}
    assert by_row[("skus", 3)] == ("out_of_range", "list_price: out_of_range below min 0 (-1)")
    assert by_row[("skus", 4)] == ("missing_required", "name: missing_required no value ()")
    assert by_row[("skus", 5)] == ("bad_type", "list_price: bad_type not a number (abc)")
    assert by_row[("skus", 6)] == ("bad_type", "active: bad_type not a boolean (maybe)")
    assert by_row[("skus", 7)] == ("duplicate_key", "sku_id: duplicate_key repeated in batch (S1)")
    assert by_row[("skus", 8)] == ("truncated", "_row: truncated expected 4 fields, got 2 (S7,Short)")
    assert by_row[("orders", 2)] == (
        "bad_type",
        "order_date: bad_type not a date in format %Y-%m-%d (2024-13-45)",
    )
    assert by_row[("orders", 3)][1] == "quantity: out_of_range below min 0 (-2)"
    assert (
        by_row[("orders", 4)][1]
        == "channel: bad_value not one of ['direct', 'distributor', 'ecommerce'] (telepathy)"
    )
    assert by_row[("orders", 5)][1] == "sku_id: unknown_reference skus.sku_id (S99)"
    assert by_row[("orders", 6)][1] == "quantity: bad_type not an integer (2.5)"
    assert by_row[("orders", 7)][0] == "unknown_reference"
    # The payload is the original row under the file's own header names.
    assert json.loads(rej.set_index(["feed", "_source_row"]).loc[("skus", 3), "payload"]) == {
        "sku_id": "S3",
        "SKU Name": "Thing",
        "list_price": "-1",
        "active": "yes",
    }
    assert set(rej["_source_file"]) == {"shop/skus_1.csv", "shop/orders_1.csv"}

    types = orders.columns
    assert (
        types["order_date"] == "DATE" and types["quantity"] == "BIGINT" and types["shipped_at"] == "TIMESTAMP"
    )
    assert skus.columns["list_price"] == "DOUBLE" and skus.columns["active"] == "BOOLEAN"
    assert {"_source_file", "_source_row", "_batch_id", "_loaded_at"} <= set(types)
    got = warehouse.query("select * from raw.shop_orders order by order_line_id")
    assert list(got["order_line_id"]) == ["L1", "L8"]
    assert list(got["_source_row"]) == [1, 8]
    assert str(got["order_date"][0])[:10] == "2024-01-05" and got["quantity"].tolist() == [5, 4]
    assert pd.Timestamp(got["shipped_at"][1]) == pd.Timestamp("2024-01-07 08:30:00")
    sk = warehouse.query("select sku_id, name, list_price, active from raw.shop_skus order by sku_id")
    assert sk.to_dict("list") == {
        "sku_id": ["S1", "S2", "S9"],
        "name": ["Widget", "Gadget", "Washer"],
        "list_price": [10.5, 3.0, 0.25],
        "active": [True, False, None],
    }


def test_rerun_is_idempotent_and_changed_file_merges(shop, warehouse, drops):
    write(drops, "skus_1.csv", SKUS)
    write(drops, "orders_1.csv", ORDERS)
    first = land_file_source(shop, warehouse, feeds=["skus", "orders"])
    n_rejects = warehouse.row_count("raw", "shop_rejects")

    again = land_file_source(shop, warehouse, feeds=["skus", "orders"])
    for feed in ("skus", "orders"):
        assert again.feeds[feed].files_skipped == 1 and again.feeds[feed].files_loaded == 0
        assert again.feeds[feed].rows_seen == 0
        assert again.feeds[feed].rows_in_table == first.feeds[feed].rows_in_table
    assert warehouse.row_count("raw", "shop_rejects") == n_rejects
    dup = warehouse.query("select sku_id, count(*) n from raw.shop_skus group by 1 having n > 1")
    assert dup.empty

    # Same file name, new content: S2's price changes, S8 is new -> merged by primary key.
    write(
        drops,
        "skus_1.csv",
        "sku_id,SKU Name,list_price,active\nS1,Widget,10.5,true\nS2,Gadget v2,4.75,true\nS8,New,1,false\n",
    )
    third = land_file_source(shop, warehouse, feeds=["skus"])
    assert third.feeds["skus"].files_loaded == 1 and third.feeds["skus"].rows_accepted == 3
    sk = warehouse.query("select sku_id, name, list_price from raw.shop_skus order by sku_id")
    assert sk["sku_id"].tolist() == ["S1", "S2", "S8", "S9"]
    assert sk.set_index("sku_id").loc["S2", "list_price"] == 4.75
    assert third.feeds["skus"].rows_in_table == 4
    log = warehouse.query("select feed, status from raw._file_log where source = 'shop'")
    assert sorted(log["feed"]) == ["orders", "skus", "skus"]


def test_later_file_of_one_batch_wins(shop, warehouse, drops):
    write(drops, "skus_1.csv", "sku_id,SKU Name,list_price,active\nS1,Old,1,true\n")
    write(drops, "skus_2.csv", "sku_id,SKU Name,list_price,active\nS1,New,2,true\n")
    res = land_file_source(shop, warehouse, feeds=["skus"])
    assert res.feeds["skus"].files_loaded == 2 and res.feeds["skus"].rows_rejected == 0
    got = warehouse.query("select name, _source_file from raw.shop_skus")
    assert got.to_dict("records") == [{"name": "New", "_source_file": "shop/skus_2.csv"}]


def test_gb18030_file_and_bad_encoding_rows(shop, warehouse, drops):
    write(
        drops,
        "skus_1.csv",
        "sku_id,SKU Name,list_price,active\nC1,螺丝刀套装,12,true\nC2,华为耳机,99.5,false\n",
        "gb18030",
    )
    # A UTF-8 file with one line of bytes no listed encoding can decode.
    (drops / "skus_2.csv").write_bytes(
        "sku_id,SKU Name,list_price,active\nC3,扳手,5,true\n".encode()
        + b"C4,\xff\xfe\xff,5,true\nC5,ok,1,true\n"
    )
    res = land_file_source(shop, warehouse, feeds=["skus"])
    names = warehouse.query("select sku_id, name from raw.shop_skus order by sku_id")
    assert names.to_dict("list") == {
        "sku_id": ["C1", "C2", "C3", "C5"],
        "name": ["螺丝刀套装", "华为耳机", "扳手", "ok"],
    }
    assert res.feeds["skus"].rejects_by_kind == {"bad_encoding": 1}
    rej = rejects(warehouse)
    assert rej["_source_row"].tolist() == [2] and rej["reason"][0].startswith(
        "_row: bad_encoding undecodable bytes for utf-8"
    )


def test_truncated_csv_and_jsonl(shop, warehouse, drops):
    write(
        drops, "skus_1.csv", "sku_id,SKU Name,list_price,active\nS1,A,1,true\nS2,B,2,true\nS3,C"
    )  # cut mid-line
    write(
        drops,
        "events_1.jsonl",
        '{"event_id": 1, "sku_id": "S1", "note": "x"}\n{"event_id": 2, "sku_id": "S2"}\n'
        '{"event_id": "two", "sku_id": "S1"}\n{"event_id": 4, "sku_id": "S9"}\n{"event_id": 5, "sku_',
    )
    res = land_file_source(shop, warehouse, feeds=["skus", "events"])
    assert res.feeds["skus"].rows_accepted == 2 and res.feeds["skus"].rejects_by_kind == {"truncated": 1}
    ev = res.feeds["events"]
    assert (ev.rows_seen, ev.rows_accepted) == (5, 2)
    assert ev.rejects_by_kind == {"truncated": 1, "bad_type": 1, "unknown_reference": 1}
    rej = rejects(warehouse).set_index(["feed", "_source_row"])
    assert (
        rej.loc[("events", 5), "reason"]
        == '_row: truncated not a complete JSON object ({"event_id": 5, "sku_)'
    )
    assert rej.loc[("events", 3), "reason"] == "event_id: bad_type not an integer (two)"
    assert json.loads(rej.loc[("events", 4), "payload"]) == {"event_id": 4, "sku_id": "S9"}
    got = warehouse.query("select event_id, sku_id, note from raw.shop_events order by event_id")
    assert got["event_id"].tolist() == [1, 2] and got["note"].isna().tolist() == [False, True]


def test_unreadable_excel_rejected_while_others_load(shop, warehouse, drops):
    write(drops, "skus_1.csv", "sku_id,SKU Name,list_price,active\nS1,A,1,true\nS2,B,2,true\n")
    pd.DataFrame(
        {
            "sku_id": ["S1", "S2", "S3"],
            "month": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01"]),
            "target_qty": [10, 20, 5],
        }
    ).to_excel(drops / "targets_a.xlsx", index=False)
    (drops / "targets_b.xlsx").write_bytes(b"PK\x03\x04 this is not really a workbook")
    res = land_file_source(shop, warehouse)
    tg = res.feeds["targets"]
    assert (tg.files_seen, tg.files_loaded, tg.rows_accepted) == (2, 2, 2)
    assert tg.rejects_by_kind == {"unknown_reference": 1, "unreadable_file": 1}
    rej = rejects(warehouse)
    bad = rej[rej["kind"] == "unreadable_file"].iloc[0]
    assert bad["_source_file"] == "shop/targets_b.xlsx" and bad["_source_row"] == 0
    assert "shop/targets_b.xlsx: cannot read as Excel" in bad["reason"]
    got = warehouse.query("select sku_id, month, target_qty from raw.shop_targets order by sku_id")
    assert got["sku_id"].tolist() == ["S1", "S2"] and str(got["month"][0])[:10] == "2024-01-01"
    # The unreadable file is logged too: a re-run does not add its reject again.
    land_file_source(shop, warehouse)
    assert warehouse.row_count("raw", "shop_rejects") == len(rej)


def test_crash_at_the_file_log_then_rerun_neither_duplicates_nor_skips(
    shop, warehouse, drops, monkeypatch, loader
):
    write(drops, "skus_1.csv", SKUS)
    write(drops, "orders_1.csv", ORDERS)

    def boom(*args, **kwargs):
        raise RuntimeError("killed while writing the file log")

    real = landing._write_file_log
    monkeypatch.setattr(landing, "_write_file_log", boom)
    with pytest.raises(RuntimeError, match="killed"):
        land_file_source(shop, warehouse, feeds=["skus", "orders"])
    monkeypatch.setattr(landing, "_write_file_log", real)
    if loader == "duckdb":  # one transaction: nothing of the batch is there
        assert not any(warehouse.table_exists("raw", t) for t in ("shop_skus", "shop_orders", "shop_rejects"))
    else:  # dlt committed the data before the file log
        assert (warehouse.row_count("raw", "shop_skus"), warehouse.row_count("raw", "shop_rejects")) == (
            3,
            12,
        )
    res = land_file_source(shop, warehouse, feeds=["skus", "orders"])
    assert res.feeds["skus"].files_loaded == 1  # not logged, so read again ...
    assert warehouse.row_count("raw", "shop_skus") == 3  # ... and merged, not appended
    assert warehouse.row_count("raw", "shop_orders") == 2
    assert warehouse.row_count("raw", "shop_rejects") == 12
    assert warehouse.row_count("raw", "_file_log") == 2


def test_files_of_one_feed_validate_together_with_the_per_file_rules(shop, warehouse, drops):
    # File 2 spells the header differently, repeats a key inside itself and repeats file 1's key.
    write(drops, "skus_1.csv", "sku_id,SKU Name,list_price,active\nS1,Old,1,true\nS2,Two,-2,true\n")
    write(
        drops,
        "skus_2.csv",
        "sku_id,sku name ,list_price,active\nS1,New,2,true\nS1,Again,3,true\nS3,Three,x,true\n",
    )
    res = land_file_source(shop, warehouse, feeds=["skus"])
    sk = res.feeds["skus"]
    assert (sk.files_loaded, sk.rows_seen, sk.rows_accepted, sk.rows_rejected) == (2, 5, 2, 3)
    assert sk.rejects_by_kind == {"out_of_range": 1, "duplicate_key": 1, "bad_type": 1}
    got = warehouse.query("select sku_id, name, _source_file, _source_row from raw.shop_skus order by sku_id")
    assert got.to_dict("records") == [
        {"sku_id": "S1", "name": "New", "_source_file": "shop/skus_2.csv", "_source_row": 1}
    ]
    rej = rejects(warehouse)
    assert list(zip(rej["_source_file"], rej["_source_row"], rej["kind"], strict=True)) == [
        ("shop/skus_1.csv", 2, "out_of_range"),
        ("shop/skus_2.csv", 2, "duplicate_key"),
        ("shop/skus_2.csv", 3, "bad_type"),
    ]
    # Each payload is its own file's row under its own header names.
    assert json.loads(rej["payload"][0]) == {
        "sku_id": "S2",
        "SKU Name": "Two",
        "list_price": "-2",
        "active": "true",
    }
    assert json.loads(rej["payload"][1])["sku name "] == "Again"
    log = warehouse.query(
        "select file, rows_seen, rows_accepted, rows_rejected from raw._file_log order by file"
    )
    assert log.values.tolist() == [["shop/skus_1.csv", 2, 1, 1], ["shop/skus_2.csv", 3, 1, 2]]


def test_a_grown_contract_adds_columns_and_the_default_loader_leaves_no_dlt_traces(
    tmp_path, shop_yaml, warehouse, drops, loader
):
    write(drops, "skus_1.csv", "sku_id,SKU Name,list_price,active\nS1,A,1,true\n")
    path = tmp_path / "grown" / "shop.yaml"
    path.parent.mkdir()
    path.write_text(shop_yaml, encoding="utf-8")
    land_file_source(load_source_contract(path), warehouse, feeds=["skus"])
    path.write_text(
        shop_yaml.replace(
            "      active: {type: boolean}\n",
            "      active: {type: boolean}\n      weight_kg: {type: decimal}\n",
        ),
        encoding="utf-8",
    )
    write(drops, "skus_2.csv", "sku_id,SKU Name,list_price,active,weight_kg\nS2,B,2,false,0.5\n")
    res = land_file_source(load_source_contract(path), warehouse, feeds=["skus"])
    assert res.feeds["skus"].columns["weight_kg"] == "DOUBLE"
    got = warehouse.query("select sku_id, weight_kg from raw.shop_skus order by sku_id")
    assert got["sku_id"].tolist() == ["S1", "S2"] and got["weight_kg"].isna().tolist() == [True, False]
    tables = warehouse.query("select table_schema s, table_name t from information_schema.tables")
    dlt_cols = warehouse.query(
        "select column_name from information_schema.columns where column_name like '\\_dlt%' escape '\\'"
    )
    if loader == "duckdb":
        assert set(tables["s"]) == {"raw"} and not tables["t"].str.startswith("_dlt").any()
        assert dlt_cols.empty
    else:
        assert "_dlt_loads" in set(tables["t"]) and not dlt_cols.empty


def test_default_loader_takes_over_a_table_dlt_created(shop, home, drops, monkeypatch):
    warehouse = Warehouse(home / "warehouse.duckdb")
    monkeypatch.setenv("LODESTAR_LOADER", "dlt")
    # dlt adds its NOT NULL row columns to arrow data only when asked; a table made so must still merge.
    monkeypatch.setenv("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID", "true")
    monkeypatch.setenv("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
    write(drops, "skus_1.csv", "sku_id,SKU Name,list_price,active\nS1,A,1,true\nS2,B,2,true\n")
    land_file_source(shop, warehouse, feeds=["skus"])
    assert "_dlt_id" in warehouse.query("select * from raw.shop_skus limit 0").columns
    monkeypatch.setenv("LODESTAR_LOADER", "duckdb")
    write(drops, "skus_2.csv", "sku_id,SKU Name,list_price,active\nS2,B2,3,true\nS3,C,1,true\n")
    land_file_source(shop, warehouse, feeds=["skus"])
    got = warehouse.query("select * from raw.shop_skus order by sku_id")
    assert not any(c.startswith("_dlt") for c in got.columns)
    assert got[["sku_id", "name"]].values.tolist() == [["S1", "A"], ["S2", "B2"], ["S3", "C"]]


def test_unknown_loader_is_a_clear_error(shop, home, drops, monkeypatch):
    monkeypatch.setenv("LODESTAR_LOADER", "spark")
    write(drops, "skus_1.csv", "sku_id,SKU Name,list_price,active\nS1,A,1,true\n")
    with pytest.raises(ValueError, match="LODESTAR_LOADER='spark': must be one of duckdb, dlt"):
        land_file_source(shop, Warehouse(home / "warehouse.duckdb"), feeds=["skus"])


def test_failure_inside_the_load_leaves_no_partial_rows(shop, warehouse, drops):
    write(drops, "skus_1.csv", "sku_id,SKU Name,list_price,active\nS1,A,1,true\nS2,B,2,true\n")
    land_file_source(shop, warehouse, feeds=["skus"])
    cols = (
        "sku_id varchar, name varchar, list_price double {check}, active boolean, _source_file varchar, "
        "_source_row bigint, _batch_id varchar, _loaded_at timestamp"
    )

    def rebuild(check: str) -> None:
        with warehouse.connect() as con:
            con.execute("create or replace table raw.keep as select * from raw.shop_skus")
            con.execute(f"create or replace table raw.shop_skus ({cols.format(check=check)})")
            con.execute("insert into raw.shop_skus select * from raw.keep")
            con.execute("drop table raw.keep")

    # A CHECK that the new batch's 2nd row violates: DuckDB aborts the merge transaction mid-way.
    rebuild("check (list_price < 5)")
    write(drops, "skus_2.csv", "sku_id,SKU Name,list_price,active\nS3,C,3,true\nS4,D,9,true\nS1,A2,1,true\n")
    with pytest.raises(Exception, match="(?i)constraint"):
        land_file_source(shop, warehouse, feeds=["skus"])
    got = warehouse.query("select sku_id, name from raw.shop_skus order by sku_id")
    assert got.to_dict("list") == {"sku_id": ["S1", "S2"], "name": ["A", "B"]}  # old table, untouched
    assert warehouse.row_count("raw", "_file_log") == 1

    rebuild("")
    res = land_file_source(shop, warehouse, feeds=["skus"])
    assert (res.feeds["skus"].files_skipped, res.feeds["skus"].files_loaded) == (1, 1)
    got = warehouse.query("select sku_id, name from raw.shop_skus order by sku_id")
    assert got.to_dict("list") == {"sku_id": ["S1", "S2", "S3", "S4"], "name": ["A2", "B", "C", "D"]}
