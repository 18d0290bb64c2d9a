"""Every resource the asset graph uses, built in this one place and injected; no global connections.

Locations default to `lodestar.settings` when a run starts; what only a deployment knows (the MLflow UI's
address, the dbt target) comes from the environment through `EnvVar` or dagster-dbt's `DbtProject`.
"""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.lib.dbt import dbt_executable, lodestar_dbt_project
from orchestration.lib.resources import IntelResource, MlflowResource, WarehouseResource


def build_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "warehouse": WarehouseResource(),
        "mlflow": MlflowResource(ui_url=dg.EnvVar("LODESTAR_MLFLOW_UI_URL").get_value("http://127.0.0.1:5000")),
        "intel_config": IntelResource(),
        "dbt": DbtCliResource(project_dir=lodestar_dbt_project, dbt_executable=dbt_executable()),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
