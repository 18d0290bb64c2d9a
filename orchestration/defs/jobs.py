"""The main job: the whole asset graph, which `lodestar demo` / `lodestar run` and the UI launch."""

import dagster as dg

from lodestar.company import current_company

_company = current_company()
# The UI names the configured company (lodestar.yaml): the graph below is built for it.
COMPANY_LABEL = (f"{_company.company} ({_company.path}; currency {_company.currency}, weeks from "
                 f"{_company.calendar.week_start}, fiscal year from month {_company.calendar.fiscal_year_start_month})"
                 if _company else "the demo company (no lodestar.yaml configured)")

main_job = dg.define_asset_job(
    "main",
    # the quarter-partitioned value reports run in their own job (orchestration/reports, its own code location on the production profile): one job holds one partitioning
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("reports"),
    description=f"Company: {COMPANY_LABEL}. Materialise the whole asset graph: land every source, build the marts, train and forecast, then the "
    "default scenario, drop alerts, replenishment suggestions and the forecast sandbox.",
)
