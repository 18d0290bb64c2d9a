"""The Lodestar code location: every `orchestration/defs/<domain>/` folder and the value reports
(`orchestration/reports/`), loaded by Dagster on demand.

This one location serves the laptop (`workspace.yaml`, `dagster dev`), the CLI, the main-job runner and the tests.
The production profile serves the same definitions as two locations, `lodestar` and `reports`
(`orchestration.locations`). Importing this module runs nothing; Dagster (or :func:`load`) calls `defs` when it
loads the location.
"""

from __future__ import annotations

from functools import cache

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    from orchestration import locations

    return dg.Definitions.merge(locations.core_definitions(), locations.reports_definitions(with_resources=False))


@cache
def load() -> dg.Definitions:
    """The resolved definitions, built once per process (the CLI, the main-job runner and tests use this)."""
    return defs()
