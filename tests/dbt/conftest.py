"""One real build per session: the demo company at a small scale, landed by the connectors, then `dbt build`."""

from __future__ import annotations

import os
import time

import pytest
from lodestar_dbt_helpers import Built, dbt_env, land_demo, run_dbt


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    home = tmp_path_factory.mktemp("lodestar_home")
    old = {k: os.environ.get(k) for k in ("LODESTAR_HOME", "RUNTIME__DLTHUB_TELEMETRY", "OMP_NUM_THREADS")}
    os.environ.update(LODESTAR_HOME=str(home), RUNTIME__DLTHUB_TELEMETRY="false", OMP_NUM_THREADS="1")
    try:
        t0 = time.perf_counter()
        warehouse = land_demo(home)
        t1 = time.perf_counter()
        env = dbt_env(warehouse)
        build = run_dbt(["build"], env, target_path=str(home / "dbt_target"))
        t2 = time.perf_counter()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return Built(home, warehouse, home / "demo" / "truth", env, build,
                 {"generate_and_land": t1 - t0, "dbt_build": t2 - t1})
