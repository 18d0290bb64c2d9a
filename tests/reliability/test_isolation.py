"""The test session is sealed from the developer's shell, and a missing prerequisite fails under CI.

Each check runs a probe test of this file in a pytest subprocess with a polluted environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prerequisites import require

HERE = Path(__file__)
LEAKS = {
    "MLFLOW_TRACKING_URI": "http://127.0.0.1:9/real-server",
    "LODESTAR_PG_HOST": "prod-db.example.invalid",
    "LODESTAR_WAREHOUSE": "/tmp/somebodys-real-warehouse.duckdb",
    "DBT_PROFILES_DIR": "/home/analyst/.dbt",
    "DBT_TARGET": "prod",
}


@pytest.mark.skipif(os.environ.get("ISOLATION_PROBE") != "env", reason="probe: run by the test below")
def test_probe_environment_is_clean():
    leaked = {k: os.environ[k] for k in LEAKS if k in os.environ}
    assert not leaked, leaked
    assert os.environ["LODESTAR_HOME"].startswith(os.environ.get("TMPDIR", "/tmp"))
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"


@pytest.mark.skipif(os.environ.get("ISOLATION_PROBE") != "missing", reason="probe: run by the test below")
def test_probe_missing_prerequisite():
    require(False, "probe prerequisite is missing")


def _probe(name: str, probe: str, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, **env, "ISOLATION_PROBE": probe}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:xdist", "-q", "-p", "no:cacheprovider",
                           f"{HERE}::{name}"], capture_output=True, text=True, env=full, timeout=300,
                          cwd=HERE.parents[2])


def test_lodestar_mlflow_and_dbt_variables_from_the_shell_never_reach_a_test():
    run = _probe("test_probe_environment_is_clean", "env", **LEAKS)
    assert run.returncode == 0 and "1 passed" in run.stdout, run.stdout[-2000:] + run.stderr[-2000:]


def test_a_missing_prerequisite_skips_locally_and_fails_under_ci():
    local = _probe("test_probe_missing_prerequisite", "missing", CI="")
    assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout[-2000:]
    ci = _probe("test_probe_missing_prerequisite", "missing", CI="true")
    assert ci.returncode == 1 and "1 failed" in ci.stdout, ci.stdout[-2000:]
    assert "probe prerequisite is missing (CI=true" in ci.stdout
