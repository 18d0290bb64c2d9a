"""Shared fixtures of the reliability tests: one tiny demo company, copied into each test's home,
and the `lodestar` command run in a subprocess against such a home."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from subprocess_env import subprocess_env

from lodestar.settings import PROJECT_ROOT, get_settings

TINY_SCALE = "0.02"
SEED = "20261127"


@pytest.fixture(scope="session")
def tiny_company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated demo company (scale 0.02), made once per session; copy it, never write into it."""
    from lodestar.demo.generator import generate

    demo = tmp_path_factory.mktemp("tiny") / "demo"
    generate(demo, scale=float(TINY_SCALE), seed=int(SEED))
    return demo


@pytest.fixture()
def tiny_home(tiny_company: Path, tmp_path: Path) -> Path:
    """A LODESTAR_HOME holding a copy of the tiny company and no warehouse yet."""
    home = tmp_path / "home"
    shutil.copytree(tiny_company, home / "demo", symlinks=True)
    return home


LODESTAR_CLI = Path(sys.executable).parent / "lodestar"


def lodestar_env(home: Path, env: dict | None = None) -> dict[str, str]:
    """The environment of a `lodestar` subprocess: its own LODESTAR_HOME and Dagster home, the shared input
    data, and no other LODESTAR_/MLFLOW_/DBT_ variable of this process (:func:`subprocess_env`)."""
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
