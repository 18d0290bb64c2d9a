"""The main job: the whole asset graph, which `lodestar demo` / `lodestar run` and the UI launch."""

import dagster as dg

main_job = dg.define_asset_job(
    "main",
    selection=dg.AssetSelection.all(),
    description="Materialise the whole asset graph: land every source, build the marts, train and forecast, then the "
    "default scenario, drop alerts, replenishment suggestions and the forecast sandbox.",
)
