"""Forecast benchmark on the demo company: seasonal naive, traditional, ETS and the LightGBM champion backtested
on marts.forecast_training_features (the table the training asset reads) at the last 13 weeks.

Needs a built warehouse (`lodestar demo --scale S`, or the landing + dbt assets); LODESTAR_HOME picks it.

    OMP_NUM_THREADS=1 .venv/bin/python bench/forecast_demo.py --label scale1
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

from lodestar.settings import get_settings  # noqa: E402
from lodestar.warehouse import Warehouse  # noqa: E402
from ml.backtest import backtest  # noqa: E402
from ml.config import ForecastConfig, LGBMParams  # noqa: E402
from ml.pipeline import load_history  # noqa: E402
from ml.schema import TIME_COL  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
HORIZON = 13
MODELS = ["seasonal_naive", "traditional", "ets", "lgbm"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", default="demo", help="key of this run in forecast_demo.json, e.g. scale1")
    ap.add_argument("--max-train-origins", type=int, default=52,
                    help="recent origins stacked into LightGBM's training set (fewer = faster at large scale)")
    ap.add_argument("--origin-stride", type=int, default=2,
                    help="weeks between stacked training origins; with few origins, a wider stride still spans a year")
    ap.add_argument("--models", nargs="*", default=MODELS, choices=MODELS)
    args = ap.parse_args()
    models = args.models
    settings = get_settings()
    warehouse = Warehouse(settings.warehouse_path)
    t0 = time.perf_counter()
    hist = load_history(warehouse)
    load_s = time.perf_counter() - t0
    weeks = sorted(hist[TIME_COL].unique())
    cutoff = pd.Timestamp(weeks[-HORIZON - 1])
    config = ForecastConfig(
        horizon=HORIZON,
        calibration_origins=1,
        max_train_origins=args.max_train_origins,
        origin_stride=args.origin_stride,
        lgbm=LGBMParams(n_estimators=200, num_leaves=31, learning_rate=0.05, min_child_samples=50, num_threads=1),
    )
    t1 = time.perf_counter()
    res = backtest(hist, models, [cutoff], HORIZON, config)
    total_s = time.perf_counter() - t1
    grain = res.metrics[res.metrics["level"] == "grain"].set_index("model")
    n_series = int(grain["n_series"].iloc[0])
    by_level = res.metrics.pivot_table(index="level", columns="model", values="wape")
    run = {
        "warehouse": str(warehouse.path),
        "cutoff": str(cutoff.date()),
        "history_weeks": len(weeks),
        "n_rows": len(hist),
        "n_series_grain": n_series,
        "wape_grain": {m: float(grain.loc[m, "wape"]) for m in models},
        "wape_by_level": {lv: {m: float(by_level.loc[lv, m]) for m in models} for lv in by_level.index},
        "models": models,
        "reconciliation_chosen": res.reconcilers,
        # every model x level: WAPE, bias, MASE, RMSSE, 80/95% interval coverage, error cost (万元/month)
        "metrics": res.metrics.assign(cutoff=res.metrics["cutoff"].astype(str)).to_dict(orient="records"),
        "champion_family": "lgbm",
        "train_seconds_incl_calibration": res.fit_seconds,
        "predict_seconds": res.predict_seconds,
        "throughput_series_per_second": {
            m: {"predict": n_series / res.predict_seconds[m], "fit_and_predict": n_series / (res.fit_seconds[m] + res.predict_seconds[m])}
            for m in models
        },
        "total_seconds": total_s,
        "load_seconds": load_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "config": config.model_dump(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "omp_threads": os.environ.get("OMP_NUM_THREADS"),
                    "load_average_at_end": os.getloadavg()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "forecast_demo.json"
    out = json.loads(path.read_text()) if path.exists() else {}
    out[args.label] = run
    path.write_text(json.dumps(out, indent=2, default=str))
    print(json.dumps({k: run[k] for k in ("n_series_grain", "wape_grain", "train_seconds_incl_calibration", "throughput_series_per_second", "peak_rss_mb")}, indent=2))


if __name__ == "__main__":
    main()
