"""Real intermittent panel: UCI Online Retail as weekly demand per stock code, the last 8 full weeks held out.

Reads raw.online_retail_transactions (landed through the online_retail connector contract first when absent).
Demand = units of invoice lines that are not cancellations (InvoiceNo 'C...'), with a positive quantity and
price; the partial first and last weeks of the shared subset are dropped. Stock codes sold in fewer than
``--min-weeks`` history weeks are left out. Every stock code is one grain series under one account manager,
one channel and one region (the hierarchy is total -> product line (stock-code prefix) -> stock code).
Compared: naive (the last week; no year of history, so seasonal naive falls back to it), a 4-week moving
average, the intermittent family (CrostonSBA, TSB, ADIDA, IMAPA) and LightGBM with each ``--objectives`` value, on
grain MASE. The champion is the candidate of any family with the lowest mean grain MASE on the earlier
``--selection-cutoffs``; the held-out 8 weeks score it once (``champion_beats_all_on_grain_mase``).

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
# Earlier origins the champion is chosen on: their 8 scored weeks end by the holdout cutoff (2011-03-28).
SELECTION_CUTOFFS = ["2011-01-17", "2011-01-24", "2011-01-31"]


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


def _run(df: pd.DataFrame, models: list[str], cutoffs: list[pd.Timestamp], config: ForecastConfig,
         objectives: list[str]) -> tuple[pd.DataFrame, dict[str, float]]:
    """Grain/level metrics per candidate x cutoff; LightGBM once per objective, named ``lgbm_<objective>``."""
    base = [m for m in models if m != "lgbm"]
    frames, cpu = [], {}
    if base:
        res = backtest(df, base, cutoffs, HORIZON, config)
        frames.append(res.metrics)
        cpu.update(res.fit_cpu_seconds)
    if "lgbm" in models:
        for obj in objectives:
            cfg = config.model_copy(update={"lgbm": config.lgbm.model_copy(update={"objective": obj})})
            res = backtest(df, ["lgbm"], cutoffs, HORIZON, cfg)
            frames.append(res.metrics.assign(model=f"lgbm_{obj}"))
            cpu[f"lgbm_{obj}"] = res.fit_cpu_seconds["lgbm"]
    return pd.concat(frames, ignore_index=True), cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--min-weeks", type=int, default=4, help="history weeks with a sale a stock code needs")
    ap.add_argument("--objectives", nargs="*", default=["l1", "tweedie"], help="LightGBM objectives, each a candidate")
    ap.add_argument("--target-mode", default="residual", choices=["residual", "ratio"])
    ap.add_argument("--models", nargs="*", default=MODELS)
    ap.add_argument("--selection-cutoffs", nargs="*", default=SELECTION_CUTOFFS,
                    help="earlier origins the champion is chosen on (lowest mean grain MASE); the holdout scores it once")
    ap.add_argument("--out", default="forecast_online_retail.json")
    args = ap.parse_args()
    warehouse = Warehouse(get_settings().warehouse_path)
    df = load_online_retail(warehouse, args.min_weeks)
    weeks = sorted(df["week_start"].unique())
    cutoff = pd.Timestamp(weeks[-HORIZON - 1])
    selection = [pd.Timestamp(c) for c in args.selection_cutoffs]
    if any(c + pd.Timedelta(weeks=HORIZON) > cutoff for c in selection):
        raise SystemExit(f"every selection cutoff must end its {HORIZON} weeks by the holdout cutoff {cutoff.date()}")
    config = ForecastConfig(
        horizon=HORIZON, lags=[1, 2, 3, 4, 8], windows=[4, 8], min_history=4, calibration_origins=1,
        calibration_step=2, chinese_calendar=False, origin_stride=1, target_mode=args.target_mode,
        lgbm=LGBMParams(n_estimators=150, learning_rate=0.05, num_leaves=15, min_child_samples=50, num_threads=1),
    )
    t0, c0 = time.perf_counter(), time.process_time()
    sel_metrics, _ = _run(df, args.models, selection, config, args.objectives)
    sel_grain = sel_metrics[sel_metrics["level"] == "grain"]
    sel_mase = sel_grain.groupby("model")["mase"].mean().sort_values()
    champion = str(sel_mase.index[0])
    metrics, cpu = _run(df, args.models, [cutoff], config, args.objectives)
    grain = metrics[metrics["level"] == "grain"].set_index("model")
    beats = bool((grain["mase"].drop(champion) > grain.loc[champion, "mase"]).all())
    out = {
        "data": "raw.online_retail_transactions (UCI Online Retail, shared subset to 2011-05-31)",
        "cutoff": str(cutoff.date()), "holdout_weeks": [str(pd.Timestamp(w).date()) for w in weeks[-HORIZON:]],
        "history_weeks": len(weeks) - HORIZON, "n_series_grain": int(grain["n_series"].iloc[0]),
        "selection_cutoffs": [str(c.date()) for c in selection],
        "selection_mase_grain_mean": sel_mase.round(4).to_dict(),
        "selection_mase_grain_by_cutoff": sel_grain.pivot_table(index="cutoff", columns="model", values="mase")
        .round(4).rename(index=str).to_dict(orient="index"),
        "champion": champion,
        "mase_grain": grain["mase"].to_dict(), "wape_grain": grain["wape"].to_dict(),
        "champion_beats_all_on_grain_mase": beats,
        "by_level": {k: metrics.pivot_table(index="level", columns="model", values=k).round(4).to_dict(orient="index")
                     for k in ("wape", "mase")},
        "fit_cpu_seconds_incl_calibration_holdout": cpu,
        "total_seconds": time.perf_counter() - t0, "total_cpu_seconds": time.process_time() - c0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "lgbm_objectives": args.objectives,
        "target_mode": args.target_mode,
        "config": config.model_dump(), "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / args.out).write_text(json.dumps(out, indent=2, default=str))
    print(json.dumps({k: out[k] for k in ("n_series_grain", "selection_mase_grain_mean", "champion", "mase_grain",
                                          "champion_beats_all_on_grain_mase", "total_seconds")}, indent=2, default=str))


if __name__ == "__main__":
    main()
