"""Mart parity across engines: every mart's row count and a checksum of all its columns (each value normalised to
one engine-neutral spelling, the rows sorted, SHA-256), with the differing columns and values named on a mismatch.
Used by the PostgreSQL and the Spark parity tests against the DuckDB build."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable
from decimal import Decimal

import duckdb
from lodestar_dbt_helpers import MARTS


def quoted(columns: list[str]) -> str:
    """A select list of ``columns`` as double-quoted identifiers (DuckDB and PostgreSQL)."""
    return ", ".join(f'"{c}"' for c in columns)


def _norm(value: object) -> object:
    """One engine-neutral spelling of a value: numbers to 9 significant digits (integral ones as ints), instants as
    ISO text without a zone."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (float, Decimal)):
        f = float(value)
        if math.isnan(f):
            return "nan"
        # Round first, then spell integral values as ints: 1391197.0000000002 (Spark's sum) and 1391197.0
        # (DuckDB's) are the same amount and must not become a float and an int.
        r = float(f"{f:.9g}")
        return int(r) if abs(r) < 2**53 and r == int(r) else r
    if isinstance(value, int):
        return value
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def checksum(rows: list[tuple]) -> str:
    normalised = sorted(repr(tuple(_norm(v) for v in row)) for row in rows)
    return hashlib.sha256("\n".join(normalised).encode()).hexdigest()


def column_checksums(columns: list[str], rows: list[tuple]) -> dict[str, str]:
    """Per column, to name the columns that differ when a mart's checksum does not match."""
    return {c: checksum([(row[i],) for row in rows]) for i, c in enumerate(columns)}


def differing_values(index: int, other_rows: list[tuple], duck_rows: list[tuple], limit: int = 3) -> str:
    """The first values of one column that only one engine has (raw, as the driver returned them)."""
    o = sorted((repr(_norm(r[index])), repr(r[index])) for r in other_rows)
    d = sorted((repr(_norm(r[index])), repr(r[index])) for r in duck_rows)
    o_norm, d_norm = {n for n, _ in o}, {n for n, _ in d}
    o_only = [raw for n, raw in o if n not in d_norm][:limit]
    d_only = [raw for n, raw in d if n not in o_norm][:limit]
    return f"other engine only {o_only}, duckdb only {d_only}"


def mart_mismatches(duck: duckdb.DuckDBPyConnection, other_rows: Callable[[str, list[str]], list[tuple]],
                    engine: str, marts: list[str] = MARTS) -> list[str]:
    """For each mart, DuckDB's columns read from both engines (``other_rows(mart, columns)``); what differs."""
    mismatches: list[str] = []
    for mart in marts:
        columns = [r[0] for r in duck.execute(
            "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ? "
            "order by ordinal_position", [mart]).fetchall()]
        assert columns, f"marts.{mart} missing on DuckDB"
        rows = other_rows(mart, columns)
        duck_rows = duck.execute(f"select {quoted(columns)} from marts.{mart}").fetchall()
        if len(rows) != len(duck_rows):
            mismatches.append(f"{mart}: {engine} {len(rows)} rows, duckdb {len(duck_rows)}")
        elif checksum(rows) != checksum(duck_rows):
            o, d = column_checksums(columns, rows), column_checksums(columns, duck_rows)
            mismatches += [f"{mart}.{c} differs on {engine}: {differing_values(i, rows, duck_rows)}"
                           for i, c in enumerate(columns) if o[c] != d[c]]
    return mismatches
