"""What a test needs from outside the repository (shared data, PostgreSQL, torch): a clear skip on a
developer's machine, a failure under CI=true, where a missing prerequisite is a broken set-up, not a
reason to report green."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require(available: bool, what: str) -> None:
    """Skip (locally) or fail (CI=true) unless ``available``; ``what`` says what is missing and where."""
    if available:
        return
    if in_ci():
        pytest.fail(f"{what} (CI=true: a missing prerequisite fails instead of skipping)", pytrace=False)
    pytest.skip(what, allow_module_level=True)


def require_module(name: str) -> ModuleType:
    """``pytest.importorskip`` that fails under CI=true."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        require(False, f"python package {name!r} is not importable ({exc})")
        raise  # pragma: no cover - require() raised already
