"""The environment of a `lodestar` subprocess a test starts: this process's environment without a single
leftover LODESTAR_*, MLFLOW_* or DBT_* variable, plus what the caller names.

A variable another test (or this session's set-up) left in os.environ steered subprocesses before: a
MLFLOW_TRACKING_URI set process-wide by MLflow handed the Superstore run the demo's champion. A subprocess
gets only the state its test passes here.
"""

from __future__ import annotations

import os

# Prefixes of the variables that point a process at state (homes, stores, profiles, the company).
STATEFUL_PREFIXES = ("LODESTAR_", "MLFLOW_", "DBT_")
# The tools' usage reporting stays off in every subprocess (the session turns it off for itself too).
TELEMETRY_OFF = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "MLFLOW_DISABLE_TELEMETRY": "true"}


def subprocess_env(**overrides: str) -> dict[str, str]:
    """os.environ with every LODESTAR_*, MLFLOW_* and DBT_* variable dropped, the telemetry switches off,
    then ``overrides`` set (the only state the subprocess sees)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(STATEFUL_PREFIXES)}
    return {**env, **TELEMETRY_OFF, **{k: str(v) for k, v in overrides.items()}}
