"""`dbt build --target spark` (dbt-spark, a local SparkSession) gives the same marts as DuckDB: for every mart the
same row count and the same checksum of its columns (each row's values normalised, then the sorted rows hashed)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from lodestar_dbt_helpers import Built, dbt_env, run_dbt
from mart_checksums import mart_mismatches
from prerequisites import require


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
    try:
        mismatches = mart_mismatches(
            duck, lambda mart, columns: [tuple(r) for r in spark.sql(
                f"select {', '.join(f'`{c}`' for c in columns)} from marts.{mart}").collect()], "spark")
        # the parity means something only if the marts hold data
        assert duck.execute("select count(*) from marts.customer_360").fetchone()[0] > 0
    finally:
        duck.close()
        spark.stop()
    assert mismatches == [], "\n".join(mismatches)
