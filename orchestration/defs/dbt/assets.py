"""dbt models as Dagster assets: sources bind to the raw connector assets, tests become checks.

Asset keys are ``[schema, model]`` (e.g. ``marts/customer_360``) and groups follow the dbt
folder (staging, intermediate, marts), so lineage reads raw -> staging -> marts in the UI
(`orchestration/lib/dbt.py` holds the project and the translator).
"""

import json
import os

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from lodestar.company import dbt_vars
from orchestration.lib.dbt import lodestar_dbt_project, translator
from orchestration.lib.resources import WAREHOUSE_POOL

# Python assets sit between dbt models (marts -> forecast -> forecast marts), so one run executes
# `dbt build` in several steps. dbt's default "eager" test selection would then run a relationship
# test as soon as one parent is built, before the model it tests exists. "buildable" waits until
# every parent is selected or already upstream. It is the default dagster-dbt reads from the environment (so
# its own override, "empty" when only some checks are selected, still wins); set when a step runs, not at import.
INDIRECT_SELECTION = "buildable"


@dbt_assets(manifest=lodestar_dbt_project.manifest_path, project=lodestar_dbt_project,
            dagster_dbt_translator=translator, pool=WAREHOUSE_POOL, name="dbt_build")
def lodestar_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """`dbt build` of the selected models, seeds and tests (tests stream back as asset checks)."""
    os.environ.setdefault("DBT_INDIRECT_SELECTION", INDIRECT_SELECTION)
    # the configured company's contract rules and currency (lodestar.company.dbt_vars; none for the demo)
    company_vars = dbt_vars()
    args = ["build", "--vars", json.dumps(company_vars, ensure_ascii=False)] if company_vars else ["build"]
    # dbt's unit tests check the models' logic on fixed inputs, not the data: they run where the SQL changes
    # (`make test`'s full `dbt build`, tests/dbt), not in each of a run's dbt steps (dbt's own advice for
    # production builds; 19 of them cost ~8 s a run).
    args += ["--exclude-resource-type", "unit_test"]
    yield from dbt.cli(args, context=context).stream()
