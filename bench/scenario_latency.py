"""Latency of a full lever re-forecast (every grain series x horizon week) at demo scale 1 and 10.

Writes bench/results/scenario_latency.json: median ms per re-forecast, and the ratio to one full retrain
(lgbm Forecaster.fit on a matching synthetic history) when --retrain is given.
Run: OMP_NUM_THREADS=1 .venv/bin/python bench/scenario_latency.py [--retrain] [--series-scale1 N] [--series-scale10 N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ml.levers import LEVER_SPECS, Levers  # noqa: E402
from ml.scenario import ScenarioEngine  # noqa: E402

SERIES_AT_SCALE_1 = 460  # fallback only: the real counts come from forecast_demo.json (see series_count)
HORIZON = 13
FORECAST_DEMO = Path(__file__).resolve().parent / "results" / "forecast_demo.json"


def series_count(scale: int, given: int | None = None) -> tuple[int, str]:
    """Grain series (AM x SKU x channel) of the demo company at ``scale``: ``given`` on the command line, else
    measured by bench/forecast_demo.py on a warehouse of that scale when its figures exist, else the fallback
    estimate; and where the number came from."""
    if given:
        return given, f"given on the command line (--series-scale{scale})"
    if FORECAST_DEMO.exists():
        run = json.loads(FORECAST_DEMO.read_text()).get(f"scale{scale}")
        if run and run.get("n_series_grain"):
            return int(run["n_series_grain"]), f"forecast_demo.json scale{scale} (demo warehouse)"
    return SERIES_AT_SCALE_1 * scale, "estimate (run bench/forecast_demo.py at this scale first)"


def frame(n_series: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_series * HORIZON
    s = np.repeat(np.arange(n_series), HORIZON)
    return pd.DataFrame({
        "account_manager_id": "AM" + (s % 18).astype(str), "sku_id": "SKU" + s.astype(str),
        "channel": np.where(s % 5 == 0, "distributor", "direct"), "region": "R" + (s % 7).astype(str),
        "product_line": "PL" + (s % 8).astype(str),
        "week_start": pd.Timestamp("2026-11-23") + pd.to_timedelta(np.tile(np.arange(HORIZON), n_series) * 7, unit="D"),
        "y_hat": rng.gamma(2, 50, n), "key_share": rng.uniform(0, 1, n), "delivery_delay_days": rng.uniform(0, 20, n),
        "promo_lift": rng.uniform(0, .4, n) * (rng.uniform(size=n) < .1), "weeks_since_promo_start": rng.integers(0, 4, n),
        "price_rel": rng.uniform(.9, 1.1, n), "safety_stock_units": rng.uniform(0, 30, n),
        "capacity_units": rng.uniform(50, 200, n), "intent_score": rng.uniform(0, 2, n),
        "complaint_heat": rng.uniform(0, 1, n), "health_band": rng.choice(["red", "amber", "green"], n),
    })


def time_changes(engine: ScenarioEngine, reps: int = 60) -> float:
    rng = np.random.default_rng(1)
    times = []
    for i in range(reps):
        spec = LEVER_SPECS[i % len(LEVER_SPECS)]
        lv = Levers.with_overrides({spec.name: float(rng.uniform(spec.lo, spec.hi))})
        t = time.perf_counter()
        engine.scenario_frame(lv)
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def retrain_seconds(n_series: int) -> float:
    from ml.config import ForecastConfig
    from ml.forecaster import Forecaster

    rng = np.random.default_rng(2)
    weeks = pd.date_range("2024-01-01", periods=120, freq="W-MON")
    rows = [{"account_manager_id": f"AM{s % 18}", "sku_id": f"SKU{s}", "channel": "direct", "week_start": w,
             "y": float(rng.poisson(20)), "product_line": f"PL{s % 8}", "cluster_id": f"CL{s % 18}",
             "region": f"R{(s % 18) % 7}"} for s in range(n_series) for w in weeks]
    t = time.perf_counter()
    Forecaster("lgbm", ForecastConfig(max_train_origins=26, calibration_origins=1)).fit(pd.DataFrame(rows))
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--retrain", action="store_true", help="also time one full retrain at scale 1")
    ap.add_argument("--series-scale1", type=int, help="grain series at scale 1 (default: forecast_demo.json)")
    ap.add_argument("--series-scale10", type=int, help="grain series at scale 10 (default: forecast_demo.json)")
    args = ap.parse_args()
    given = {1: args.series_scale1, 10: args.series_scale10}
    out = {"machine": "2 shared cores", "horizon_weeks": HORIZON, "results": []}
    for scale in (1, 10):
        n, source = series_count(scale, given[scale])
        f = frame(n)
        t = time.perf_counter()
        eng = ScenarioEngine.prepare(f)
        prep = 1000 * (time.perf_counter() - t)
        res = {"scale": scale, "series": n, "series_source": source, "rows": len(f), "prepare_ms": round(prep, 1),
               "median_reforecast_ms": round(time_changes(eng), 2), "budget_ms": 200 if scale == 1 else 2000}
        if args.retrain and scale == 1:
            rt = retrain_seconds(n)
            res["retrain_s"] = round(rt, 1)
            res["speedup_vs_retrain"] = round(1000 * rt / res["median_reforecast_ms"])
        out["results"].append(res)
        print(res)
    path = Path(__file__).resolve().parent / "results" / "scenario_latency.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
