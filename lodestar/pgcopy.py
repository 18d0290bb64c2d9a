"""Copies the ``raw`` schema of the DuckDB warehouse into PostgreSQL, so dbt can build the same models there.

DuckDB's postgres extension cannot be downloaded offline, so tables go through pandas and psycopg2 ``COPY``.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import duckdb

from lodestar.warehouse import copyable_tables, quote_ident

# DuckDB column type (prefix) -> PostgreSQL type.
_PG_TYPES = {
    "VARCHAR": "text", "BIGINT": "bigint", "INTEGER": "integer", "SMALLINT": "smallint", "DOUBLE": "double precision",
    "FLOAT": "real", "DATE": "date", "TIMESTAMP WITH TIME ZONE": "timestamptz", "TIMESTAMP": "timestamp",
    "BOOLEAN": "boolean", "DECIMAL": "numeric", "HUGEINT": "numeric", "JSON": "text",
}


def pg_type(duck_type: str) -> str:
    """The PostgreSQL type for a DuckDB column type; unknown types fail loudly with the type named."""
    t = duck_type.upper()
    for prefix in sorted(_PG_TYPES, key=len, reverse=True):
        if t.startswith(prefix):
            return _PG_TYPES[prefix]
    raise ValueError(f"no PostgreSQL type for DuckDB type {duck_type!r}")


def pg_dsn_from_env() -> str:
    """libpq DSN from the same LODESTAR_PG_* variables the dbt `postgres` target reads."""
    parts = {
        "host": os.environ.get("LODESTAR_PG_HOST", "127.0.0.1"),
        "port": os.environ.get("LODESTAR_PG_PORT", "5432"),
        "user": os.environ.get("LODESTAR_PG_USER", "lodestar"),
        "dbname": os.environ.get("LODESTAR_PG_DATABASE", "lodestar"),
    }
    password = os.environ.get("LODESTAR_PG_PASSWORD")
    if password:
        parts["password"] = password
    return " ".join(f"{k}={v}" for k, v in parts.items())


def copy_raw_to_postgres(warehouse_path: Path, dsn: str | None = None, schema: str = "raw") -> dict[str, int]:
    """Replace every table of ``schema`` in PostgreSQL with the DuckDB file's copy; returns rows per table.

    dlt's own bookkeeping tables (``_dlt_*``) are skipped: dbt never reads them.
    """
    import psycopg2  # imported here: only the Postgres path needs it

    if not Path(warehouse_path).exists():
        raise FileNotFoundError(f"DuckDB warehouse not found: {warehouse_path}")
    copied: dict[str, int] = {}
    duck = duckdb.connect(str(warehouse_path), read_only=True)
    pg = psycopg2.connect(dsn or pg_dsn_from_env())
    try:
        with pg, pg.cursor() as cur:
            cur.execute(f"create schema if not exists {quote_ident(schema)}")
            for table, cols in copyable_tables(duck, schema):
                target = f"{quote_ident(schema)}.{quote_ident(table)}"
                ddl = ", ".join(f"{quote_ident(c)} {pg_type(t)}" for c, t in cols)
                cur.execute(f"drop table if exists {target} cascade")
                cur.execute(f"create table {target} ({ddl})")
                # DuckDB renders every value as text PostgreSQL parses back (no float-ified integers).
                as_text = ", ".join(f"cast({quote_ident(c)} as varchar)" for c, _ in cols)
                df = duck.execute(f"select {as_text} from {quote_ident(schema)}.{quote_ident(table)}").df()
                buf = io.StringIO()
                # CSV with an explicit NULL marker keeps empty strings and nulls apart.
                df.to_csv(buf, index=False, header=False, na_rep="\\N")
                buf.seek(0)
                cur.copy_expert(f"copy {target} from stdin with (format csv, null '\\N')", buf)
                copied[table] = len(df)
                # Fresh statistics: without them the planner picks nested-loop anti-joins (staging's rejects check).
                cur.execute(f"analyze {target}")
    finally:
        duck.close()
        pg.close()
    return copied
