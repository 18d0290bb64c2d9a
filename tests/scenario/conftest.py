"""Fixtures of the lever tests: the small book of lever_book.py in a real DuckDB file."""

from __future__ import annotations

from pathlib import Path

import pytest
from lever_book import build_book
from staged_warehouse import fresh_copy

from lodestar.warehouse import Warehouse


@pytest.fixture(scope="session")
def _book_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_book(tmp_path_factory.mktemp("book") / "warehouse.duckdb").path


@pytest.fixture()
def book(_book_file: Path, tmp_path: Path) -> Warehouse:
    """A fresh copy of the book per test (built once per session)."""
    return fresh_copy(_book_file, tmp_path)


@pytest.fixture(scope="session")
def _neutral_book_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_book(tmp_path_factory.mktemp("neutral_book") / "warehouse.duckdb", drivers=False).path


@pytest.fixture()
def neutral_book(_neutral_book_file: Path, tmp_path: Path) -> Warehouse:
    """The book without the driver feeds (their dbt models empty), a fresh copy per test."""
    return fresh_copy(_neutral_book_file, tmp_path)
