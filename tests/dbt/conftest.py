"""One real build per session: the demo company at a small scale, landed by the connectors, then `dbt build`."""

from __future__ import annotations

import time

import pytest
from lodestar_dbt_helpers import Built, dbt_env, land_demo, run_dbt

from lodestar.company import environ_overrides


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
