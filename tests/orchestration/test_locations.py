"""The production profile's two code locations (`orchestration.locations`) are the laptop's one location split,
nothing lost and nothing defined twice; Dagster loads each the way a code server does."""

from __future__ import annotations

import dagster as dg

import orchestration.definitions as combined
import orchestration.locations as locations


def _materializable(defs: dg.Definitions) -> set[dg.AssetKey]:
    return set(defs.resolve_asset_graph().materializable_asset_keys)


def test_core_and_reports_split_the_combined_graph():
    core, reports, whole = locations.core(), locations.reports(), combined.defs()
    core_keys, report_keys, all_keys = _materializable(core), _materializable(reports), _materializable(whole)
    assert report_keys == {dg.AssetKey(["raw", "value_reports"])}
    assert not core_keys & report_keys
    assert core_keys | report_keys == all_keys
    # Each location carries what its jobs need: the reports job with its resources, core every other job.
    assert {j.name for j in reports.jobs} == {"value_reports"}
    assert {"warehouse", "mlflow", "dbt", "intel_config"} <= set(reports.resources)
    core_jobs = {j.name for j in core.jobs}
    assert {"main", "landing", "retrain_forecast"} <= core_jobs and "value_reports" not in core_jobs
    # The reports' inputs are core's marts: seen by the reports location as dependencies it does not define.
    inputs = reports.resolve_asset_graph().get_all_asset_keys() - report_keys
    assert dg.AssetKey(["marts", "value_realization"]) in inputs and inputs <= all_keys
    for defs in (core, reports):
        defs.get_repository_def().load_all_definitions()
