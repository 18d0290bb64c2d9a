"""Writes validated batches into ``raw.*`` (merge by primary key), plus the bookkeeping tables and
result types. Two loaders, chosen by env ``LODESTAR_LOADER``: ``duckdb`` (default, here) and ``dlt``
(:mod:`connectors.dlt_loader`); what a load reads before it writes is :mod:`connectors.lookups`.

Why a direct DuckDB loader by default: one transaction per source load merges every feed table
(DELETE the incoming keys, INSERT BY NAME; the table is created with the contract's typed columns, or
given the columns a grown contract added), merges the rejects by ``_reject_id`` and writes
``raw._file_log`` / ``raw._http_cursor``; a crash leaves nothing partial, and a re-run neither
duplicates nor skips. dlt's merge of the 237,702-row Walmart train feed took 4-7 s against ~0.5 s for
the same DELETE+INSERT; its DuckDB merge was not transactional in 1.31 (see
:func:`connectors.dlt_loader.run_dlt`), it leaves a ``raw_staging`` schema (a table per feed) and
``raw._dlt_*`` tables in the analysts' view, and it cannot take our bookkeeping into its transaction.
Landing the demo company at scale 1 (783,954 rows, 7 sources, 171 files + 2 HTTP feeds; 2 shared cores,
load average 5-7) took 130.8 s with dlt and per-file validation, 104.3 s with dlt and the per-feed
validation of :func:`connectors.files.check_files`, and 40.8 s with this loader (19,219 rows/s); the
numbers per source are in CONTRACTS.md. ``LODESTAR_LOADER=dlt`` keeps the dlt path
(:func:`~connectors.dlt_loader.run_dlt`, its DuckDB destination on the warehouse file; the place to point
dlt at another destination such as Postgres, once the lookups of :class:`lodestar.warehouse.Reader` can
read there too): data first, then the bookkeeping in its
own transaction, which is safe because everything re-merges by key.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import pandas as pd
import pyarrow as pa

from connectors.contracts import ColumnSpec
from connectors.dlt_loader import make_resource, run_dlt
from connectors.lookups import FILE_LOG, HTTP_CURSOR, RAW
from lodestar.settings import get_settings
from lodestar.warehouse import Warehouse, quote_ident, registered

_ARROW = {
    "string": pa.string(),
    "integer": pa.int64(),
    "decimal": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "boolean": pa.bool_(),
}
_DLT = {
    "string": "text",
    "integer": "bigint",
    "decimal": "double",
    "date": "date",
    "timestamp": "timestamp",
    "boolean": "bool",
}


@dataclass
class FeedLandingResult:
    """What one feed's load did; plain data for Dagster metadata and asset checks."""

    feed: str
    table: str  # "raw.<table>"
    batch_id: str
    files_seen: int = 0
    files_loaded: int = 0
    files_skipped: int = 0
    rows_seen: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rejects_by_kind: dict[str, int] = field(default_factory=dict)
    rows_in_table: int = 0
    columns: dict[str, str] = field(default_factory=dict)  # column -> DuckDB type, after the load
    reject_threshold: float = 0.05
    cursor: str | None = None  # HTTP feeds: the updated_since value the next run will send
    pages_fetched: int = 0
    schema_drift: dict[str, list[str]] = field(default_factory=dict)  # HTTP: missing / new record fields
    rows_sampled_out: int = 0  # rows of customers outside the company's sample (not seen, not rejected)
    folder: str = ""  # file feeds: the drop folder read, the feed's file pattern, whether the folder was there
    files_pattern: str = ""
    folder_missing: bool = False

    @property
    def files_matched(self) -> int:
        """Files in the drop folder matching the feed's pattern (new or already loaded)."""
        return self.files_seen

    @property
    def warning(self) -> str | None:
        """Why a file feed read nothing at all: its folder is missing, or no file matches (None: files matched,
        or an HTTP feed). A feed whose files were all loaded before matched them: that is no warning."""
        if not self.folder or self.files_seen:
            return None
        if self.folder_missing:
            return f"{self.table}: 0 files matched, the drop folder {self.folder} does not exist"
        return f"{self.table}: 0 files matched {self.files_pattern!r} in {self.folder}"

    @property
    def reject_rate(self) -> float:
        return self.rows_rejected / self.rows_seen if self.rows_seen else 0.0

    @property
    def threshold_exceeded(self) -> bool:
        return self.reject_rate > self.reject_threshold


@dataclass
class SourceLandingResult:
    """One file source's load: a result per feed that was asked for, in load order."""

    source: str
    batch_id: str
    feeds: dict[str, FeedLandingResult] = field(default_factory=dict)
    rejects_table: str = ""


def new_batch_id(prefix: str) -> str:
    return f"{prefix}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def to_arrow(
    df: pd.DataFrame, columns: dict[str, ColumnSpec], batch_id: str, loaded_at: datetime
) -> pa.Table:
    """Typed arrow table in contract column order plus the landing columns."""
    arrays, names = [], []
    for col, spec in columns.items():
        s = df[col]
        if spec.type == "date":
            arr = pa.array(s.dt.date.where(s.notna(), None), type=pa.date32(), from_pandas=True)
        elif spec.type == "timestamp":
            arr = pa.array(s, type=pa.timestamp("us"), from_pandas=True)
        else:
            arr = pa.array(s.astype(object).where(s.notna(), None), type=_ARROW[spec.type], from_pandas=True)
        arrays.append(arr)
        names.append(col)
    n = len(df)
    arrays += [
        pa.array(df["_source_file"].astype(str), pa.string()),
        pa.array(df["_source_row"].astype("int64"), pa.int64()),
        pa.array([batch_id] * n, pa.string()),
        pa.array([loaded_at] * n, pa.timestamp("us")),
    ]
    names += ["_source_file", "_source_row", "_batch_id", "_loaded_at"]
    return pa.Table.from_arrays(arrays, names=names)


def dlt_columns(columns: dict[str, ColumnSpec], primary_key: list[str]) -> list[dict]:
    hints = [
        {
            "name": c,
            "data_type": _DLT[s.type],
            "nullable": c not in primary_key,
            **({"timezone": False} if s.type == "timestamp" else {}),
        }
        for c, s in columns.items()
    ]
    hints += [
        {"name": "_source_file", "data_type": "text", "nullable": "_source_file" not in primary_key},
        {"name": "_source_row", "data_type": "bigint", "nullable": "_source_row" not in primary_key},
        {"name": "_batch_id", "data_type": "text", "nullable": False},
        {"name": "_loaded_at", "data_type": "timestamp", "nullable": False, "timezone": False},
    ]
    return hints


_REJECT_HINTS = [
    {"name": "_reject_id", "data_type": "text", "nullable": False},
    {"name": "feed", "data_type": "text", "nullable": False},
    {"name": "kind", "data_type": "text", "nullable": False},
    {"name": "reason", "data_type": "text", "nullable": False},
    {"name": "payload", "data_type": "text", "nullable": True},
    {"name": "_source_file", "data_type": "text", "nullable": True},
    {"name": "_source_row", "data_type": "bigint", "nullable": True},
    {"name": "_batch_id", "data_type": "text", "nullable": False},
    {"name": "_loaded_at", "data_type": "timestamp", "nullable": False, "timezone": False},
]


def rejects_arrow(rejects: pd.DataFrame, batch_id: str, loaded_at: datetime) -> pa.Table:
    """Rejects with a stable id (feed + origin + row + payload, or feed + ``_reject_key`` where given)
    so re-landing the same input merges."""
    keyed = rejects["_reject_key"] if "_reject_key" in rejects else None
    ident = (
        rejects["feed"].astype(str)
        + "\x1f"
        + rejects["_origin"].astype(str)
        + "\x1f"
        + rejects["_source_row"].astype(str)
        + "\x1f"
        + rejects["payload"].fillna("").astype(str)
    )
    if keyed is not None:
        ident = ident.where(keyed.isna(), rejects["feed"].astype(str) + "\x1f" + keyed.astype(str))
    ids = [hashlib.sha256(x.encode("utf-8", "surrogatepass")).hexdigest()[:32] for x in ident]
    n = len(rejects)
    return pa.table(
        {
            "_reject_id": pa.array(ids, pa.string()),
            "feed": pa.array(rejects["feed"].astype(str), pa.string()),
            "kind": pa.array(rejects["kind"].astype(str), pa.string()),
            "reason": pa.array(rejects["reason"].astype(str), pa.string()),
            "payload": pa.array(
                rejects["payload"].astype(object).where(rejects["payload"].notna(), None), pa.string()
            ),
            "_source_file": pa.array(rejects["_source_file"].astype(str), pa.string()),
            "_source_row": pa.array(rejects["_source_row"].astype("int64"), pa.int64()),
            "_batch_id": pa.array([batch_id] * n, pa.string()),
            "_loaded_at": pa.array([loaded_at] * n, pa.timestamp("us")),
        }
    )


LOADERS = ("duckdb", "dlt")
_DUCKDB_TYPE = {
    "text": "VARCHAR",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "bool": "BOOLEAN",
}


def loader_name() -> str:
    """The loader chosen by env ``LODESTAR_LOADER``: ``duckdb`` (default, direct) or ``dlt``."""
    name = get_settings().loader
    if name not in LOADERS:
        raise ValueError(f"LODESTAR_LOADER={name!r}: must be one of {', '.join(LOADERS)}")
    return name


@dataclass
class TableLoad:
    """One raw table's share of a load: typed rows merged by ``primary_key``, column hints (dlt shape)."""

    table: str
    data: pa.Table
    primary_key: list[str]
    hints: list[dict]


def feed_load(
    table: str, data: pa.Table, columns: dict[str, ColumnSpec], primary_key: list[str]
) -> TableLoad:
    return TableLoad(table, data, primary_key, dlt_columns(columns, primary_key))


def rejects_load(table: str, data: pa.Table) -> TableLoad:
    return TableLoad(table, data, ["_reject_id"], _REJECT_HINTS)


@dataclass
class Cursor:
    """An HTTP feed's next ``updated_since`` value, stored with the records it covers."""

    name: str
    value: str
    batch_id: str


def land_batch(
    pipeline_name: str,
    warehouse: Warehouse,
    tables: list[TableLoad],
    file_rows: list[dict] | None = None,
    cursor: Cursor | None = None,
    batch_id: str | None = None,
) -> None:
    """Merge ``tables`` into ``raw`` and record ``file_rows`` / ``cursor`` with the loader of
    :func:`loader_name`. The direct loader does all of it in one DuckDB transaction, recorded as the open
    batch ``batch_id`` while it runs (:meth:`Warehouse.batch`); dlt loads the data first and the bookkeeping
    is written after it reports success."""
    if loader_name() == "dlt":
        resources = [
            make_resource(t.data, t.table, t.primary_key, t.hints) for t in tables if t.data.num_rows
        ]
        if resources:
            run_dlt(pipeline_name, warehouse, resources)
        record_files(warehouse, file_rows or [])
        if cursor is not None:
            write_cursor(warehouse, cursor.name, cursor.value, cursor.batch_id)
        return
    with warehouse.batch(batch_id or new_batch_id(pipeline_name), f"landing {pipeline_name}") as con:
        con.execute(f"create schema if not exists {RAW}")
        for t in tables:
            if t.data.num_rows:
                _merge(con, t)
        if file_rows:
            _write_file_log(con, file_rows)
        if cursor is not None:
            _write_cursor(con, cursor.name, cursor.value, cursor.batch_id)


def _merge(con: duckdb.DuckDBPyConnection, t: TableLoad) -> None:
    """DELETE the incoming keys, INSERT BY NAME; create the table typed, or add the columns it lacks."""
    target = f"{RAW}.{quote_ident(t.table)}"
    existing = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [RAW, t.table],
        ).fetchall()
    }
    if not existing:
        cols = ", ".join(
            f"{quote_ident(h['name'])} {_DUCKDB_TYPE[h['data_type']]}"
            + ("" if h.get("nullable", True) else " not null")
            for h in t.hints
        )
        con.execute(f"create table {target} ({cols})")
    else:
        for h in t.hints:
            if h["name"] not in existing:  # the contract grew: old rows get NULL
                con.execute(
                    f"alter table {target} add column {quote_ident(h['name'])} {_DUCKDB_TYPE[h['data_type']]}"
                )
        # A table dlt created earlier: its NOT NULL bookkeeping columns would refuse our rows.
        for col in ("_dlt_load_id", "_dlt_id"):
            if col in existing:
                con.execute(f"alter table {target} drop column {col}")
    with registered(con, "_incoming", t.data):
        match = " and ".join(f"{target}.{quote_ident(k)} = _incoming.{quote_ident(k)}" for k in t.primary_key)
        con.execute(f"delete from {target} using _incoming where {match}")
        con.execute(f"insert into {target} by name select * from _incoming")


_FILE_LOG_DDL = (
    f"create table if not exists {RAW}.{FILE_LOG} (source varchar, feed varchar, file varchar, "
    "sha256 varchar, bytes bigint, rows_seen bigint, rows_accepted bigint, rows_rejected bigint, "
    "status varchar, _batch_id varchar, _loaded_at timestamp, primary key (source, feed, sha256))"
)
_CURSOR_DDL = (
    f"create table if not exists {RAW}.{HTTP_CURSOR} (name varchar primary key, cursor_value varchar, "
    "_batch_id varchar, _updated_at timestamp)"
)


def _write_file_log(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    con.execute(f"create schema if not exists {RAW}")
    con.execute(_FILE_LOG_DDL)
    with registered(con, "_incoming_files", pd.DataFrame(rows)):
        con.execute(f"insert or replace into {RAW}.{FILE_LOG} by name select * from _incoming_files")


def record_files(warehouse: Warehouse, rows: list[dict]) -> None:
    """Mark files as loaded in their own transaction (the dlt loader: after the data is committed)."""
    if not rows:
        return
    with warehouse.connect() as con:
        _write_file_log(con, rows)


def _write_cursor(con: duckdb.DuckDBPyConnection, name: str, value: str, batch_id: str) -> None:
    con.execute(f"create schema if not exists {RAW}")
    con.execute(_CURSOR_DDL)
    con.execute(
        f"insert or replace into {RAW}.{HTTP_CURSOR} values (?, ?, ?, ?)", [name, value, batch_id, now_utc()]
    )


def write_cursor(warehouse: Warehouse, name: str, value: str, batch_id: str) -> None:
    """Persist the incremental cursor in its own transaction (the dlt loader: after the records)."""
    with warehouse.connect() as con:
        _write_cursor(con, name, value, batch_id)
