"""`dbt build --target postgres` on a throwaway PostgreSQL cluster gives the same mart row counts as DuckDB."""

from __future__ import annotations

import glob
import shutil
import subprocess
import tempfile
from pathlib import Path

import duckdb
import pytest
from lodestar_dbt_helpers import MARTS, ROOT, Built, dbt_env, run_dbt
from prerequisites import require

PG_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or ([shutil.which("initdb")] if shutil.which("initdb") else [])


@pytest.mark.slow
def test_postgres_build_matches_duckdb_row_counts(built: Built) -> None:
    require(bool(PG_BINS), "PostgreSQL server binaries (initdb) are not installed (scripts/install_system.sh)")
    import psycopg2

    from lodestar.pgcopy import copy_raw_to_postgres

    assert built.build.returncode == 0, "the DuckDB build failed; parity is meaningless"
    # Under /tmp directly: as root the cluster runs as `postgres`, which cannot enter pytest's 0700 tmp dirs.
    data_dir = Path(tempfile.mkdtemp(prefix="lodestar-pg-"))
    data_dir.chmod(0o755)
    out = subprocess.run([str(ROOT / "scripts" / "pg_start.sh"), str(data_dir)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    pg_env = dict(kv.split("=", 1) for kv in out.stdout.strip().removeprefix("export ").split())
    try:
        dsn = (f"host={pg_env['LODESTAR_PG_HOST']} port={pg_env['LODESTAR_PG_PORT']} "
               f"user={pg_env['LODESTAR_PG_USER']} dbname={pg_env['LODESTAR_PG_DATABASE']}")
        copied = copy_raw_to_postgres(built.warehouse, dsn)
        assert copied["erp_orders"] > 0
        res = run_dbt(["build", "--target", "postgres"], dbt_env(built.warehouse, **pg_env),
                      target_path=str(data_dir / "dbt_target"))
        assert res.returncode == 0, res.stdout[-4000:]
        duck = duckdb.connect(str(built.warehouse), read_only=True)
        pg = psycopg2.connect(dsn)
        try:
            with pg.cursor() as cur:
                for mart in MARTS:
                    cur.execute(f"select count(*) from marts.{mart}")
                    n_pg = cur.fetchone()[0]
                    n_duck = duck.execute(f"select count(*) from marts.{mart}").fetchone()[0]
                    assert n_pg == n_duck, f"{mart}: postgres {n_pg} rows, duckdb {n_duck}"
                cur.execute("select overstatement_pct from marts.launch_reconciliation where pos_units > 0")
                pg_launch = sorted(float(r[0]) for r in cur.fetchall())
            duck_launch = sorted(float(r[0]) for r in duck.execute(
                "select overstatement_pct from marts.launch_reconciliation where pos_units > 0").fetchall())
            assert pg_launch == duck_launch
            # customer_360's latest distributor stock (a grouped-max join, not a correlated subquery) agrees too
            q = "select count(distributor_on_hand), sum(distributor_on_hand) from marts.customer_360"
            with pg.cursor() as cur:
                cur.execute(q)
                pg_stock = tuple(float(v) for v in cur.fetchone())
            duck_stock = tuple(float(v) for v in duck.execute(q).fetchone())
            assert pg_stock == duck_stock and pg_stock[0] > 0
            # The access policy drives PostgreSQL row-level security (issue 14): the same rows on both engines,
            # not only as many.
            q = ("select principal_kind, principal_id, customer_id, source_rule, is_primary_owner "
                 "from marts.access_policy order by 1, 2, 3")
            with pg.cursor() as cur:
                cur.execute(q)
                pg_policy = [tuple(r) for r in cur.fetchall()]
            duck_policy = [tuple(r) for r in duck.execute(q).fetchall()]
            assert pg_policy == duck_policy and {r[0] for r in pg_policy} == {"account_manager", "csg"}
            # Every table dbt built was analyzed right after (the pg_analyze post-hook), so the planner of the
            # next model sees real row counts; without it customer_360 ran for more than 35 min at --scale 10.
            with pg.cursor() as cur:
                cur.execute("select schemaname || '.' || relname from pg_stat_user_tables "
                            "where schemaname in ('staging', 'intermediate', 'marts') and last_analyze is null")
                unanalyzed = [r[0] for r in cur.fetchall()]
                cur.execute("select count(*) from pg_stat_user_tables where schemaname = 'marts'")
                n_marts = cur.fetchone()[0]
            assert n_marts >= len(MARTS) and unanalyzed == []
        finally:
            duck.close()
            pg.close()
    finally:
        subprocess.run([str(ROOT / "scripts" / "pg_stop.sh"), str(data_dir), "--rm"], capture_output=True, timeout=60)
