"""The small warehouse interface every library uses to read and write tables.

DuckDB allows one writer per file, so writers open short-lived connections and
the orchestration layer serialises them through one concurrency pool.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_ident(name: str) -> str:
    """Quote a schema/table/column name, refusing anything that is not a plain identifier."""
    if not _IDENT.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


class Reader:
    """Lookups on one open connection: a caller making many of them pays one DuckDB open (~0.1 s), not one each.
    :class:`Warehouse` answers the same calls with a short-lived connection of its own."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    def table_exists(self, schema: str, table: str) -> bool:
        row = self.con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()
        return bool(row and row[0])

    def row_count(self, schema: str, table: str) -> int:
        if not self.table_exists(schema, table):
            return 0
        return self.con.execute(f"select count(*) from {quote_ident(schema)}.{quote_ident(table)}").fetchone()[0]


@dataclass(frozen=True)
class Warehouse:
    """A DuckDB file; ``schema.table`` names throughout."""

    path: Path
    # Another process (a dbt subprocess, a second run) may hold the file's lock for a moment:
    # wait for it this long before giving up with DuckDB's own error (None: LODESTAR_LOCK_TIMEOUT, 60 s).
    lock_timeout: float | None = None

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if read_only and not self.path.exists():
            # A read before the first write sees an empty warehouse, not an error.
            read_only = False
        con = self._open(read_only)
        try:
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def reader(self) -> Iterator[Reader]:
        """One read-only connection for many lookups; close it before a write (DuckDB: one writer per file)."""
        with self.connect(read_only=True) as con:
            yield Reader(con)

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        from lodestar.settings import get_settings

        timeout = self.lock_timeout if self.lock_timeout is not None else get_settings().lock_timeout
        deadline = time.monotonic() + timeout
        delay = 0.2
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    @property
    def open_batches_dir(self) -> Path:
        """Where :meth:`batch` records the batches open right now (``<warehouse file>.batches``)."""
        return self.path.parent / f"{self.path.name}.batches"

    @contextlib.contextmanager
    def batch(self, batch_id: str, what: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction for a batch that spans several tables: all of it commits or none of it.

        While it is open, ``<warehouse file>.batches/<batch_id>.json`` names it (``what`` it writes, the pid and
        start time of the process): from just after BEGIN until COMMIT or ROLLBACK returned. A file left behind
        names a batch whose process died with it open; DuckDB drops what had not committed when the file is next
        opened, and the next run reports and clears the record (:meth:`clear_dead_batches`). Anyone may watch the
        folder to see what the warehouse is writing (the killed-run tests do).
        """
        from lodestar.deadruns import process_started

        with self.connect() as con:
            con.execute("begin transaction")
            record = self.open_batches_dir / f"{batch_id}.json"
            record.parent.mkdir(parents=True, exist_ok=True)
            pending = record.with_suffix(".tmp")
            pending.write_text(json.dumps({"batch_id": batch_id, "what": what, "pid": os.getpid(),
                                           "pid_started": process_started(os.getpid()) or "",
                                           "opened_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}), encoding="utf-8")
            pending.replace(record)  # a watcher never reads half a record
            try:
                yield con
                con.execute("commit")
            except BaseException:
                with contextlib.suppress(duckdb.Error):  # keep the original error if the rollback fails too
                    con.execute("rollback")
                raise
            finally:
                record.unlink(missing_ok=True)

    def clear_dead_batches(self) -> list[dict]:
        """Remove the records of open batches whose process is gone (killed inside :meth:`batch`) and return them;
        a live process's batch is left alone."""
        from lodestar.deadruns import process_alive

        dead = []
        for record in sorted(self.open_batches_dir.glob("*.json")):
            try:
                info = json.loads(record.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # just removed by its process, or not ours
            if process_alive(info.get("pid"), info.get("pid_started", "")):
                continue
            record.unlink(missing_ok=True)
            dead.append(info)
        return dead

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        with self.reader() as r:
            return r.query(sql, params)

    def table_exists(self, schema: str, table: str) -> bool:
        with self.reader() as r:
            return r.table_exists(schema, table)

    def row_count(self, schema: str, table: str) -> int:
        with self.reader() as r:
            return r.row_count(schema, table)

    def replace_table(self, schema: str, table: str, df: pd.DataFrame) -> int:
        """Swap in a whole table in one transaction: readers see the old or the new, never half."""
        with self.connect() as con, transaction(con):
            return replace_rows_in(con, schema, table, df)

    def replace_rows(self, schema: str, table: str, df: pd.DataFrame, where: str, params: list) -> int:
        """Delete the rows matching ``where`` then insert ``df``, atomically (partition overwrite)."""
        with self.connect() as con, transaction(con):
            return replace_rows_in(con, schema, table, df, where, params)


def copyable_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """The base tables of ``schema`` another engine gets a copy of, each with its (column, DuckDB type) list in
    order; dlt's own bookkeeping tables (``_dlt_*``) are left out: dbt never reads them."""
    tables = [r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = ? and table_type = 'BASE TABLE' "
        "order by table_name", [schema]).fetchall() if not r[0].startswith("_dlt")]
    return [(table, [tuple(c) for c in con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position", [schema, table]).fetchall()])
        for table in tables]


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN; COMMIT when the block ends, ROLLBACK when it raises."""
    con.execute("begin transaction")
    try:
        yield
        con.execute("commit")
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # keep the original error if the rollback fails too
            con.execute("rollback")
        raise


@contextlib.contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, data: object) -> Iterator[str]:
    """``data`` (a DataFrame or an Arrow table) readable in SQL as ``name`` for the block."""
    con.register(name, data)
    try:
        yield name
    finally:
        with contextlib.suppress(duckdb.Error):  # an aborted transaction refuses this too; keep the real error
            con.unregister(name)


def replace_rows_in(con: duckdb.DuckDBPyConnection, schema: str, table: str, df: pd.DataFrame,
                    where: str | None = None, params: list | None = None) -> int:
    """In the caller's transaction (e.g. a :meth:`Warehouse.batch` that overwrites one partition of several
    tables together): delete the rows matching ``where`` then insert ``df`` by name; without ``where``, replace
    the whole table by ``df`` (its columns too)."""
    target = f"{quote_ident(schema)}.{quote_ident(table)}"
    con.execute(f"create schema if not exists {quote_ident(schema)}")
    with registered(con, "_incoming", df):
        if where is None:
            con.execute(f"create or replace table {target} as select * from _incoming")
        else:
            con.execute(f"create table if not exists {target} as select * from _incoming limit 0")
            con.execute(f"delete from {target} where {where}", params or [])
            con.execute(f"insert into {target} by name select * from _incoming")
    return len(df)
