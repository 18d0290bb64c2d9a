"""Business levers in the asset graph: a named scenario from launchpad run config, customer drop alerts,
distributor replenishment suggestions under the default scenario, and the monthly forecast sandbox; plus the
sensor that refreshes replenishment when new POS scans or distributor stock land.

Each asset calls one function of ml.scenario / ml.alerts / ml.sandbox_build; the tables land in raw.* for dbt.
"""


import functools

import dagster as dg
import pandas as pd
from pydantic import Field

from lodestar.settings import get_settings
from ml.alerts import ALERT_RELATIONS, STOCK_RELATION, alert_precision, build_alerts, build_replenishment
from ml.levers import LEVERS_FILE, LeverError, Levers, load_levers
from ml.sandbox import STATUS_SCORED, SandboxError
from ml.sandbox_build import INPUT_RELATIONS as SANDBOX_RELATIONS
from ml.sandbox_build import build_sandbox
from ml.scenario import INPUTS_RELATION, ScenarioError, load_stored_scenario, run_scenario, summarize
from orchestration.defs.forecast.assets import SANDBOX_KEY
from orchestration.lib.assets import md_table, raw_key, table_asset
from orchestration.lib.resources import WarehouseResource

OWNERS = ["team:sales-ops"]
GROUP = "levers"
DEFAULT_SCENARIO = "default"


_table_asset = functools.partial(table_asset, group=GROUP, owners=OWNERS, kinds={"duckdb", "python"})

SCENARIOS_KEY = raw_key("forecast_scenarios")
ALERTS_KEY = raw_key("alerts")
REPLENISHMENT_KEY = raw_key("replenishment")
DISTRIBUTOR_INVENTORY_KEY = raw_key("distributor_inventory")


def _relation(schema_table: tuple[str, str]) -> dg.AssetKey:
    return dg.AssetKey(list(schema_table))


# Exactly the relations each library entry point reads (the asset tests check it: tests/declared_reads.py).
SCENARIO_INPUTS = [_relation(INPUTS_RELATION)]
ALERT_INPUTS = [_relation(r) for r in ALERT_RELATIONS]
REPLENISHMENT_INPUTS = [SCENARIOS_KEY, _relation(STOCK_RELATION), *ALERT_INPUTS]
SANDBOX_INPUTS = [_relation(r) for r in SANDBOX_RELATIONS]


class ScenarioConfig(dg.Config):
    """A named scenario: lever overrides on top of levers.yaml (see its catalogue for names and ranges)."""

    name: str = Field(DEFAULT_SCENARIO, description="scenario name; its rows in raw.forecast_scenarios are replaced")
    levers: dict[str, float] = Field(default={}, description="lever -> value, e.g. {promo_half_life: 3}; "
                                                             "unset levers keep their levers.yaml value")


@_table_asset(
    SCENARIOS_KEY,
    deps=SCENARIO_INPUTS,
    description="A named scenario: the latest base forecast re-computed under business levers (levers.yaml plus "
    "the run config's overrides) without retraining, one row per grain week with y_base, y_scenario and the lever "
    "values. The main job writes scenario `default` (levers.yaml as is); the launchpad writes any other name.",
)
def forecast_scenarios(context: dg.AssetExecutionContext, config: ScenarioConfig,
                       warehouse: WarehouseResource) -> dg.MaterializeResult:
    name = config.name.strip()
    if not name:
        raise dg.Failure(description="scenario name is empty: set `name` in the run config")
    try:
        levers = Levers.with_overrides(config.levers, base=load_levers(LEVERS_FILE))
    except LeverError as exc:
        raise dg.Failure(description=f"scenario {name!r}: {exc}") from None
    wh = warehouse.get()
    try:
        result = run_scenario(wh, levers, name=name)
    except ScenarioError as exc:
        raise dg.Failure(description=f"scenario {name!r}: {exc}") from None
    total = summarize(result, by=()).iloc[0]
    changed = levers.changed()
    context.log.info(f"scenario {name!r} {changed or '(levers.yaml as is)'}: total {total.y_base:,.0f} -> "
                     f"{total.y_scenario:,.0f} ({total.delta_pct:+.2f}%)")
    by = summarize(result).round({"y_base": 1, "y_scenario": 1, "delta": 1, "delta_pct": 2})
    return dg.MaterializeResult(metadata={
        "dagster/row_count": wh.row_count("raw", "forecast_scenarios"),
        "scenario": name,
        "scenario_rows": len(result),
        "changed_levers": dg.MetadataValue.json(changed),
        "total_base": round(float(total.y_base), 2),
        "total_scenario": round(float(total.y_scenario), 2),
        "total_change_pct": round(float(total.delta_pct), 3),
        "inputs_read": dg.MetadataValue.json(result.attrs.get("drivers", [])),
        "change_by_region_and_product_line": md_table(by),
    })


@_table_asset(
    ALERTS_KEY,
    deps=ALERT_INPUTS,
    description="Customer drop alerts: next-month forecast >= 40% below the 13-week run-rate, with the main driver "
    "(model trend, a discontinued SKU in ERP, a production-line upgrade in CRM notes), three substitute customers "
    "and a solution pack (SKUs and quantities to offer them).",
)
def alerts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    found = build_alerts(warehouse.get())
    context.log.info(f"{len(found)} drop alerts")
    preview = found.sort_values("drop_pct", ascending=False).head(10) if len(found) else found
    preview = preview[["customer_id", "drop_pct", "main_driver", "reason", "substitutes"]].rename(
        columns={"drop_pct": "drop %"}) if len(preview) else preview
    metadata = {
        "dagster/row_count": len(found),
        "alerts": len(found),
        "by_main_driver": dg.MetadataValue.json(found["main_driver"].value_counts().to_dict() if len(found) else {}),
        "preview": md_table(preview, "(no customer drops >= 40% next month)"),
    }
    injected = get_settings().truth_dir / "injected_events.csv"
    if injected.exists():  # the demo company planted drop events: score the alerts against them
        score = alert_precision(found, pd.read_csv(injected, dtype={"customer_id": str}))
        context.log.info(f"alerts vs the demo's injected drop events: {score}")
        metadata["vs_injected_events"] = dg.MetadataValue.json({k: (None if pd.isna(v) else round(float(v), 4))
                                                               for k, v in score.items()})
    return dg.MaterializeResult(metadata=metadata)


@_table_asset(
    REPLENISHMENT_KEY,
    deps=REPLENISHMENT_INPUTS,
    automation_condition=dg.AutomationCondition.eager(),
    description="Replenishment suggestions per distributor x SKU from the latest distributor stock snapshot: weekly "
    "demand = 13-week order rate x the `default` scenario's change of its grain; flagged when on hand + in transit "
    "< demand over the lead time + safety stock, suggested quantity = the shortfall, per account manager.",
)
def replenishment(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    wh = warehouse.get()
    scenario = load_stored_scenario(wh, DEFAULT_SCENARIO)
    if scenario is None:
        context.log.warning(f"no `{DEFAULT_SCENARIO}` scenario in raw.forecast_scenarios: run-rate demand only")
    out = build_replenishment(wh, scenario=scenario, write=True, scenario_name=DEFAULT_SCENARIO)
    flagged = out[out["flag"]]
    preview = flagged.head(10)[["holder_id", "sku_id", "account_manager_id", "on_hand", "in_transit", "cover_weeks",
                                "lead_time_weeks", "safety_stock", "suggested_qty"]].round(2)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(out),
        "flagged": len(flagged),
        "suggested_units": int(flagged["suggested_qty"].sum()),
        "snapshot_date": str(out["snapshot_date"].iloc[0]) if len(out) else "",
        "scenario": DEFAULT_SCENARIO if scenario is not None else "(none: run-rate)",
        "by_account_manager": dg.MetadataValue.json(
            flagged.groupby("account_manager_id")["suggested_qty"].sum().astype(int).to_dict()),
        "preview": md_table(preview, "(nothing to replenish)"),
    })


@_table_asset(
    SANDBOX_KEY,
    deps=SANDBOX_INPUTS,
    description="Forecast sandbox (A/B): each month the top 3 customers by strategic value have their SKU series "
    "split between the traditional forecast and the model (stable sha256 arms); months with a forecast made before "
    "them and complete actuals are scored (WAPE, bias per arm) and recalibrate the price elasticity, carried month "
    "to month; the next month shows forecasts only (actuals not yet in).",
)
def forecast_sandbox(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    try:
        built = build_sandbox(warehouse.get())
    except SandboxError as exc:
        raise dg.Failure(description=str(exc)) from None
    rows, plan = built.rows, built.plan
    summary = built.summary()
    scored = plan[plan["status"] == STATUS_SCORED]
    (context.log.info if len(scored) else context.log.warning)(summary)
    arms = (rows[rows["status"] == STATUS_SCORED].groupby(["month", "arm"], as_index=False)
            .agg(customers=("customer_id", "nunique"), forecast=("forecast_total", "sum"),
                 actual=("actual_total", "sum"), mean_wape=("wape", "mean")))
    calib = rows.drop_duplicates("month")[["month", "status", "calibrated_lever", "lever_value_before",
                                           "calibrated_value", "calibration_error_before", "calibration_error_after",
                                           "n_obs"]]
    for f in (arms, calib):
        f["month"] = pd.to_datetime(f["month"]).dt.strftime("%Y-%m")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(rows),
        "status": summary,
        "months_scored": dg.MetadataValue.json([f"{m:%Y-%m}" for m in scored["month"]]),
        "month_awaiting_actuals": next((f"{m:%Y-%m}" for m, s in zip(plan["month"], plan["status"], strict=True)
                                        if s != STATUS_SCORED), "none"),
        "actuals_through_week": f"{built.actuals_through:%Y-%m-%d}" if built.actuals_through is not None else "none",
        "sandbox_customers": dg.MetadataValue.json(built.customers),
        "errors_by_arm": md_table(arms.round(4), "(actuals not yet in for any sandboxed month)"),
        "calibrated_values": md_table(calib.round(4)),
    })


# --- replenishment on new stock data: declarative automation ------------------------------------------------
# raw/replenishment and its staging model and mart are `AutomationCondition.eager()`: when a new distributor stock
# snapshot (or any other input) lands, the sensor below requests them, once, after every input has updated.
replenishment_job = dg.define_asset_job(
    "replenishment",
    selection=dg.AssetSelection.assets(REPLENISHMENT_KEY).downstream(),
    description="Recompute the replenishment suggestions and their dbt mart.",
)

replenishment_automation = dg.AutomationConditionSensorDefinition(
    "replenishment_on_new_stock_data",
    # raw/replenishment reads dbt's newest-stock model: the two models between it and the landed stock go too
    target=dg.AssetSelection.assets(dg.AssetKey(["staging", "stg_distributor__inventory"]), _relation(STOCK_RELATION))
    | dg.AssetSelection.assets(REPLENISHMENT_KEY).downstream(),
    default_status=dg.DefaultSensorStatus.STOPPED,
    minimum_interval_seconds=60,
    description="Declarative automation of raw/replenishment and marts/replenishment_suggestions: rebuilt when new "
    "distributor stock (or another of their inputs) lands.",
)


defs = dg.Definitions(
    assets=[forecast_scenarios, alerts, replenishment, forecast_sandbox],
    jobs=[replenishment_job],
    sensors=[replenishment_automation],
)
