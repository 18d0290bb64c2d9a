"""Shared fixtures for the demo-company tests: one small generated company per test session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the independent validator next to these tests

SMALL_SCALE = 0.1


@pytest.fixture(scope="session")
def demo_small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from lodestar.demo.generator import generate

    out = tmp_path_factory.mktemp("demo_a")
    return out, generate(out, scale=SMALL_SCALE)
