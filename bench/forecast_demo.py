"""Forecast benchmark on the demo company: seasonal naive, traditional, the statistical families (ETS, MSTL with a
52-week season, the intermittent CrostonSBA/TSB/ADIDA/IMAPA) and the LightGBM champion backtested on
marts.forecast_training_features (the table the training asset reads) at the last 13 weeks, with the oracle
beside them: the generator's noise-free expected demand (truth/expected_demand.csv.gz) scored the same way,
the physical limit of any forecast.

Needs a built warehouse (`lodestar demo --scale S`, or the landing + dbt assets); LODESTAR_HOME picks it.
``--truth`` is the generated company's truth folder (the oracle is skipped, and says so, without it).

    OMP_NUM_THREADS=1 .venv/bin/python bench/forecast_demo.py --label scale1 --truth /path/to/demo/truth

Any configured company's warehouse works the same way (no oracle without a generator's truth), e.g. Superstore
after `lodestar run --company companies/superstore/lodestar.yaml`:

    .venv/bin/python bench/forecast_demo.py --label superstore --out forecast_superstore \
        --models seasonal_naive croston_sba lgbm
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

import numpy as np  # noqa: E402

from lodestar.settings import get_settings  # noqa: E402
from lodestar.warehouse import Warehouse  # noqa: E402
from ml.backtest import backtest  # noqa: E402
from ml.config import ForecastConfig, LGBMParams  # noqa: E402
from ml.features import build_panel  # noqa: E402
from ml.metrics import level_metrics  # noqa: E402
from ml.pipeline import load_history  # noqa: E402
from ml.schema import SERIES_ID, TIME_COL, WEEKDAYS, series_id, validate_history  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
HORIZON = 13
MODELS = ["seasonal_naive", "traditional", "ets", "mstl", "croston_sba", "tsb", "adida", "imapa", "lgbm", "mlf", "lgbm_mlf"]


def oracle_metrics(hist: pd.DataFrame, truth: Path, cutoff: pd.Timestamp, config: ForecastConfig) -> pd.DataFrame:
    """Score the generator's expected demand as if it were a forecast made at ``cutoff``, at every level.

    The oracle covers ERP sell-in only: the company's own platform-store orders in the mart are not in it
    (their series get an expectation of 0), so at the channel-ecommerce nodes the oracle is a lower bound.
    """
    e = pd.read_csv(truth / "expected_demand.csv.gz", parse_dates=["week_start"])
    h = validate_history(hist, week_start=config.week_start)
    panel = build_panel(h, config, horizon=0)
    o = panel.week_index(cutoff)
    weeks = panel.weeks[o + 1 : o + 1 + HORIZON]
    e = e[e[TIME_COL].isin(weeks)]
    ids = pd.Index(panel.hierarchy.bottom[SERIES_ID])
    rows = ids.get_indexer(series_id(e))
    keep = rows >= 0
    Yb = np.zeros((len(ids), len(weeks)))
    np.add.at(Yb, (rows[keep], weeks.get_indexer(e.loc[keep, TIME_COL])), e.loc[keep, "expected_units"].to_numpy())
    pred = np.asarray(panel.hierarchy.S @ Yb)
    levels = panel.hierarchy.nodes["level"].to_numpy()
    m = level_metrics(panel.Y[:, o + 1 : o + 1 + HORIZON], pred, levels, panel.Y[:, : o + 1], config)
    m.insert(0, "model", "oracle")
    return m


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", default="demo", help="key of this run in forecast_demo.json, e.g. scale1")
    ap.add_argument("--max-train-origins", type=int, default=52,
                    help="recent origins stacked into LightGBM's training set (fewer = faster at large scale)")
    ap.add_argument("--origin-stride", type=int, default=2,
                    help="weeks between stacked training origins; with few origins, a wider stride still spans a year")
    ap.add_argument("--models", nargs="*", default=MODELS, choices=MODELS)
    ap.add_argument("--truth", type=Path, help="the generated company's truth/ folder (for the oracle)")
    ap.add_argument("--objective", default="tweedie", help="LightGBM objective (l1 = the engine before issue 11)")
    ap.add_argument("--out", default="forecast_demo",
                    help="results file bench/results/<out>.json (forecast_superstore: the Superstore company's warehouse)")
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
        week_start=WEEKDAYS[pd.Timestamp(weeks[0]).dayofweek],  # the company's weeks, as the warehouse has them
        calibration_origins=1,
        max_train_origins=args.max_train_origins,
        origin_stride=args.origin_stride,
        lgbm=LGBMParams(objective=args.objective, n_estimators=200, num_leaves=31, learning_rate=0.05,
                        min_child_samples=50, num_threads=1),
    )
    t1, c1 = time.perf_counter(), time.process_time()
    res = backtest(hist, models, [cutoff], HORIZON, config)
    total_s, total_cpu = time.perf_counter() - t1, time.process_time() - c1
    oracle = None
    if args.truth and (args.truth / "expected_demand.csv.gz").exists():
        oracle = oracle_metrics(hist, args.truth, cutoff, config)
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
        "mase_by_level": res.metrics.pivot_table(index="level", columns="model", values="mase").to_dict(orient="index"),
        "best_by_level": {lv: {k: res.metrics[res.metrics["level"] == lv].set_index("model")[k].idxmin()
                               for k in ("wape", "mase")} for lv in by_level.index},
        "coverage_by_level": {fam: {k: res.metrics[res.metrics["model"] == fam].set_index("level")[k].to_dict()
                                    for k in ("coverage_80", "coverage_95")}
                              for fam in ("lgbm", "mlf", "lgbm_mlf") if fam in models},
        "oracle": (oracle.set_index("level")[["wape", "mase", "bias"]].to_dict(orient="index") if oracle is not None
                   else "skipped: no --truth folder with expected_demand.csv.gz"),
        "reconciliation_chosen": res.reconcilers,
        # every model x level: WAPE, bias, MASE, RMSSE, 80/95% interval coverage, error cost (万元/month)
        "metrics": res.metrics.assign(cutoff=res.metrics["cutoff"].astype(str)).to_dict(orient="records"),
        "champion_family": "lgbm",
        "lgbm_objective": args.objective,
        "train_seconds_incl_calibration": res.fit_seconds,
        "predict_seconds": res.predict_seconds,
        "fit_cpu_seconds_incl_calibration": res.fit_cpu_seconds,
        "throughput_series_per_second": {
            m: {"predict": n_series / res.predict_seconds[m], "fit_and_predict": n_series / (res.fit_seconds[m] + res.predict_seconds[m])}
            for m in models
        },
        "total_seconds": total_s,
        "total_cpu_seconds": total_cpu,  # this process' CPU: comparable on a shared box where wall time is not
        "load_seconds": load_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "config": config.model_dump(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "omp_threads": os.environ.get("OMP_NUM_THREADS"),
                    "load_average_at_end": os.getloadavg()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{args.out}.json"
    out = json.loads(path.read_text()) if path.exists() else {}
    out[args.label] = run
    path.write_text(json.dumps(out, indent=2, default=str))
    print(json.dumps({k: run[k] for k in ("n_series_grain", "wape_grain", "best_by_level", "oracle", "train_seconds_incl_calibration",
                                          "total_cpu_seconds", "peak_rss_mb")}, indent=2, default=str))


if __name__ == "__main__":
    main()
