"""Shared fixtures of the reliability tests: one tiny demo company, copied into each test's home (the
`lodestar` command run against such a home is tests/subprocess_env.py's)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from kills import tiny_company_at


@pytest.fixture(scope="session")
def tiny_company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated demo company (scale 0.02), made once per session; copy it, never write into it."""
    return tiny_company_at(tmp_path_factory.mktemp("tiny") / "demo")


@pytest.fixture()
def tiny_home(tiny_company: Path, tmp_path: Path) -> Path:
    """A LODESTAR_HOME holding a copy of the tiny company and no warehouse yet."""
    home = tmp_path / "home"
    shutil.copytree(tiny_company, home / "demo", symlinks=True)
    return home

