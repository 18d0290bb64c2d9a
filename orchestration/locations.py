"""The production profile's two code locations, each served by its own code-server process
(`deploy/production/workspace.yaml`, started by `scripts/prod_up.sh`):

- ``core`` (location ``lodestar``): every `orchestration/defs/<domain>/` folder — landing, dbt, forecast, intel,
  levers, cockpit, the `main` job, schedules and sensors;
- ``reports`` (location ``reports``): the quarterly value reports (`orchestration/reports/`), the customer success
  teams' publication. Its asset's inputs are marts of ``core``: cross-location dependencies by asset key, so the
  webserver draws one graph, while either location reloads, or fails to load, without touching the other.

Together they are exactly `orchestration.definitions.defs`, the one location of the laptop, the CLI and the tests
(`tests/orchestration/test_locations.py` checks that no asset is lost or defined twice). Importing this module
runs nothing: Dagster builds a location when it loads it.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg


def core_definitions() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent / "defs")


def reports_definitions(with_resources: bool = True) -> dg.Definitions:
    """The value reports; without their resources when merged into a location that brings its own."""
    from orchestration.reports.assets import defs as reports_defs

    if not with_resources:
        return reports_defs
    from orchestration.defs.resources import build_resources

    return dg.Definitions.merge(reports_defs, dg.Definitions(resources=build_resources()))


@dg.definitions
def core() -> dg.Definitions:
    return core_definitions()


@dg.definitions
def reports() -> dg.Definitions:
    return reports_definitions()
