"""The Lodestar code location: every domain's assets, checks, jobs, schedules and sensors."""

from __future__ import annotations

import dagster as dg

from lodestar.settings import disable_telemetry
from orchestration.defs import dbt as dbt_defs
from orchestration.defs import forecast as forecast_defs
from orchestration.defs import intel as intel_defs
from orchestration.defs import levers as levers_defs
from orchestration.defs.raw import build_raw_assets
from orchestration.resources import build_resources

disable_telemetry()

raw_assets, contract_errors = build_raw_assets()

main_job = dg.define_asset_job(
    "main",
    selection=dg.AssetSelection.all(),
    description="Materialise the whole asset graph: land every source, build the marts, train and forecast, then the "
    "default scenario, drop alerts, replenishment suggestions and the forecast sandbox.",
)

defs = dg.Definitions.merge(
    dg.Definitions(assets=raw_assets, jobs=[main_job], resources=build_resources()),
    dbt_defs.defs,
    forecast_defs.defs,
    intel_defs.defs,
    levers_defs.defs,
)
