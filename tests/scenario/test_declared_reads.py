"""The declared-vs-read recorder (tests/declared_reads.py) fails on an undeclared read and on an unused dep."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest
from declared_reads import ReadRecorder, relations_in_sql

from lodestar.warehouse import Reader, Warehouse


def test_relations_in_sql_names_warehouse_relations_only() -> None:
    sql = ('select * from intermediate.int_forecasts f join marts."customer_matrix" m using (x) '
           "where exists (select 1 from information_schema.tables) and f.y = 'raw.not_a_table'")
    assert relations_in_sql(sql) >= {dg.AssetKey(["intermediate", "int_forecasts"]),
                                     dg.AssetKey(["marts", "customer_matrix"])}
    assert dg.AssetKey(["information_schema", "tables"]) not in relations_in_sql(sql)


def test_recorder_flags_undeclared_reads_and_unused_deps(tmp_path) -> None:
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    wh.replace_table("staging", "a", pd.DataFrame({"x": [1]}))
    wh.replace_table("staging", "b", pd.DataFrame({"x": [2]}))

    @dg.asset(key=["raw", "honest"], deps=[dg.AssetKey(["staging", "a"])])
    def honest() -> None:
        wh.query("select x from staging.a")
        wh.row_count("raw", "honest")  # its own output: not a dep

    @dg.asset(key=["raw", "drifted"], deps=[dg.AssetKey(["staging", "a"])])
    def drifted() -> None:
        wh.query("select x from staging.b")
        with wh.reader() as r:  # many lookups on one connection are recorded too
            r.table_exists("staging", "c")

    with ReadRecorder([honest, drifted]) as reads:
        assert dg.materialize([honest, drifted]).success
    assert reads.reads == {"raw__honest": {dg.AssetKey(["staging", "a"]), dg.AssetKey(["raw", "honest"])},
                           "raw__drifted": {dg.AssetKey(["staging", "b"]), dg.AssetKey(["staging", "c"])}}
    with pytest.raises(AssertionError,
                       match=r"raw__drifted: reads undeclared \['staging/b', 'staging/c'\], declares unread \['staging/a'\]"):
        reads.assert_declared_equals_read()
    assert Reader.query.__name__ == "query"  # restored after the block
