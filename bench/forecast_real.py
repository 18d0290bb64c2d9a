"""Real-data benchmark of the forecasting library on Walmart store x department x week sales.

Reads raw.walmart_dept_weekly (landed by the real-data connector, landed here first when absent).
Maps store -> account manager, department -> SKU, one channel; store type -> region, type x size
tercile -> cluster, department decade -> product line. Tunes nothing on the holdout: the last 13 weeks
of the shared data are scored once, after settings were chosen on earlier cutoffs.

    OMP_NUM_THREADS=1 .venv/bin/python bench/forecast_real.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import psutil  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.contracts import load_source_contract  # noqa: E402
from connectors.files import land_file_source  # noqa: E402
from lodestar.settings import PROJECT_ROOT, get_settings  # noqa: E402
from lodestar.warehouse import Warehouse  # noqa: E402
from ml.backtest import backtest  # noqa: E402
from ml.config import ForecastConfig, LGBMParams  # noqa: E402
from ml.schema import TIME_COL  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CONTRACTS_DIR = PROJECT_ROOT / "connectors" / "contracts"
HORIZON = 13


def load_walmart(warehouse: Warehouse) -> pd.DataFrame:
    """raw.walmart_dept_weekly + raw.walmart_stores (landed by the real-data connector) -> the ml input contract.

    Lands the shared Walmart files through the connector first (connectors.files.land_file_source with the
    walmart contract) when the raw tables are absent, so the bench reads what the asset graph reads.
    Weeks end on Friday in the source; week_start is the Monday of that week. is_holiday (US holiday weeks,
    known in advance) becomes the future-known exogenous column ``holiday_flag``. Markdowns are left out:
    they start in Nov 2011, inside the holdout, so no model could learn from them.
    """
    if not (warehouse.table_exists("raw", "walmart_dept_weekly") and warehouse.table_exists("raw", "walmart_stores")):
        contract = load_source_contract(CONTRACTS_DIR / "walmart.yaml")
        result = land_file_source(contract, warehouse, feeds=["stores", "dept_weekly"])
        for name, fr in result.feeds.items():
            print(f"landed raw.{fr.table.split('.')[-1]}: {fr.rows_accepted} rows ({fr.rows_rejected} rejected) [{name}]")
    df = warehouse.query(
        """with latest as (
               -- the connector keeps every load; the latest load of a key wins, as in staging
               select *, row_number() over (partition by store, dept, week_date order by _loaded_at desc) as rn
               from raw.walmart_dept_weekly)
           select l.store, l.dept, l.week_date, l.weekly_sales, l.is_holiday, s.store_type, s.size_sqft
           from latest l
           left join (select * from (select *, row_number() over (partition by store order by _loaded_at desc) as rn
                                     from raw.walmart_stores) where rn = 1) s on s.store = l.store
           where l.rn = 1"""
    )
    if df.empty:
        raise ValueError(f"raw.walmart_dept_weekly in {warehouse.path} is empty")
    if df["store_type"].isna().any():
        bad = df.loc[df["store_type"].isna(), "store"].iloc[0]
        raise ValueError(f"raw.walmart_dept_weekly: store {bad} is missing from raw.walmart_stores")
    stores = df.drop_duplicates("store")[["store", "store_type", "size_sqft"]]
    # Size tercile within type (rank-based so a type with one store still gets a band).
    band = np.ceil(stores.groupby("store_type")["size_sqft"].rank(pct=True) * 3).astype(int).map({1: "S", 2: "M", 3: "L"})
    stores = stores.assign(region="type_" + stores["store_type"], cluster_id="type_" + stores["store_type"] + "_" + band.astype(str))
    df = df.merge(stores[["store", "region", "cluster_id"]], on="store", how="left", validate="many_to_one")
    week_date = pd.to_datetime(df["week_date"])
    return pd.DataFrame(
        {
            "account_manager_id": "S" + df["store"].astype(int).astype(str).str.zfill(2),
            "sku_id": "D" + df["dept"].astype(int).astype(str).str.zfill(2),
            "channel": "store",
            "week_start": week_date - pd.to_timedelta(week_date.dt.dayofweek, unit="D"),
            "y": df["weekly_sales"].astype(float),
            "product_line": "PL" + (df["dept"].astype(int) // 10).astype(str),
            "cluster_id": df["cluster_id"],
            "region": df["region"],
            "holiday_flag": df["is_holiday"].astype(bool).astype(float),
        }
    ).sort_values(["account_manager_id", "sku_id", "week_start"], ignore_index=True)


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="subset of stores, for a smoke run")
    ap.add_argument("--tune", action="store_true", help="score earlier cutoffs only (no holdout)")
    ap.add_argument("--tune-cutoffs", type=int, default=4, help="earlier 13-week origins scored with --tune")
    ap.add_argument("--tune-step", type=int, default=4, help="weeks between the earlier origins")
    # Chosen on the tuning cutoff 2011-06-27 (grain WAPE / process CPU of the LightGBM fit incl. calibration):
    # l1 0.0906 / 28.8 s, huber(alpha 0.9) 0.0957 / 9.1 s, l2 0.1013 / 8.8 s, fair 0.0927 / 9.8 s,
    # tweedie 0.0925 / 11.4 s, huber(alpha 0.3) 0.0899 / 10.2 s, huber(alpha 0.1) 0.0890 / 11.3 s.
    ap.add_argument("--objective", default="huber", help="LightGBM objective (l1 = the engine before issue 11)")
    ap.add_argument("--alpha", type=float, default=0.1, help="huber delta on the scale-free target")
    ap.add_argument("--models", nargs="*", default=["seasonal_naive", "traditional", "ets", "lgbm"])
    args = ap.parse_args()
    settings = get_settings()
    data_dir = settings.shared_data_dir / "walmart_dept_weekly"
    warehouse = Warehouse(settings.warehouse_path)
    t0 = time.perf_counter()
    df = load_walmart(warehouse)
    if args.quick:
        df = df[df["account_manager_id"] <= "S05"]
    load_s = time.perf_counter() - t0
    weeks = np.sort(df[TIME_COL].unique())
    holdout_cutoff = pd.Timestamp(weeks[-HORIZON - 1])
    # Earlier origins, the latest a full horizon before the holdout so no holdout week is ever scored.
    tune_cutoffs = sorted(holdout_cutoff - pd.Timedelta(weeks=HORIZON + args.tune_step * k) for k in range(args.tune_cutoffs))
    config = ForecastConfig(
        horizon=HORIZON,
        calibration_origins=1,
        extra_future_exog=["holiday_flag"],
        chinese_calendar=False,  # US retail data: Chinese holidays would be noise here
        lgbm=LGBMParams(objective=args.objective, alpha=args.alpha, n_estimators=250, learning_rate=0.08, num_leaves=31, min_child_samples=100,
                        num_threads=1),
        origin_stride=3,
        min_history=40,
    )
    models = args.models
    cutoffs = tune_cutoffs if args.tune else [holdout_cutoff]
    proc = psutil.Process()
    t1, c1 = time.perf_counter(), time.process_time()
    res = backtest(df, models, cutoffs, HORIZON, config)
    total_s, total_cpu = time.perf_counter() - t1, time.process_time() - c1
    grain = res.metrics[res.metrics["level"] == "grain"].groupby("model").mean(numeric_only=True)
    n_series = int(grain["n_series"].iloc[0])
    wape = {m: float(grain.loc[m, "wape"]) for m in models}
    out = {
        "data": f"raw.walmart_dept_weekly in {warehouse.path} (landed from {data_dir})",
        "mode": "tune" if args.tune else "holdout",
        "cutoffs": [str(pd.Timestamp(c).date()) for c in cutoffs],
        "holdout_weeks": [str(pd.Timestamp(w).date()) for w in weeks[-HORIZON:]] if not args.tune else None,
        "n_series_grain": n_series,
        "n_nodes_all_levels": int(res.metrics[res.metrics["model"] == "lgbm"]["n_series"].sum()),
        "wape_grain": wape,
        "mase_grain": {m: float(grain.loc[m, "mase"]) for m in models},
        "ratio_champion_to_seasonal_naive": wape["lgbm"] / wape["seasonal_naive"],
        "ratio_per_cutoff": {str(c.date()): float(g.set_index("model").loc["lgbm", "wape"] / g.set_index("model").loc["seasonal_naive", "wape"])
                             for c, g in res.metrics[res.metrics["level"] == "grain"].groupby("cutoff")},
        "lgbm_objective": args.objective,
        "champion_beats_statistical": wape["lgbm"] < wape["ets"],
        "metrics": res.metrics.assign(cutoff=res.metrics["cutoff"].astype(str)).to_dict(orient="records"),
        "reconciliation_chosen": res.reconcilers,
        "fit_seconds_incl_calibration": res.fit_seconds,
        "predict_seconds": res.predict_seconds,
        "fit_cpu_seconds_incl_calibration": res.fit_cpu_seconds,
        # Forecast throughput: grain series forecast per second (reconciled, every level, 13 weeks, intervals),
        # predict only and fit + predict, summed over cutoffs.
        "throughput_series_per_second": {
            m: {
                "predict": n_series * len(cutoffs) / res.predict_seconds[m] if res.predict_seconds.get(m) else None,
                "fit_and_predict": n_series * len(cutoffs) / (res.fit_seconds[m] + res.predict_seconds[m]),
            }
            for m in models
        },
        "total_seconds": total_s,
        "total_cpu_seconds": total_cpu,  # this process' CPU: comparable on a shared box where wall time is not
        "load_seconds": load_s,
        "peak_rss_mb": peak_rss_mb(),
        "rss_now_mb": proc.memory_info().rss / 2**20,
        "config": config.model_dump(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "omp_threads": os.environ.get("OMP_NUM_THREADS")},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "forecast_real" + ("_tune" if args.tune else "") + ("_quick" if args.quick else "") + ".json"
    (RESULTS / name).write_text(json.dumps(out, indent=2, default=str))
    print(json.dumps({k: out[k] for k in ("mode", "cutoffs", "n_series_grain", "wape_grain", "ratio_champion_to_seasonal_naive", "ratio_per_cutoff", "fit_seconds_incl_calibration", "total_cpu_seconds", "throughput_series_per_second", "peak_rss_mb")}, indent=2, default=str))


if __name__ == "__main__":
    main()
