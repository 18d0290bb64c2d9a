"""Copies the ``raw`` schema of the DuckDB warehouse into a local Spark SQL catalog, so dbt builds the same models
on Spark (the ``spark`` target of dbt_project/profiles.yml, dbt-spark's ``session`` method).

Tables travel as Parquet files (DuckDB writes them, Spark reads them into managed tables). The Spark session
here and dbt's are configured by the same function, so both see one warehouse directory and one metastore; the
embedded Derby metastore admits one process at a time, which is why the copy runs before dbt, not beside it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from lodestar.warehouse import copyable_tables, quote_ident


def spark_dir() -> Path:
    """Where the local Spark catalog lives: LODESTAR_SPARK_DIR, else $LODESTAR_HOME/spark (same as profiles.yml)."""
    explicit = os.environ.get("LODESTAR_SPARK_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("LODESTAR_HOME", ".lodestar")) / "spark"


def spark_conf(base: Path | None = None) -> dict[str, str]:
    """The session settings dbt's ``spark`` target uses too (keep the two in step)."""
    base = Path(base or spark_dir()).resolve()
    return {
        "spark.sql.warehouse.dir": str(base / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={base / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={base}",
        # a laptop-sized local session: no UI port, few shuffle partitions for small tables
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.memory": os.environ.get("LODESTAR_SPARK_DRIVER_MEMORY", "2g"),
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
    }


def spark_session(base: Path | None = None) -> Any:
    """A local SparkSession with Hive catalog support and :func:`spark_conf`."""
    from pyspark.sql import SparkSession  # imported here: only the Spark path needs pyspark and Java

    # the driver binds to the loopback interface, not the machine's first address
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.master("local[2]").appName("lodestar").enableHiveSupport()
    for key, value in spark_conf(base).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def copy_raw_to_spark(warehouse_path: Path, base: Path | None = None, schema: str = "raw") -> dict[str, int]:
    """Replace every table of ``schema`` in the Spark catalog with the DuckDB file's copy; returns rows per table.

    dlt's own bookkeeping tables (``_dlt_*``) are skipped: dbt never reads them.
    """
    if not Path(warehouse_path).exists():
        raise FileNotFoundError(f"DuckDB warehouse not found: {warehouse_path}")
    base = Path(base or spark_dir())
    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="lodestar-spark-", dir=base))
    duck = duckdb.connect(str(warehouse_path), read_only=True)
    copied: dict[str, int] = {}
    try:
        for table, cols in copyable_tables(duck, schema):
            # Spark has no unsigned, 128-bit or JSON types: those go across as the nearest Spark type.
            select = ", ".join(_spark_compatible(c, t) for c, t in cols)
            # Spark skips files whose name starts with "_" (raw._file_log): every file gets a plain prefix.
            out = staging / f"t{len(copied)}.parquet"
            duck.execute(f"copy (select {select} from {quote_ident(schema)}.{quote_ident(table)}) "
                         f"to '{out}' (format parquet)")
            copied[table] = duck.execute(f"select count(*) from {quote_ident(schema)}.{quote_ident(table)}").fetchone()[0]
    finally:
        duck.close()
    spark = spark_session(base)
    try:
        spark.sql(f"create database if not exists {schema}")
        for i, table in enumerate(copied):
            name = f"`{schema}`.`{table}`"
            spark.sql(f"drop table if exists {name}")
            spark.read.parquet(str(staging / f"t{i}.parquet")).write.format("parquet").saveAsTable(name)
    finally:
        spark.stop()
        shutil.rmtree(staging, ignore_errors=True)
    return copied


def _spark_compatible(column: str, duck_type: str) -> str:
    t = duck_type.upper()
    col = quote_ident(column)
    if t in ("HUGEINT", "UBIGINT", "UHUGEINT"):
        return f"cast({col} as decimal(38, 0)) as {col}"
    if t == "JSON":
        return f"cast({col} as varchar) as {col}"
    return col
