"""Every resource the asset graph uses, built in this one place and injected; no global connections.

Locations default to `lodestar.settings` when a run starts; every `LODESTAR_*` variable is read there, once.
"""

import dagster as dg
from dagster_dbt import DbtCliResource

from lodestar.settings import get_settings
from orchestration.lib.dbt import dbt_executable, lodestar_dbt_project
from orchestration.lib.resources import IntelResource, MlflowResource, WarehouseResource


def build_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "warehouse": WarehouseResource(),
        "mlflow": MlflowResource(ui_url=get_settings().mlflow_ui_url),
        "intel_config": IntelResource(),
        "dbt": DbtCliResource(project_dir=lodestar_dbt_project, dbt_executable=dbt_executable()),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
