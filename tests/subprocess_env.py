"""The environment of a `lodestar` subprocess a test (or a bench) starts: this process's environment without a
single leftover LODESTAR_*, MLFLOW_* or DBT_* variable, plus what the caller names; and `lodestar` run so.

A variable another test (or this session's set-up) left in os.environ steered subprocesses before: a
MLFLOW_TRACKING_URI set process-wide by MLflow handed the Superstore run the demo's champion. A subprocess
gets only the state its test passes here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# Prefixes of the variables that point a process at state (homes, stores, profiles, the company).
STATEFUL_PREFIXES = ("LODESTAR_", "MLFLOW_", "DBT_")
# The tools' usage reporting stays off in every subprocess (the session turns it off for itself too).
TELEMETRY_OFF = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "MLFLOW_DISABLE_TELEMETRY": "true"}
LODESTAR_CLI = Path(sys.executable).parent / "lodestar"


def subprocess_env(**overrides: str) -> dict[str, str]:
    """os.environ with every LODESTAR_*, MLFLOW_* and DBT_* variable dropped, the telemetry switches off,
    then ``overrides`` set (the only state the subprocess sees)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(STATEFUL_PREFIXES)}
    return {**env, **TELEMETRY_OFF, **{k: str(v) for k, v in overrides.items()}}


def lodestar_env(home: Path, env: dict | None = None) -> dict[str, str]:
    """The environment of a `lodestar` subprocess: its own LODESTAR_HOME and Dagster home, the shared input
    data, and no other LODESTAR_/MLFLOW_/DBT_ variable of this process (:func:`subprocess_env`)."""
    from lodestar.settings import PROJECT_ROOT, get_settings

    dagster_home = home.parent / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / ".dagster" / "dagster.yaml", dagster_home / "dagster.yaml")
    return subprocess_env(COLUMNS="200", LODESTAR_HOME=str(home), DAGSTER_HOME=str(dagster_home),
                          LODESTAR_SHARED_DATA=str(get_settings().shared_data_dir), **(env or {}))


def lodestar(home: Path, *args: str, timeout: float = 1200, env: dict | None = None,
             **popen) -> subprocess.CompletedProcess:
    """`lodestar <args>` in a subprocess with its own LODESTAR_HOME and Dagster home."""
    return subprocess.run([str(LODESTAR_CLI), *args], capture_output=True, text=True, timeout=timeout,
                          env=lodestar_env(home, env), **popen)
