"""dbt models as Dagster assets: sources bind to the raw connector assets, tests become checks.

Asset keys are ``[schema, model]`` (e.g. ``marts/customer_360``) and groups follow the dbt
folder (staging, intermediate, marts), so lineage reads raw -> staging -> marts in the UI.
"""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.dbt_manifest import DBT_PROJECT_DIR, dbt_executable, ensure_manifest
from orchestration.resources import WAREHOUSE_POOL

OWNERS = ["team:analytics-engineering"]

# Python assets sit between dbt models (marts -> forecast -> forecast marts), so one run executes
# `dbt build` in several steps. dbt's default "eager" test selection would then run a relationship
# test as soon as one parent is built, before the model it tests exists. "buildable" waits until
# every parent is selected or already upstream.
os.environ.setdefault("DBT_INDIRECT_SELECTION", "buildable")


class LodestarDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            # dbt source `raw.<table>` is the connector asset raw/<table>.
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        schema = dbt_resource_props.get("config", {}).get("schema") or dbt_resource_props.get("schema")
        return dg.AssetKey([schema, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]):
        return OWNERS


translator = LodestarDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

MANIFEST = ensure_manifest()


@dbt_assets(manifest=MANIFEST, dagster_dbt_translator=translator, pool=WAREHOUSE_POOL, name="dbt_build")
def lodestar_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """`dbt build` of the selected models, seeds and tests (tests stream back as asset checks)."""
    yield from dbt.cli(["build"], context=context).stream()


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=str(DBT_PROJECT_DIR),
        profiles_dir=str(DBT_PROJECT_DIR),
        target=os.environ.get("LODESTAR_DBT_TARGET", "duckdb"),
        dbt_executable=dbt_executable(),
    )


defs = dg.Definitions(assets=[lodestar_dbt_assets], resources={"dbt": dbt_resource()})
