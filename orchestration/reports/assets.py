"""Quarterly value reports (季度价值报告) as a Dagster asset partitioned by quarter: one PDF + HTML per key customer,
listed in raw.value_reports (rendering in lodestar.reports.value_report)."""

from datetime import date

import dagster as dg

from lodestar.company import company_calendar
from lodestar.reports.value_report import default_reports_root, quarter_label, write_value_reports
from lodestar.settings import get_settings
from orchestration.lib.assets import raw_key, table_asset
from orchestration.lib.resources import WarehouseResource

GROUP = "reports"
OWNERS = ["team:sales-operations"]
VALUE_REPORTS_KEY = raw_key("value_reports")

# One partition per quarter of the company's fiscal year (lodestar.yaml calendar.fiscal_year_start_month; calendar
# quarters by default), keyed by its first day (2026-07-01 = 2026Q3). The range comes from settings, like the
# forecast's weeks: from LODESTAR_FORECAST_FIRST_WEEK to the company's as-of date (LODESTAR_AS_OF or the data's), so
# the last partition is the last quarter that ended before the data does.
QUARTER_PARTITIONS = dg.TimeWindowPartitionsDefinition(
    cron_schedule=f"0 0 1 {','.join(str(m) for m in company_calendar().quarter_months())} *",
    fmt="%Y-%m-%d",
    start=get_settings().forecast_first_week.isoformat(),
    end=get_settings().as_of.isoformat(),
)

REPORT_INPUTS = [dg.AssetKey(["intermediate", "int_key_customers"]), dg.AssetKey(["marts", "customer_360"]),
                 dg.AssetKey(["marts", "value_realization"]), dg.AssetKey(["marts", "customer_health"]),
                 dg.AssetKey(["staging", "stg_erp__orders"]), dg.AssetKey(["staging", "stg_forecast__predictions"])]


@table_asset(
    VALUE_REPORTS_KEY,
    group=GROUP,
    owners=OWNERS,
    kinds={"duckdb", "pdf", "html"},
    partitions_def=QUARTER_PARTITIONS,
    deps=REPORT_INPUTS,
    description="Quarterly value report per key customer (intermediate.int_key_customers): KPI change since the "
    "engagement began, health trend, orders, forecast vs actual; <LODESTAR_HOME>/reports/value/<quarter>/"
    "<customer_id>.pdf and .html, listed in raw.value_reports (a re-run of a quarter replaces its rows).",
)
def value_reports(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    quarter = quarter_label(date.fromisoformat(context.partition_key))
    root = default_reports_root()
    rows = write_value_reports(warehouse.get(), quarter, root)
    context.log.info(f"{len(rows)} value reports for {quarter} in {root / quarter}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(rows),
        "quarter": quarter,
        "folder": dg.MetadataValue.path(str(root / quarter)),
        "customers": dg.MetadataValue.json(rows["customer_id"].tolist()),
    })


# The main job's assets are weekly-partitioned (the forecast) or unpartitioned; one job cannot hold a second
# partitioning, so the quarterly reports (group `reports`, left out of `main` in defs/jobs.py) run in their own job,
# which `lodestar demo` runs after the main job.
value_reports_job = dg.define_asset_job(
    "value_reports",
    selection=dg.AssetSelection.assets(VALUE_REPORTS_KEY) | dg.AssetSelection.assets(VALUE_REPORTS_KEY).downstream(),
    partitions_def=QUARTER_PARTITIONS,
    description="Write the quarter's value reports, then rebuild what reads them (the value-tracking figure of "
    "marts.efficiency_benchmark).",
)

defs = dg.Definitions(assets=[value_reports], jobs=[value_reports_job])
