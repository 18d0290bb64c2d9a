"""What a load reads of the raw schema before it writes (on one ``Warehouse.reader()`` connection, closed before
the write): the bookkeeping tables' names, a landed table's columns, the file hashes already loaded, an HTTP
feed's cursor and the keys a reference may take. The writes are :mod:`connectors.landing`'s."""

from __future__ import annotations

import pandas as pd

from connectors.contracts import ColumnSpec, parse_reference
from lodestar.warehouse import Reader, Warehouse, quote_ident

RAW = "raw"
FILE_LOG = "_file_log"
HTTP_CURSOR = "_http_cursor"

# A load's dozen lookups go through one Warehouse.reader() connection, closed before dlt writes.
Lookup = Warehouse | Reader


def table_columns(warehouse: Lookup, table: str) -> dict[str, str]:
    df = warehouse.query(
        "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [RAW, table],
    )
    return dict(zip(df["column_name"], df["data_type"], strict=True))


def loaded_hashes(warehouse: Lookup, source: str, feed: str) -> set[str]:
    if not warehouse.table_exists(RAW, FILE_LOG):
        return set()
    df = warehouse.query(f"select sha256 from {RAW}.{FILE_LOG} where source = ? and feed = ?", [source, feed])
    return set(df["sha256"])


def read_cursor(warehouse: Lookup, name: str) -> str | None:
    if not warehouse.table_exists(RAW, HTTP_CURSOR):
        return None
    df = warehouse.query(f"select cursor_value from {RAW}.{HTTP_CURSOR} where name = ?", [name])
    return None if df.empty else str(df["cursor_value"].iloc[0])


def reference_values(warehouse: Lookup, table: str, column: str) -> pd.Index:
    """Keys already landed in ``raw.<table>.<column>``, as text (empty when the table is not there)."""
    if not warehouse.table_exists(RAW, table):
        return pd.Index([], dtype=object)
    cols = table_columns(warehouse, table)
    if column not in cols:
        return pd.Index([], dtype=object)
    expr = (
        f"strftime({quote_ident(column)}, '%Y-%m-%d')"
        if cols[column] == "DATE"
        else f"cast({quote_ident(column)} as varchar)"
    )
    df = warehouse.query(
        f"select distinct {expr} as k from {RAW}.{quote_ident(table)} where {quote_ident(column)} is not null"
    )
    return pd.Index(df["k"].astype(object))


def resolve_references(
    source: str,
    columns: dict[str, ColumnSpec],
    warehouse: Lookup,
    batch_keys: dict[tuple[str, str], pd.Index] | None = None,
) -> dict[str, pd.Index]:
    """Allowed keys per referencing column: the referenced raw table plus, for a feed of the same
    source, the keys accepted earlier in this batch (``batch_keys[(feed, column)]``)."""
    refs = {}
    for col, spec in columns.items():
        if not spec.references:
            continue
        src, ref_feed, ref_col = parse_reference(spec.references, source)
        known = reference_values(warehouse, f"{src}_{ref_feed}", ref_col)
        if src == source and batch_keys:
            known = known.append(batch_keys.get((ref_feed, ref_col), pd.Index([], dtype=object)))
        refs[col] = known
    return refs
