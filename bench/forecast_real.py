"""Real-data benchmark of the forecasting library on Walmart store x department x week sales.

Reads raw.walmart_dept_weekly (landed by the real-data connector, landed here first when absent).
Maps store -> account manager, department -> SKU, one channel; store type -> region, type x size
tercile -> cluster, department decade -> product line. Tunes nothing on the holdout: every candidate
configuration of the mlforecast family (``VARIANTS``) and of the forecaster (``CONFIG_VARIANTS``: the seasonal
profile, lgbm on it, lgbm_profile) is scored on 4 earlier 13-week origins (the latest a
full horizon before the holdout), the one with the lowest mean grain WAPE ratio to seasonal naive there is
kept, and only then the last 13 weeks of the shared data are scored, once, for it and the baselines.

    OMP_NUM_THREADS=1 .venv/bin/python bench/forecast_real.py [--quick] [--variants NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import threading
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
from ml.config import ForecastConfig, LGBMParams, MLFParams  # noqa: E402
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


class RssSampler:
    """Peak resident memory of this process while a block runs (sampled every 0.2 s in a thread)."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = 0.0
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss / 2**20)
            self._stop.wait(0.2)

    def __enter__(self) -> RssSampler:
        self.peak = self.proc.memory_info().rss / 2**20
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


# Candidate settings of the mlforecast family, all chosen between on the earlier origins only.
VARIANTS: dict[str, dict] = {
    "mlf_l1_long": {},
    "mlf_l1_long_sku": {"sku_seasonal": True},
    "mlf_l2_long": {"objective": "l2"},
    "mlf_l1_long_log": {"target_transform": "log_standard"},
    "mlf_l1_short": {"lags": [1, 2, 3, 4, 13, 26, 52]},
    # The mean of the hand-written LightGBM and mlf_l1_long (family lgbm_mlf).
    "ens_lgbm_mlf": {},
}
# Settings of the whole forecaster (ForecastConfig fields) per candidate of another family: name -> (family, update).
CONFIG_VARIANTS: dict[str, tuple[str, dict]] = {
    # The hand-written LightGBM correcting the seasonal profile instead of the traditional forecast.
    "lgbm_profile": ("lgbm", {"baseline": "profile"}),
    "ens_lgbm_mlf_profile": ("lgbm_mlf", {"baseline": "profile"}),
    # The mean of lgbm_profile and the profile family.
    "ens_lgbm_profile": ("lgbm_profile", {"baseline": "profile"}),
    # The same two members weighted by an inner backtest one horizon before each origin (issue 11, idea a):
    # one weight over all grain series, or one per department.
    "ens_lgbm_profile_w": ("lgbm_profile", {"baseline": "profile", "ensemble_weighting": "backtest_global"}),
    "ens_lgbm_profile_wsku": ("lgbm_profile", {"baseline": "profile", "ensemble_weighting": "backtest_sku"}),
    # Growth read from the denoised history (issue 11, idea c).
    "ens_lgbm_profile_dg": ("lgbm_profile", {"baseline": "profile", "profile_growth": "denoised"}),
    "profile_dg": ("profile", {"profile_growth": "denoised"}),
    "profile": ("profile", {}),
    # The profile family with raw (not pooled) history: what the SVD pooling adds.
    "profile_raw": ("profile", {"profile_rank": 0}),
}
def base_config(args: argparse.Namespace) -> ForecastConfig:
    return ForecastConfig(
        horizon=HORIZON,
        calibration_origins=1,
        extra_future_exog=["holiday_flag"],
        holiday_alignment=args.holiday_alignment,
        profile_rank=args.profile_rank,
        chinese_calendar=False,  # US retail data: Chinese holidays would be noise here
        lgbm=LGBMParams(objective=args.objective, alpha=args.alpha, n_estimators=250, learning_rate=0.08, num_leaves=31, min_child_samples=100,
                        num_threads=1),
        origin_stride=3,
        min_history=40,
    )


def run_family(df: pd.DataFrame, name: str, cutoffs: list, config: ForecastConfig) -> tuple[pd.DataFrame, dict]:
    """Backtest one family (``mlf_*`` = the mlforecast family with that variant's settings) at ``cutoffs``;
    its metrics with model = ``name`` and its cost (fit incl. calibration, predict, CPU, peak RSS, load)."""
    if name in CONFIG_VARIANTS:
        family, update = CONFIG_VARIANTS[name]
        config = config.model_copy(update=update)
    else:
        family = "mlf" if name.startswith("mlf") else "lgbm_mlf" if name.startswith("ens") else name
    if family in ("mlf", "lgbm_mlf"):
        config = config.model_copy(update={"mlf": MLFParams(**VARIANTS.get(name, {}))})
    load0 = os.getloadavg()
    with RssSampler() as rss:
        res = backtest(df, [family], cutoffs, HORIZON, config)
    m = res.metrics.assign(model=name)
    cost = {
        "fit_seconds_incl_calibration": res.fit_seconds[family] / len(cutoffs),
        "fit_cpu_seconds_incl_calibration": res.fit_cpu_seconds[family] / len(cutoffs),
        "predict_seconds": res.predict_seconds[family] / len(cutoffs),
        "peak_rss_mb": rss.peak,
        "load_average_before_after": [load0[0], os.getloadavg()[0]],
        "reconciliation": res.reconcilers[family],
        "settings": VARIANTS.get(name, CONFIG_VARIANTS.get(name, ("", {}))[1]),
    }
    print(f"{name}: grain WAPE {m[m['level'] == 'grain']['wape'].mean():.4f}, fit {cost['fit_seconds_incl_calibration']:.1f} s "
          f"({cost['fit_cpu_seconds_incl_calibration']:.1f} s CPU) per cutoff, load {load0[0]:.1f}", flush=True)
    return m, cost


def table(metrics: pd.DataFrame) -> dict:
    """Per model: grain WAPE and MASE (mean over cutoffs) and the grain WAPE ratio to seasonal naive per cutoff."""
    g = metrics[metrics["level"] == "grain"]
    naive = g[g["model"] == "seasonal_naive"].set_index("cutoff")["wape"]
    out = {}
    for name, gm in g.groupby("model", sort=False):
        r = gm.set_index("cutoff")["wape"] / naive
        out[name] = {"wape_grain": float(gm["wape"].mean()), "mase_grain": float(gm["mase"].mean()),
                     "ratio_per_cutoff": {str(pd.Timestamp(c).date()): float(v) for c, v in r.items()},
                     "ratio_mean": float(r.mean())}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="subset of stores, for a smoke run")
    ap.add_argument("--tune-cutoffs", type=int, default=4, help="earlier 13-week origins the variants are chosen on")
    ap.add_argument("--tune-step", type=int, default=4, help="weeks between the earlier origins")
    ap.add_argument("--select-only", action="store_true", help="score the earlier origins only (no holdout)")
    # The hand-written LightGBM's objective, chosen on the tuning cutoff 2011-06-27 (grain WAPE / process CPU of
    # the fit incl. calibration): l1 0.0906 / 28.8 s, huber(alpha 0.9) 0.0957 / 9.1 s, l2 0.1013 / 8.8 s,
    # fair 0.0927 / 9.8 s, tweedie 0.0925 / 11.4 s, huber(alpha 0.3) 0.0899 / 10.2 s, huber(alpha 0.1) 0.0890 / 11.3 s.
    ap.add_argument("--objective", default="huber", help="hand-written LightGBM objective (l1 = the engine before issue 11)")
    ap.add_argument("--alpha", type=float, default=0.1, help="huber delta on the scale-free target")
    ap.add_argument("--holiday-alignment", default="us", help="ForecastConfig.holiday_alignment (US retail: us)")
    ap.add_argument("--profile-rank", type=int, default=8, help="ForecastConfig.profile_rank (SVD rank per department)")
    ap.add_argument("--variants", nargs="*", default=[*VARIANTS, *CONFIG_VARIANTS], choices=[*VARIANTS, *CONFIG_VARIANTS])
    ap.add_argument("--selection-models", nargs="*", default=["seasonal_naive", "traditional", "lgbm"],
                    help="baselines scored beside the variants on the earlier origins")
    ap.add_argument("--holdout-models", nargs="*", default=["seasonal_naive", "traditional", "ets", "lgbm"])
    ap.add_argument("--holdout-only", metavar="VARIANT",
                    help="skip the selection and score the holdout for VARIANT (chosen on the earlier origins in an earlier run)")
    ap.add_argument("--out", default=None, help="results file name (default forecast_real[_quick].json)")
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
    config = base_config(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / ((args.out or ("forecast_real" + ("_quick" if args.quick else ""))) + ".json")
    out: dict = {
        "data": f"raw.walmart_dept_weekly in {warehouse.path} (landed from {data_dir})",
        "n_series_grain": int(df[["account_manager_id", "sku_id"]].drop_duplicates().shape[0]),
        "selection_cutoffs": [str(c.date()) for c in tune_cutoffs],
        "holdout_cutoff": str(holdout_cutoff.date()),
        "holdout_weeks": [str(pd.Timestamp(w).date()) for w in weeks[-HORIZON:]],
        "variants": {**VARIANTS, **{k: {"family": f, **u} for k, (f, u) in CONFIG_VARIANTS.items()}},
        "config": config.model_dump(),
        "load_seconds": load_s,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "omp_threads": os.environ.get("OMP_NUM_THREADS")},
    }

    def save() -> None:
        out["peak_rss_mb"] = peak_rss_mb()
        path.write_text(json.dumps(out, indent=2, default=str))

    # 1. Selection: baselines, the hand-written LightGBM and every mlforecast variant on the earlier origins.
    sel_metrics, sel_cost = [], {}
    for name in [] if args.holdout_only else [*args.selection_models, *args.variants]:
        m, cost = run_family(df, name, tune_cutoffs, config)
        sel_metrics.append(m)
        sel_cost[name] = cost
        out["selection"] = {"table": table(pd.concat(sel_metrics)), "cost_per_cutoff": sel_cost}
        save()
    if args.holdout_only:
        chosen, sel = args.holdout_only, {}
    else:
        sel = out["selection"]["table"]
        chosen = min(args.variants, key=lambda v: sel[v]["ratio_mean"])
        out["selection"]["chosen_variant"] = chosen
        out["selection"]["rule"] = "lowest mean grain WAPE ratio to seasonal naive over the earlier origins"
        save()
    if args.select_only:
        return
    # 2. The holdout, scored once: baselines, the hand-written LightGBM and the chosen variant.
    hold_metrics, hold_cost = [], {}
    for name in [*args.holdout_models, chosen]:
        m, cost = run_family(df, name, [holdout_cutoff], config)
        hold_metrics.append(m)
        hold_cost[name] = cost
    hm = pd.concat(hold_metrics, ignore_index=True)
    tab = table(hm)
    stats = [k for k in tab if k in ("seasonal_naive", "traditional", "ets", "mstl", "profile", "profile_raw")]
    best_stat = min(stats, key=lambda k: tab[k]["wape_grain"])
    out["holdout"] = {
        "table": tab,
        "cost": hold_cost,
        "champion": chosen,
        "ratio_champion_to_seasonal_naive": tab[chosen]["ratio_mean"],
        "best_statistical": best_stat,
        "champion_beats_best_statistical": tab[chosen]["wape_grain"] < tab[best_stat]["wape_grain"],
        "metrics": hm.assign(cutoff=hm["cutoff"].astype(str)).to_dict(orient="records"),
    }
    if chosen in sel:
        out["selection_mean_ratio_of_champion"] = sel[chosen]["ratio_mean"]
    save()
    print(json.dumps({"chosen": chosen, "selection": {k: v["ratio_mean"] for k, v in sel.items()} if sel else None,
                      "holdout": {k: (v["wape_grain"], v["ratio_mean"]) for k, v in tab.items()}}, indent=2))


if __name__ == "__main__":
    main()
