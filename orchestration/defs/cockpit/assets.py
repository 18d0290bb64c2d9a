"""The cockpit in the asset graph: the demo users it signs in (raw/cockpit_users), and the sensor that publishes
a fresh read-only warehouse snapshot for it after every successful run (lodestar.readpath).

Each calls one library function: lodestar.cockpit.users.create_demo_users, lodestar.readpath.publish_snapshot.
"""

import dagster as dg

from lodestar.cockpit.users import create_demo_users
from lodestar.readpath import publish_snapshot
from lodestar.settings import get_settings
from orchestration.lib.assets import raw_key, table_asset
from orchestration.lib.resources import WarehouseResource

USERS_KEY = raw_key("cockpit_users")


@table_asset(
    USERS_KEY,
    group="cockpit",
    owners=["team:sales-ops"],
    kinds={"duckdb", "python"},
    deps=[dg.AssetKey(["marts", "customer_360"]), dg.AssetKey(["marts", "csg_health"]),
          dg.AssetKey(["staging", "stg_crm__account_managers"]), dg.AssetKey(["staging", "stg_crm__csg_members"])],
    description="The cockpit's demo users: one sales director, every account manager, one member per customer "
    "success group, with scrypt password hashes (the passwords are in <LODESTAR_HOME>/cockpit/demo-users.json, "
    "mode 0600, and in `lodestar demo`'s summary; $LODESTAR_COCKPIT_DEMO_PASSWORD sets one for all).",
)
def cockpit_users(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    users = create_demo_users(warehouse.get(), get_settings().home)
    by_role = users["role"].value_counts().to_dict()
    context.log.info(f"{len(users)} cockpit users: {by_role}")
    return dg.MaterializeResult(metadata={"dagster/row_count": len(users), "by_role": dg.MetadataValue.json(by_role)})


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="publish_cockpit_snapshot",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="After every successful run, copy the warehouse to a new read-only snapshot and point the cockpit "
    "at it (the cockpit never opens the pipeline's DuckDB file, so it never blocks a run).",
)
def publish_cockpit_snapshot(context: dg.RunStatusSensorContext):
    snap = publish_snapshot(get_settings().warehouse_path)
    context.log.info(f"cockpit snapshot {snap.snapshot_id} published after run {context.dagster_run.run_id}")


defs = dg.Definitions(assets=[cockpit_users], sensors=[publish_cockpit_snapshot])
