"""`dbt build --target spark` (dbt-spark, a local SparkSession) gives the same marts as DuckDB: for every mart the
same row count and the same checksum of its columns (each row's values normalised, then the sorted rows hashed)."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import math
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from lodestar_dbt_helpers import ROOT, Built, dbt_env, run_dbt
from prerequisites import require

MARTS = sorted(p.stem for p in (ROOT / "dbt_project" / "models" / "marts").glob("*.sql"))


def _norm(value: object) -> object:
    """One engine-neutral spelling of a value: floats to 9 significant digits, instants as ISO text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (float, Decimal)):
        f = float(value)
        if math.isnan(f):
            return "nan"
        return float(f"{f:.9g}") if f != int(f) or abs(f) >= 2**53 else int(f)
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


@pytest.mark.slow
@pytest.mark.spark
def test_spark_build_matches_duckdb_marts(built: Built, tmp_path: Path) -> None:
    require(shutil.which("java") is not None, "Java 17+ is not installed (scripts/install_system.sh)")
    require(importlib.util.find_spec("pyspark") is not None and importlib.util.find_spec("dbt.adapters.spark") is not None,
            "pyspark / dbt-spark are not installed (the `spark` extra: pip install '.[spark]')")
    from lodestar.sparkcopy import spark_session

    assert built.build.returncode == 0, "the DuckDB build failed; parity is meaningless"
    spark_dir = tmp_path / "spark"
    env = dbt_env(built.warehouse, LODESTAR_SPARK_DIR=str(spark_dir), SPARK_LOCAL_IP="127.0.0.1")
    # The copy runs in its own process, as a user runs it: its JVM holds the Derby metastore until it exits.
    copy = subprocess.run([str(Path(sys.executable).parent / "lodestar"), "copy-raw", "--target", "spark",
                           "--warehouse", str(built.warehouse)], env=env, capture_output=True, text=True,
                          timeout=900)
    assert copy.returncode == 0, copy.stderr[-3000:]
    assert "raw tables" in copy.stdout, copy.stdout
    # Models and seeds only: the data tests already ran on DuckDB in the shared build, and each is a Spark job.
    res = run_dbt(["build", "--target", "spark", "--resource-type", "seed", "--resource-type", "model"], env,
                  target_path=str(tmp_path / "dbt_target"))
    assert res.returncode == 0, res.stdout[-6000:]

    duck = duckdb.connect(str(built.warehouse), read_only=True)
    spark = spark_session(spark_dir)
    mismatches: list[str] = []
    try:
        for mart in MARTS:
            columns = [r[0] for r in duck.execute(
                "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ? "
                "order by ordinal_position", [mart]).fetchall()]
            assert columns, f"marts.{mart} missing on DuckDB"
            select = ", ".join(f"`{c}`" for c in columns)
            spark_rows = [tuple(r) for r in spark.sql(f"select {select} from marts.{mart}").collect()]
            duck_rows = duck.execute(f"select {', '.join(chr(34) + c + chr(34) for c in columns)} from marts.{mart}").fetchall()
            if len(spark_rows) != len(duck_rows):
                mismatches.append(f"{mart}: spark {len(spark_rows)} rows, duckdb {len(duck_rows)}")
            elif checksum(spark_rows) != checksum(duck_rows):
                s, d = column_checksums(columns, spark_rows), column_checksums(columns, duck_rows)
                mismatches.append(f"{mart}: columns differ: {[c for c in columns if s[c] != d[c]]}")
        # the parity means something only if the marts hold data
        assert duck.execute("select count(*) from marts.customer_360").fetchone()[0] > 0
    finally:
        duck.close()
        spark.stop()
    assert mismatches == [], "\n".join(mismatches)
