"""Suite-wide isolation: no test writes into the checkout's .lodestar or .dagster, and no tool
reports telemetry."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from lodestar.demo.common import TODAY as DEMO_TODAY
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
# The demo companies the tests generate run up to the generator's fixed date; the forecast's partitions follow it.
os.environ["LODESTAR_AS_OF"] = str(DEMO_TODAY)
os.environ.pop("LODESTAR_DEMO_DIR", None)


def pytest_configure(config: pytest.Config) -> None:
    """dbt's manifest is prepared by set-up, never by loading the code location; a checkout whose dbt files
    changed since (a developer editing models) gets it re-parsed once here, in the controller process."""
    if not hasattr(config, "workerinput"):
        from orchestration.lib.dbt import prepare_manifest

        prepare_manifest()


@pytest.fixture(scope="session", autouse=True)
def _cleanup_session_root():
    yield
    shutil.rmtree(_SESSION_ROOT, ignore_errors=True)


# Test folders that build expensive session fixtures (a generated company, a dbt build, a trained model, the
# end-to-end main job) run first, so the two workers of `make test` finish close together.
HEAVY_FIRST = ["e2e", "cockpit", "dbt", "nlp", "intel", "forecast", "reports", "demo", "orchestration", "connectors", "ml",
               "scenario", "core"]


def _folder(item: pytest.Item) -> str:
    return Path(str(item.fspath)).parent.name


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Under xdist (`make test` runs two workers) each test folder is one unit of work, so its session
    fixtures are built once. (xdist's own --dist loadgroup does not group under pytest 9: tests marked
    with one xdist_group were measured running on both workers.)"""
    from xdist.scheduler import LoadScopeScheduling

    class FolderScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return nodeid.split("::", 1)[0].rsplit("/", 1)[0]

    config.option.loadscopereorder = False  # keep HEAVY_FIRST order
    return FolderScheduling(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: rank.get(_folder(item), len(rank)))  # stable: file order kept inside a folder
