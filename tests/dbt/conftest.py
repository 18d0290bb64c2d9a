"""One real build per session: the demo company at a small scale, landed by the connectors, then `dbt build`;
and, for the PostgreSQL tests, the same warehouse built once more on a throwaway PostgreSQL cluster."""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lodestar_dbt_helpers import ROOT, Built, PgBuilt, dbt_env, land_demo, run_dbt
from prerequisites import require

from lodestar.company import environ_overrides

PG_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or ([shutil.which("initdb")] if shutil.which("initdb") else [])


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    home = tmp_path_factory.mktemp("lodestar_home")
    with environ_overrides({"LODESTAR_HOME": str(home), "RUNTIME__DLTHUB_TELEMETRY": "false", "OMP_NUM_THREADS": "1"}):
        t0 = time.perf_counter()
        warehouse = land_demo(home)
        t1 = time.perf_counter()
        env = dbt_env(warehouse)
        build = run_dbt(["build"], env, target_path=str(home / "dbt_target"))
        t2 = time.perf_counter()
    return Built(home, warehouse, home / "demo" / "truth", env, build,
                 {"generate_and_land": t1 - t0, "dbt_build": t2 - t1})


@pytest.fixture(scope="session")
def pg_built(built: Built) -> Iterator[PgBuilt]:
    """scripts/pg_start.sh's cluster; `lodestar pg-roles` as its administrator (passwords from the environment);
    then, as lodestar_pipeline (no superuser), the raw layer copied across and `dbt build --target postgres`."""
    require(bool(PG_BINS), "PostgreSQL server binaries (initdb) are not installed (scripts/install_system.sh)")
    from lodestar.pgcopy import copy_raw_to_postgres
    from lodestar.pgroles import ROLES

    assert built.build.returncode == 0, "the DuckDB build failed; the PostgreSQL tests are meaningless"
    # Under /tmp directly: as root the cluster runs as `postgres`, which cannot enter pytest's 0700 tmp dirs.
    data_dir = Path(tempfile.mkdtemp(prefix="lodestar-pg-"))
    data_dir.chmod(0o755)
    try:
        t0 = time.perf_counter()
        out = subprocess.run([str(ROOT / "scripts" / "pg_start.sh"), str(data_dir)], capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        admin_env = dict(kv.split("=", 1) for kv in out.stdout.strip().removeprefix("export ").split())
        passwords = {role: secrets.token_urlsafe(12) for role in ROLES}
        roles = subprocess.run([str(Path(sys.executable).parent / "lodestar"), "pg-roles"], capture_output=True,
                               text=True, timeout=120,
                               env={**os.environ, **admin_env, **{ROLES[r]: pw for r, pw in passwords.items()}})
        assert roles.returncode == 0, roles.stdout + roles.stderr
        pg_env = {**admin_env, "LODESTAR_PG_USER": "lodestar_pipeline"}
        pg = PgBuilt(data_dir, pg_env, subprocess.CompletedProcess([], 0), passwords, {})
        copied = copy_raw_to_postgres(built.warehouse, pg.dsn("lodestar_pipeline"))
        assert copied["erp_orders"] > 0
        t1 = time.perf_counter()
        pg.build = run_dbt(["build", "--target", "postgres"], dbt_env(built.warehouse, **pg_env),
                           target_path=str(data_dir / "dbt_target"))
        pg.seconds = {"start_roles_copy": t1 - t0, "dbt_build": time.perf_counter() - t1}
        assert pg.build.returncode == 0, pg.build.stdout[-4000:]
        yield pg
    finally:
        subprocess.run([str(ROOT / "scripts" / "pg_stop.sh"), str(data_dir), "--rm"], capture_output=True, timeout=60)
