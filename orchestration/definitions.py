"""The Lodestar code location: every `orchestration/defs/<domain>/` folder, loaded by Dagster on demand.

Importing this module runs nothing; Dagster (or :func:`load`) calls `defs` when it loads the location.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)


@cache
def load() -> dg.Definitions:
    """The resolved definitions, built once per process (the CLI, the main-job runner and tests use this)."""
    return defs()
