"""One small demo warehouse per session for the value-report tests: the demo company at scale 0.05, landed by the
connectors, a forecast origin written where the report quarter can use it, then `dbt build` of the seeds and models the reports read."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dbt"))
from lodestar_dbt_helpers import dbt_env, land_demo, run_dbt  # noqa: E402

from lodestar.warehouse import Warehouse  # noqa: E402

SCALE = 0.05


@dataclass
class ReportWarehouse:
    home: Path
    warehouse: Warehouse
    quarter: str
    partition_key: str


def _write_forecast(wh: Warehouse, origin: pd.Timestamp) -> None:
    """A forecast from one origin (13 weeks, every grain that ordered in the 13 weeks before it, y_hat = its mean
    weekly units there), in the shape ml.pipeline writes: the report's forecast-vs-actual path runs on real rows."""
    orders = wh.query("select account_manager_id, sku_id, channel, order_date, cast(quantity as double) q "
                      "from raw.erp_orders where coalesce(status, '') <> 'cancelled'")
    orders["order_date"] = pd.to_datetime(orders["order_date"])
    recent = orders[(orders["order_date"] > origin - pd.Timedelta(weeks=13)) & (orders["order_date"] <= origin + pd.Timedelta(days=6))]
    grain = recent.groupby(["account_manager_id", "sku_id", "channel"], as_index=False)["q"].sum()
    weeks = [origin + pd.Timedelta(weeks=h) for h in range(1, 14)]
    fc = grain.merge(pd.DataFrame({"week_start": weeks, "h": range(1, 14)}), how="cross")
    fc["y_hat"] = fc["q"] / 13.0
    fc = fc.drop(columns="q").assign(run_id="test-run", model_name="lodestar-forecast-lgbm",
                                     model_version="lodestar-forecast-lgbm/1", origin_week=origin.date(),
                                     product_line=None, cluster_id=None, region=None, lo80=None, hi80=None,
                                     lo95=None, hi95=None, reconciliation="bottom_up",
                                     created_at=pd.Timestamp("2026-01-01"))
    fc["week_start"] = fc["week_start"].dt.date
    wh.replace_table("raw", "forecast_predictions", fc)


@pytest.fixture(scope="session")
def report_warehouse(tmp_path_factory: pytest.TempPathFactory) -> ReportWarehouse:
    from lodestar.reports.value_report import latest_complete_quarter, quarter_start

    home = tmp_path_factory.mktemp("reports_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LODESTAR_HOME", str(home))
        mp.setenv("OMP_NUM_THREADS", "1")
        path = land_demo(home, scale=SCALE)
        wh = Warehouse(path)
        last_order = pd.Timestamp(wh.query("select max(order_date) d from raw.erp_orders")["d"].iloc[0])
        quarter = latest_complete_quarter((last_order + pd.Timedelta(days=1)).date())
        start = pd.Timestamp(quarter_start(quarter))
        _write_forecast(wh, start - pd.Timedelta(days=start.dayofweek + 7))  # the Monday of the week before
        # Only what the reports read (tests of the marts run in tests/dbt): a third of the full build's time.
        build = run_dbt(["build", "--select", "+int_key_customers", "+value_realization", "+customer_health",
                         "+stg_forecast__predictions", "+stg_erp__orders", "--exclude-resource-type", "test",
                         "--exclude-resource-type", "unit_test"], dbt_env(path),
                        target_path=str(home / "dbt_target"))
        assert build.returncode == 0, build.stdout[-4000:]
    return ReportWarehouse(home, wh, quarter, start.date().isoformat())
