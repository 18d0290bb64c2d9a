"""Real-data benchmark of the forecasting library on Walmart store x department x week sales.

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

from lodestar.settings import get_settings  # noqa: E402
from ml.backtest import backtest  # noqa: E402
from ml.config import ForecastConfig, LGBMParams  # noqa: E402
from ml.schema import TIME_COL  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
HORIZON = 13


def _find(path: Path, prefix: str) -> Path:
    hits = sorted(path.glob(f"{prefix}*.csv"))
    if not hits:
        raise FileNotFoundError(f"no {prefix}*.csv under {path}")
    return hits[0]


def load_walmart(path: Path) -> pd.DataFrame:
    """Walmart train + stores + features CSVs -> the ml input contract (long frame, Monday week_start).

    Weeks end on Friday in the source; week_start is the Monday of that week. IsHoliday (US holiday
    weeks, known in advance) becomes the future-known exogenous column ``holiday_flag``. Markdowns are
    left out: they start in Nov 2011, inside the holdout, so no model could learn from them.
    """
    path = Path(path)
    train = pd.read_csv(_find(path, "train"), parse_dates=["Date"])
    stores = pd.read_csv(_find(path, "stores"))
    for col in ("Store", "Dept", "Date", "Weekly_Sales", "IsHoliday"):
        if col not in train.columns:
            raise ValueError(f"{_find(path, 'train')}: missing column {col!r}")
    # Size tercile within type (rank-based so a type with one store still gets a band).
    size_band = np.ceil(stores.groupby("Type")["Size"].rank(pct=True) * 3).astype(int).map({1: "S", 2: "M", 3: "L"})
    stores = stores.assign(region="type_" + stores["Type"], cluster_id="type_" + stores["Type"] + "_" + size_band.astype(str))
    df = train.merge(stores[["Store", "region", "cluster_id"]], on="Store", how="left", validate="many_to_one")
    if df["region"].isna().any():
        bad = df.loc[df["region"].isna(), "Store"].iloc[0]
        raise ValueError(f"store {bad} of the train file is missing from the stores file")
    out = pd.DataFrame(
        {
            "account_manager_id": "S" + df["Store"].astype(str).str.zfill(2),
            "sku_id": "D" + df["Dept"].astype(str).str.zfill(2),
            "channel": "store",
            "week_start": df["Date"] - pd.to_timedelta(df["Date"].dt.dayofweek, unit="D"),
            "y": df["Weekly_Sales"].astype(float),
            "product_line": "PL" + (df["Dept"] // 10).astype(str),
            "cluster_id": df["cluster_id"],
            "region": df["region"],
            "holiday_flag": df["IsHoliday"].astype(str).str.upper().eq("TRUE").astype(float),
        }
    )
    return out


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="subset of stores, for a smoke run")
    ap.add_argument("--tune", action="store_true", help="score earlier cutoffs only (no holdout)")
    args = ap.parse_args()
    data_dir = get_settings().shared_data_dir / "walmart_dept_weekly"
    t0 = time.perf_counter()
    df = load_walmart(data_dir)
    if args.quick:
        df = df[df["account_manager_id"] <= "S05"]
    load_s = time.perf_counter() - t0
    weeks = np.sort(df[TIME_COL].unique())
    holdout_cutoff = pd.Timestamp(weeks[-HORIZON - 1])
    tune_cutoffs = [holdout_cutoff - pd.Timedelta(weeks=HORIZON)]
    config = ForecastConfig(
        horizon=HORIZON,
        calibration_origins=1,
        extra_future_exog=["holiday_flag"],
        chinese_calendar=False,  # US retail data: Chinese holidays would be noise here
        lgbm=LGBMParams(n_estimators=250, learning_rate=0.08, num_leaves=31, min_child_samples=100, num_threads=1),
        origin_stride=3,
        min_history=40,
    )
    models = ["seasonal_naive", "traditional", "ets", "lgbm"]
    cutoffs = tune_cutoffs if args.tune else [holdout_cutoff]
    proc = psutil.Process()
    t1 = time.perf_counter()
    res = backtest(df, models, cutoffs, HORIZON, config)
    total_s = time.perf_counter() - t1
    grain = res.metrics[res.metrics["level"] == "grain"].set_index("model")
    n_series = int(grain["n_series"].iloc[0])
    wape = {m: float(grain.loc[m, "wape"]) for m in models}
    out = {
        "data": str(data_dir),
        "mode": "tune" if args.tune else "holdout",
        "cutoffs": [str(pd.Timestamp(c).date()) for c in cutoffs],
        "holdout_weeks": [str(pd.Timestamp(w).date()) for w in weeks[-HORIZON:]] if not args.tune else None,
        "n_series_grain": n_series,
        "n_nodes_all_levels": int(res.metrics[res.metrics["model"] == "lgbm"]["n_series"].sum()),
        "wape_grain": wape,
        "ratio_champion_to_seasonal_naive": wape["lgbm"] / wape["seasonal_naive"],
        "champion_beats_statistical": wape["lgbm"] < wape["ets"],
        "metrics": res.metrics.assign(cutoff=res.metrics["cutoff"].astype(str)).to_dict(orient="records"),
        "reconciliation_chosen": res.reconcilers,
        "fit_seconds_incl_calibration": res.fit_seconds,
        "total_seconds": total_s,
        "load_seconds": load_s,
        "peak_rss_mb": peak_rss_mb(),
        "rss_now_mb": proc.memory_info().rss / 2**20,
        "config": config.model_dump(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "omp_threads": os.environ.get("OMP_NUM_THREADS")},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "forecast_real" + ("_tune" if args.tune else "") + ("_quick" if args.quick else "") + ".json"
    (RESULTS / name).write_text(json.dumps(out, indent=2, default=str))
    print(json.dumps({k: out[k] for k in ("mode", "cutoffs", "n_series_grain", "wape_grain", "ratio_champion_to_seasonal_naive", "fit_seconds_incl_calibration", "peak_rss_mb")}, indent=2, default=str))


if __name__ == "__main__":
    main()
