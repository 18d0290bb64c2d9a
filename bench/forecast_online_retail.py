"""Real intermittent panel: UCI Online Retail as weekly demand per stock code, the last 8 full weeks held out.

Reads raw.online_retail_transactions (landed through the online_retail connector contract first when absent).
Demand = units of invoice lines that are not cancellations (InvoiceNo 'C...'), with a positive quantity and
price; the partial first and last weeks of the shared subset are dropped. Stock codes sold in fewer than
``--min-weeks`` history weeks are left out. Every stock code is one grain series under one account manager,
one channel and one region (the hierarchy is total -> product line (stock-code prefix) -> stock code).
Compared: naive (the last week; no year of history, so seasonal naive falls back to it), a 4-week moving
average, the intermittent family (CrostonSBA, TSB, ADIDA, IMAPA) and the LightGBM champion, on grain MASE.

    OMP_NUM_THREADS=1 .venv/bin/python bench/forecast_online_retail.py
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

import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.contracts import load_source_contract  # noqa: E402
from connectors.files import land_file_source  # noqa: E402
from lodestar.settings import PROJECT_ROOT, get_settings  # noqa: E402
from lodestar.warehouse import Warehouse  # noqa: E402
from ml.backtest import backtest  # noqa: E402
from ml.config import ForecastConfig, LGBMParams  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
HORIZON = 8
MODELS = ["seasonal_naive", "moving_average", "croston_sba", "tsb", "adida", "imapa", "lgbm"]


def load_online_retail(warehouse: Warehouse, min_weeks: int) -> pd.DataFrame:
    if not warehouse.table_exists("raw", "online_retail_transactions"):
        contract = load_source_contract(PROJECT_ROOT / "connectors" / "contracts" / "online_retail.yaml")
        res = land_file_source(contract, warehouse, feeds=["transactions"])
        for name, fr in res.feeds.items():
            print(f"landed {fr.table}: {fr.rows_accepted} rows ({fr.rows_rejected} rejected) [{name}]")
    df = warehouse.query(
        """select stock_code, date_trunc('week', invoice_date)::date as week_start, sum(quantity) as y
           from raw.online_retail_transactions
           where invoice_no not like 'C%' and quantity > 0 and unit_price > 0
           group by 1, 2"""
    )
    df["week_start"] = pd.to_datetime(df["week_start"])
    weeks = sorted(df["week_start"].unique())
    df = df[df["week_start"].between(weeks[1], weeks[-2])]  # the shared subset starts on a Wednesday, ends on a Tuesday
    hist_end = sorted(df["week_start"].unique())[-HORIZON - 1]
    active = df[df["week_start"] <= hist_end].groupby("stock_code")["week_start"].nunique()
    df = df[df["stock_code"].isin(active[active >= min_weeks].index)]
    code = df["stock_code"].astype(str)
    return pd.DataFrame({
        "account_manager_id": "ONLINE", "sku_id": code, "channel": "online", "week_start": df["week_start"],
        "y": df["y"].astype(float), "product_line": "P" + code.str[:2], "cluster_id": "ALL", "region": "UK_online",
    }).sort_values(["sku_id", "week_start"], ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--min-weeks", type=int, default=4, help="history weeks with a sale a stock code needs")
    ap.add_argument("--objective", default="tweedie")
    ap.add_argument("--target-mode", default="residual", choices=["residual", "ratio"])
    ap.add_argument("--models", nargs="*", default=MODELS)
    ap.add_argument("--out", default="forecast_online_retail.json")
    args = ap.parse_args()
    warehouse = Warehouse(get_settings().warehouse_path)
    df = load_online_retail(warehouse, args.min_weeks)
    weeks = sorted(df["week_start"].unique())
    cutoff = pd.Timestamp(weeks[-HORIZON - 1])
    config = ForecastConfig(
        horizon=HORIZON, lags=[1, 2, 3, 4, 8], windows=[4, 8], min_history=4, calibration_origins=1,
        calibration_step=2, chinese_calendar=False, origin_stride=1, target_mode=args.target_mode,
        lgbm=LGBMParams(objective=args.objective, n_estimators=150, learning_rate=0.05, num_leaves=15,
                        min_child_samples=50, num_threads=1),
    )
    t0, c0 = time.perf_counter(), time.process_time()
    res = backtest(df, args.models, [cutoff], HORIZON, config)
    grain = res.metrics[res.metrics["level"] == "grain"].set_index("model")
    out = {
        "data": "raw.online_retail_transactions (UCI Online Retail, shared subset to 2011-05-31)",
        "cutoff": str(cutoff.date()), "holdout_weeks": [str(pd.Timestamp(w).date()) for w in weeks[-HORIZON:]],
        "history_weeks": len(weeks) - HORIZON, "n_series_grain": int(grain["n_series"].iloc[0]),
        "mase_grain": grain["mase"].to_dict(), "wape_grain": grain["wape"].to_dict(),
        "champion_beats_all_on_grain_mase": bool(grain["mase"].idxmin() == "lgbm"),
        "by_level": {k: res.metrics.pivot_table(index="level", columns="model", values=k).round(4).to_dict(orient="index")
                     for k in ("wape", "mase")},
        "fit_seconds_incl_calibration": res.fit_seconds, "fit_cpu_seconds_incl_calibration": res.fit_cpu_seconds,
        "total_seconds": time.perf_counter() - t0, "total_cpu_seconds": time.process_time() - c0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "lgbm_objective": args.objective, "target_mode": args.target_mode,
        "config": config.model_dump(), "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / args.out).write_text(json.dumps(out, indent=2, default=str))
    print(json.dumps({k: out[k] for k in ("n_series_grain", "mase_grain", "wape_grain", "champion_beats_all_on_grain_mase",
                                          "fit_cpu_seconds_incl_calibration")}, indent=2, default=str))


if __name__ == "__main__":
    main()
