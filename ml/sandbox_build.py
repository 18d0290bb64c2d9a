"""The forecast sandbox over the warehouse: read the stored forecasts, orders, picks and prices (dbt models), run
every month :func:`ml.sandbox.plan_sandbox_months` allows with the A/B logic of :mod:`ml.sandbox`, and replace
raw.forecast_sandbox."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ml.sandbox import (
    SANDBOX_COLUMNS,
    STATUS_SCORED,
    SandboxError,
    month_weeks,
    pick_sandbox,
    plan_sandbox_months,
    price_rel_by_week,
    run_sandbox_month,
    traditional_forecast,
)
from ml.schema import WEEKDAYS

SANDBOX_TABLE = ("raw", "forecast_sandbox")
TABLE_COLUMNS = [*SANDBOX_COLUMNS, "origin_week", "status", "created_at"]


@dataclass
class SandboxBuild:
    """What :func:`build_sandbox` wrote, and why: the months run, the customers and the actuals horizon."""

    rows: pd.DataFrame
    plan: pd.DataFrame
    customers: list[str]
    actuals_through: pd.Timestamp | None
    origins: list[pd.Timestamp]

    def summary(self) -> str:
        if self.plan.empty:
            return (f"no month has a forecast made before it starts (forecast origins: "
                    f"{', '.join(f'{o:%Y-%m-%d}' for o in self.origins) or 'none'}); nothing can be sandboxed yet")
        parts = []
        for r in self.plan.itertuples():
            what = "scored" if r.status == STATUS_SCORED else "actuals not yet in"
            parts.append(f"{r.month:%Y-%m} {what} (forecast origin {r.origin_week:%Y-%m-%d})")
        scored = (self.plan["status"] == STATUS_SCORED).sum()
        tail = "" if scored else ("; no month can be scored yet: months need a forecast made before they start "
                                  "and complete actuals (backfill earlier forecast partitions to score past months)")
        return "; ".join(parts) + tail


def _empty_table() -> pd.DataFrame:
    types = {"month": "datetime64[ns]", "customer_id": object, "arm": object, "series_count": "int64",
             "calibrated_lever": object, "origin_week": "datetime64[ns]", "status": object,
             "created_at": "datetime64[ns]", "n_obs": "int64"}
    return pd.DataFrame({c: pd.Series(dtype=types.get(c, float)) for c in TABLE_COLUMNS})


# The dbt relations build_sandbox reads, with what must run when one is missing.
INPUT_RELATIONS = {("intermediate", "int_forecasts"): "build the dbt models first",
                   ("marts", "customer_matrix"): "build the dbt marts first",
                   ("intermediate", "int_order_lines"): "build the dbt models first",
                   ("staging", "stg_erp__price_list"): "build the dbt models first"}


def build_sandbox(warehouse, n: int = 3, lever: str = "price_elasticity", current_value: float | None = None,
                  write: bool = True) -> SandboxBuild:
    """Run the sandbox over every month the stored forecasts allow; with ``write`` replace raw.forecast_sandbox.

    Reads dbt's intermediate.int_forecasts (each origin week's latest run), marts.customer_matrix (the picks: the
    current top ``n`` by strategic value), intermediate.int_order_lines (weekly customer x SKU actuals and the
    traditional arm's history) and staging.stg_erp__price_list (price_rel, the driver of the calibrated lever). The model
    arm is the grain forecast split to customers by their 13-week order share before the origin
    (:func:`ml.customer_split.split_grain_forecast`); the traditional arm uses the same origin. Months run in
    order and the calibrated lever value is carried from one month to the next (starting at ``current_value``,
    default the lever's default). See :func:`plan_sandbox_months` for which months run and are scored.
    """
    from ml.customer_split import split_grain_forecast

    for (schema, table), hint in INPUT_RELATIONS.items():
        if not warehouse.table_exists(schema, table):
            raise SandboxError(f"{schema}.{table} does not exist yet: {hint}")
    fc = warehouse.query("select origin_week, account_manager_id, sku_id, channel, week_start, y_hat "
                         "from intermediate.int_forecasts")
    fc["origin_week"] = pd.to_datetime(fc["origin_week"])
    fc["week_start"] = pd.to_datetime(fc["week_start"])
    orders = warehouse.query("select customer_id, account_manager_id, sku_id, channel, order_date, quantity "
                             "from intermediate.int_order_lines")
    orders["order_date"] = pd.to_datetime(orders["order_date"])
    matrix = warehouse.query("select customer_id, strategic_value_score from marts.customer_matrix")
    prices = warehouse.query("select sku_id, effective_date, list_price from staging.stg_erp__price_list")
    prices = prices if len(prices) else None

    # Actuals in the forecast's own weeks (the company's week start, read off the stored forecasts; Monday without)
    weekday = int(fc["week_start"].iloc[0].dayofweek) if len(fc) else 0
    days_in = (orders["order_date"].dt.dayofweek - weekday) % 7
    weekly = orders.assign(week_start=orders["order_date"] - pd.to_timedelta(days_in, unit="D"))
    weekly = weekly.groupby(["customer_id", "sku_id", "week_start"], as_index=False)["quantity"].sum()
    origins = sorted(fc["origin_week"].unique())
    actuals_through = None
    if len(orders):
        # Complete weeks: up to the latest forecast origin (a partition is a complete week by definition) and
        # every week before the one holding the last order.
        last_week = weekly["week_start"].max() - pd.Timedelta(days=7)
        actuals_through = max([last_week, *origins]) if origins else last_week
    plan = plan_sandbox_months(fc[["origin_week", "week_start"]].drop_duplicates(), actuals_through)
    picks = pick_sandbox(matrix, plan["month"].iloc[0] if len(plan) else pd.Timestamp.today(), n)
    customers = [str(c) for c in picks["customer_id"]]
    weekly = weekly[weekly["customer_id"].astype(str).isin(customers)]

    frames, carry = [], current_value
    for r in plan.itertuples():
        weeks = month_weeks(r.month, WEEKDAYS[weekday])
        f = fc[(fc["origin_week"] == r.origin_week) & fc["week_start"].isin(weeks)]
        split = split_grain_forecast(f, orders, as_of=r.origin_week + pd.Timedelta(days=6))
        split = split[split["customer_id"].astype(str).isin(customers)]
        model = split.groupby(["customer_id", "sku_id", "week_start"], as_index=False)["y_hat"].sum()
        drivers = None
        if prices is not None and len(model):
            rel = price_rel_by_week(prices, model, r.origin_week + pd.Timedelta(days=7))
            drivers = model[["customer_id", "sku_id", "week_start"]].astype({"sku_id": str}).merge(
                rel, on=["sku_id", "week_start"], how="left")
            drivers["price_rel"] = drivers["price_rel"].fillna(1.0)
        trad = traditional_forecast(weekly, r.month, origin=r.origin_week)
        actuals = None
        if r.status == STATUS_SCORED:
            actuals = weekly[weekly["week_start"].isin(weeks)].rename(columns={"quantity": "y"})
        out = run_sandbox_month(matrix, r.month, model, actuals, traditional_df=trad, drivers_df=drivers, n=n,
                                lever=lever, current_value=carry)
        if len(out):
            carry = float(out["calibrated_value"].iloc[0])
        frames.append(out.assign(origin_week=r.origin_week, status=r.status))
    rows = pd.concat(frames, ignore_index=True) if frames else _empty_table()
    rows["created_at"] = pd.Timestamp.now(tz="UTC").tz_localize(None)
    rows = rows[TABLE_COLUMNS]
    if write:
        warehouse.replace_table(*SANDBOX_TABLE, rows)
    return SandboxBuild(rows, plan, customers, actuals_through, [pd.Timestamp(o) for o in origins])
