"""Suite-wide isolation: no test writes into the checkout's .lodestar or .dagster, and no tool
reports telemetry."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from lodestar.settings import PROJECT_ROOT

os.environ.update(
    {
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DAGSTER_DISABLE_TELEMETRY": "true",
        "OMP_THREAD_LIMIT": os.environ.get("OMP_THREAD_LIMIT", "1"),
    }
)


# Set at import, before test modules are collected: modules that resolve settings at import
# (orchestration.definitions) must already see the temporary homes.
_SESSION_ROOT = Path(tempfile.mkdtemp(prefix="lodestar-tests-"))
(_SESSION_ROOT / "dagster").mkdir()
shutil.copy(PROJECT_ROOT / ".dagster" / "dagster.yaml", _SESSION_ROOT / "dagster" / "dagster.yaml")
os.environ["LODESTAR_HOME"] = str(_SESSION_ROOT / "home")
os.environ["DAGSTER_HOME"] = str(_SESSION_ROOT / "dagster")
os.environ.pop("LODESTAR_WAREHOUSE", None)
os.environ.pop("LODESTAR_DEMO_DIR", None)


@pytest.fixture(scope="session", autouse=True)
def _cleanup_session_root():
    yield
    shutil.rmtree(_SESSION_ROOT, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist (`make test` runs two workers), keep each test folder on one worker so its
    session fixtures (a generated company, a dbt build, a trained model) are built once."""
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        item.add_marker(pytest.mark.xdist_group(name=folder))
