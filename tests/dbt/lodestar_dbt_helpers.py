"""Helpers of the dbt tests: landing the demo company, running dbt, the list of marts."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
from orchestration.lib.dbt import dbt_executable  # noqa: E402

DBT = Path(dbt_executable())
SCALE = float(os.environ.get("LODESTAR_TEST_DBT_SCALE", "0.2"))
# Cross-source references (crm.sell_through_reports -> pos.stores, ...) need this order.
FILE_SOURCES = ["erp", "pos", "distributor", "crm", "complaints"]
# Every mart of the project, not a hand-kept list: a new mart is built, compared and counted the day it lands.
MARTS = sorted(p.stem for p in (ROOT / "dbt_project" / "models" / "marts").glob("*.sql"))


@dataclass
class PgBuilt:
    """The same warehouse built by `dbt build --target postgres` as lodestar_pipeline on a throwaway cluster."""

    data_dir: Path
    env: dict[str, str]  # the LODESTAR_PG_* of the pipeline role, for dbt
    build: subprocess.CompletedProcess
    passwords: dict[str, str]  # role -> the password `lodestar pg-roles` set from the environment
    seconds: dict[str, float]

    def dsn(self, user: str) -> str:
        return (f"host={self.env['LODESTAR_PG_HOST']} port={self.env['LODESTAR_PG_PORT']} user={user} "
                f"dbname={self.env['LODESTAR_PG_DATABASE']}")


@dataclass
class Built:
    home: Path
    warehouse: Path
    truth_dir: Path
    env: dict[str, str]
    build: subprocess.CompletedProcess
    seconds: dict[str, float]


def dbt_env(warehouse: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, LODESTAR_WAREHOUSE=str(warehouse), DBT_SEND_ANONYMOUS_USAGE_STATS="false",
               DO_NOT_TRACK="1", OMP_NUM_THREADS="1")
    env.update(extra)
    return env


def run_dbt(args: list[str], env: dict[str, str], target_path: str = "target") -> subprocess.CompletedProcess:
    cmd = [str(DBT), *args, "--project-dir", str(ROOT / "dbt_project"), "--profiles-dir", str(ROOT / "dbt_project"),
           "--target-path", target_path]
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)


def land_demo(home: Path, scale: float = SCALE) -> Path:
    """Generate the demo company into home/demo and land every file and HTTP feed into home/warehouse.duckdb."""
    from connectors.contracts import discover_http_contracts, load_source_contract
    from connectors.files import land_file_source
    from connectors.http_api import land_http_feed
    from lodestar.demo.api import serve_demo_api
    from lodestar.demo.generator import generate
    from lodestar.warehouse import Warehouse

    demo = home / "demo"
    generate(demo, scale=scale)
    wh = Warehouse(home / "warehouse.duckdb")
    for src in FILE_SOURCES:
        land_file_source(load_source_contract(ROOT / "connectors" / "contracts" / f"{src}.yaml"), wh)
    contracts, errors = discover_http_contracts(ROOT / "connectors" / "http")
    assert not errors, errors
    token = "dbt-test-token"
    with serve_demo_api(demo, token) as url:
        os.environ["LODESTAR_DEMO_API_URL"] = url
        os.environ["LODESTAR_DEMO_API_TOKEN"] = token
        for c in contracts:
            land_http_feed(c, wh)
    return wh.path


