"""MLflow tracking and registry for forecasters: log a trained run with its backtest, register one
model per family, and manage champion/challenger through registry aliases (never stages).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import tempfile
from dataclasses import dataclass
from importlib.metadata import version as pkg_version
from pathlib import Path

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature

from ml.backtest import BacktestResult, backtest, default_cutoffs
from ml.config import ForecastConfig
from ml.forecaster import Forecaster
from ml.schema import SERIES_ID, TARGET_COL, TIME_COL, validate_history

CHAMPION = "champion"
EXPERIMENT = "lodestar-forecast"
PROMOTION_METRIC = "wape_bottom"
# Promotion compares two figures together: the grain's scaled error (MASE, which sees the small series) and
# the WAPE of the levels a plan is made at. Either alone can be won by a scale-blind model.
GRAIN_MASE_METRIC = "mase_grain_mean"
PLANNING_WAPE_METRIC = "wape_planning"
PLANNING_LEVELS = ("sku", "account_manager", "region")
PROMOTION_TOLERANCE = 0.02  # neither figure may get worse by more than 2% to buy an improvement in the other
# family="auto": the candidates are backtested on the same cutoffs, the winner by the promotion rule is fitted and
# registered under one model name (model_name(AUTO)), so a challenger of any family can take the champion alias.
AUTO = "auto"
AUTO_CANDIDATES = ("lgbm", "mlf")


def beats(new: tuple[float, float], old: tuple[float, float]) -> tuple[bool, str]:
    """The promotion rule on (grain MASE, planning-level WAPE): the product of the two ratios new / old is below 1
    and neither ratio is above 1 + PROMOTION_TOLERANCE. Returns the verdict and the figures as a sentence."""
    r_mase, r_plan = new[0] / old[0], new[1] / old[1]
    wins = r_mase * r_plan < 1 and max(r_mase, r_plan) <= 1 + PROMOTION_TOLERANCE
    return wins, (f"grain MASE {new[0]:.4f} vs {old[0]:.4f} (x{r_mase:.3f}), planning WAPE "
                  f"{new[1]:.4f} vs {old[1]:.4f} (x{r_plan:.3f})")


def family_scores(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per model family of a backtest: grain MASE and planning-level WAPE (means over cutoffs), grain WAPE."""
    means = metrics.groupby(["model", "level"])[["wape", "mase"]].mean()
    rows = []
    for fam in dict.fromkeys(metrics["model"]):
        m = means.loc[fam]
        planning = [lv for lv in PLANNING_LEVELS if lv in m.index]
        rows.append({"model": fam, GRAIN_MASE_METRIC: float(m.loc["grain", "mase"]),
                     PLANNING_WAPE_METRIC: float(m.loc[planning, "wape"].mean()) if planning else float(m.loc["grain", "wape"]),
                     PROMOTION_METRIC: float(m.loc["grain", "wape"])})
    return pd.DataFrame(rows).set_index("model")


def select_family(metrics: pd.DataFrame) -> tuple[str, list[str]]:
    """The family of a multi-family backtest that wins by the promotion rule: the candidates in order, each
    replacing the incumbent when it :func:`beats` it. Returns the winner and one reason line per challenge."""
    scores = family_scores(metrics)
    fams = list(scores.index)
    best, why = fams[0], []
    for fam in fams[1:]:
        new = (scores.loc[fam, GRAIN_MASE_METRIC], scores.loc[fam, PLANNING_WAPE_METRIC])
        old = (scores.loc[best, GRAIN_MASE_METRIC], scores.loc[best, PLANNING_WAPE_METRIC])
        if not (np.isfinite(new).all() and np.isfinite(old).all() and min(old) > 0):
            why.append(f"{fam} vs {best}: figures missing, {best} kept")
            continue
        wins, reason = beats(new, old)
        why.append(f"{fam} vs {best}: {reason}: {fam if wins else best}")
        if wins:
            best = fam
    return best, why


def model_name(family: str) -> str:
    """Registered model name of a model family, e.g. ``lodestar-forecast-lgbm``."""
    return f"lodestar-forecast-{family.replace('_', '-')}"


def tracking_uri_or_default(tracking_uri: str | None = None) -> str:
    """Explicit URI, else the platform default (a SQLite store; MLflow 3.17 rejects the file store)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if tracking_uri:
        uri = tracking_uri
    else:
        from lodestar.settings import get_settings

        uri = get_settings().mlflow_tracking_uri
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return uri


def mlflow_client(uri: str) -> MlflowClient:
    """The project's one client constructor (lodestar.tracking), imported when called: a served champion carries
    only the ml package (code_paths), and loading it must not need the project."""
    from lodestar.tracking import mlflow_client as build

    return build(uri)


def fluent_store(uri: str):  # noqa: ANN201 - a context manager (lodestar.tracking.fluent_store)
    """MLflow's fluent API on ``uri`` for one block, its process-wide URIs and variables restored afterwards;
    imported when called, like :func:`mlflow_client`."""
    from lodestar.tracking import fluent_store as scoped

    return scoped(uri)


def get_client(tracking_uri: str | None = None) -> MlflowClient:
    uri = tracking_uri_or_default(tracking_uri)
    return mlflow_client(uri)


def dataset_digest(df: pd.DataFrame) -> str:
    """sha256 over the rows and column names of the training frame (order-sensitive)."""
    h = hashlib.sha256(",".join(map(str, df.columns)).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def code_version() -> str:
    """git HEAD of the project if there is one (the tree may have no commits yet), else 'unknown'."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True, text=True, timeout=10
        )
        return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


class ForecasterPyfunc(mlflow.pyfunc.PythonModel):
    """Pyfunc over a fitted Forecaster.

    Input: contract rows. Rows with ``y`` are history (optional: the stored history tail is used when
    none are given); rows without ``y`` are the future weeks with their planned exogenous values, which a
    scenario engine can scale (levers) before calling predict, without retraining.
    Output: the forecast frame of :meth:`Forecaster.predict`.
    """

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        with open(context.artifacts["forecaster"], "rb") as fh:
            self.forecaster: Forecaster = pickle.load(fh)

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:  # noqa: ANN001
        horizon = int((params or {}).get("horizon", self.forecaster.config.horizon))
        has_y = model_input[TARGET_COL].notna() if TARGET_COL in model_input.columns else pd.Series(False, index=model_input.index)
        fut = model_input[~has_y].drop(columns=[TARGET_COL], errors="ignore")
        hist = None
        if has_y.any():
            # Given actuals update the stored history tail (newer weeks appended, same weeks replaced).
            keys = ["account_manager_id", "sku_id", "channel", TIME_COL]
            new = model_input[has_y].copy()
            new[TIME_COL] = pd.to_datetime(new[TIME_COL])
            hist = pd.concat([self.forecaster.history, new[self.forecaster.history.columns.intersection(new.columns)]])
            hist = hist.drop_duplicates(keys, keep="last")
        return self.forecaster.predict(hist, fut if len(fut) else None, horizon=horizon)


@dataclass
class TrainResult:
    run_id: str
    model_name: str
    model_version: str | None
    metrics: dict[str, float]
    forecaster: Forecaster
    backtest: BacktestResult


def _backtest_plot(bt: BacktestResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = bt.forecasts[bt.forecasts["level"] == "total"].sort_values("week_start")
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(f["week_start"], f["actual"], "k.-", label="actual (total)")
    for cutoff, g in f.groupby("cutoff"):
        ax.plot(g["week_start"], g["mean"], "-", label=f"forecast from {pd.Timestamp(cutoff).date()}")
        if "lo80" in g and g["lo80"].notna().any():
            ax.fill_between(g["week_start"], g["lo80"], g["hi80"], alpha=0.2)
    ax.set_title("Backtest, total level (80% interval shaded)")
    ax.legend(fontsize=7)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


# Per-level plots of the backtest, logged under plots/ so runs compare side by side in the MLflow UI.
LEVEL_PLOTS = ("metrics_by_level.png", "coverage_by_level.png")
FEATURE_IMPORTANCE_PLOT = "feature_importance.png"
TOP_FEATURES = 20


def _pyplot():  # noqa: ANN202 - the matplotlib.pyplot module, on the file-only backend
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def level_metric_plots(metrics: pd.DataFrame, out_dir: Path) -> list[Path]:
    """WAPE and MASE per hierarchy level, and 80/95% interval coverage per level against nominal (means over the
    backtest cutoffs), as two PNGs in ``out_dir``; returns their paths."""
    plt = _pyplot()
    levels = list(dict.fromkeys(metrics["level"]))
    means = metrics.groupby("level").mean(numeric_only=True).reindex(levels)
    x = np.arange(len(levels))
    paths = []
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, col in zip(axes, ("wape", "mase"), strict=True):
        vals = means[col] if col in means else pd.Series(np.nan, index=levels)
        ax.bar(x, vals.to_numpy(dtype=float), color="tab:blue")
        ax.set_xticks(x, levels, rotation=30, ha="right")
        ax.set_title(f"backtest {col.upper()} by level (mean of {metrics['cutoff'].nunique()} cutoff(s))")
        if col == "mase":
            ax.axhline(1.0, color="grey", ls="--", lw=1, label="seasonal-naive scale = 1")
            ax.legend(fontsize=7)
    fig.tight_layout()
    paths.append(out_dir / LEVEL_PLOTS[0])
    fig.savefig(paths[-1], dpi=90)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.38
    for i, lv in enumerate((80, 95)):
        col = f"coverage_{lv}"
        vals = means[col].to_numpy(dtype=float) if col in means else np.full(len(levels), np.nan)
        ax.bar(x + (i - 0.5) * width, vals, width, label=f"{lv}% interval")
        ax.axhline(lv / 100, color=f"C{i}", ls="--", lw=1)
    ax.set_xticks(x, levels, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title("interval coverage by level (dashed: nominal)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths.append(out_dir / LEVEL_PLOTS[1])
    fig.savefig(paths[-1], dpi=90)
    plt.close(fig)
    return paths


def feature_importance_plot(fi: pd.DataFrame, path: Path, top: int = TOP_FEATURES) -> Path:
    """The ``top`` features by total gain as a horizontal bar chart."""
    plt = _pyplot()
    f = fi.sort_values("gain", ascending=False).head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.25 * len(f) + 1)))
    ax.barh(f["feature"].astype(str), f["gain"].to_numpy(dtype=float), color="tab:green")
    ax.set_title(f"feature importance (gain), top {len(f)}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _flat_params(config: ForecastConfig) -> dict[str, str]:
    out = {}
    for k, v in config.model_dump().items():
        if isinstance(v, dict):
            out.update({f"{k}.{kk}": str(vv) for kk, vv in v.items()})
        else:
            out[k] = str(v)
    return out


def _input_example(forecaster: Forecaster, n_series: int = 2) -> pd.DataFrame:
    hist = forecaster.history
    ids = hist[["account_manager_id", "sku_id", "channel"]].drop_duplicates().head(n_series)
    sub = hist.merge(ids, on=["account_manager_id", "sku_id", "channel"])
    last = sub[TIME_COL].max()
    fut = sub[sub[TIME_COL] == last].copy()
    fut[TIME_COL] = last + pd.Timedelta(weeks=1)
    fut[TARGET_COL] = np.nan
    return pd.concat([sub[sub[TIME_COL] == last], fut], ignore_index=True)


def _ensure_experiment_beside_store(uri: str, experiment: str) -> str:
    """The id of ``experiment``, created if it does not exist, with its artifacts beside a SQLite store, in
    ``<store dir>/mlartifacts``: MLflow's default artifact root is ``./mlruns`` of whatever directory the process
    runs in, which scatters artifacts over checkouts and test working directories."""
    client = mlflow_client(uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is not None:
        return exp.experiment_id
    loc = None
    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts"
        path.mkdir(parents=True, exist_ok=True)
        loc = path.as_uri()
    return client.create_experiment(experiment, artifact_location=loc)


def train_and_log(
    history_df: pd.DataFrame,
    config: ForecastConfig | None = None,
    tracking_uri: str | None = None,
    family: str = "lgbm",
    cutoffs: list | None = None,
    experiment: str = EXPERIMENT,
    register: bool = True,
    candidates: list[str] | tuple[str, ...] = AUTO_CANDIDATES,
) -> TrainResult:
    """Backtest ``family`` on rolling cutoffs, fit it on the full history and log everything to MLflow.

    Logs params, metrics per level and cutoff (step = cutoff index; ``<metric>_<level>`` are the means over
    cutoffs; ``wape_bottom`` is the grain WAPE used for promotion), the backtest plot, per-level metric and coverage
    plots, feature importance (CSV and plot),
    the dataset digest, the code version, and a pyfunc model registered as ``model_name(family)``.

    ``family="auto"`` backtests every family in ``candidates`` on the same cutoffs, fits the one that wins by the
    promotion rule (:func:`select_family`) and registers it as ``model_name("auto")``, tagged with its family.
    """
    config = config or ForecastConfig()
    uri = tracking_uri_or_default(tracking_uri)
    hist = validate_history(history_df, week_start=config.week_start).drop(columns=[SERIES_ID])
    cutoffs = cutoffs or default_cutoffs(hist, n=2, horizon=config.horizon)
    selection: list[str] = []
    scores = None
    if family == AUTO:
        bt_all = backtest(hist, list(candidates), cutoffs, config.horizon, config)
        scores = family_scores(bt_all.metrics)
        fitted, selection = select_family(bt_all.metrics)
        keep = bt_all.metrics["model"] == fitted
        bt = BacktestResult(bt_all.metrics[keep].reset_index(drop=True),
                            bt_all.forecasts[bt_all.forecasts["model"] == fitted].reset_index(drop=True),
                            bt_all.fit_seconds, bt_all.predict_seconds,
                            {fitted: bt_all.reconcilers[fitted]}, bt_all.fit_cpu_seconds)
    else:
        fitted = family
        bt = backtest(hist, [family], cutoffs, config.horizon, config)
    forecaster = Forecaster(fitted, config).fit(hist)
    experiment_id = _ensure_experiment_beside_store(uri, experiment)
    name = model_name(family)
    digest = dataset_digest(hist)
    # The fluent calls below log to ``uri``; MLflow's globals (and MLFLOW_TRACKING_URI) are back as they were after.
    with (fluent_store(uri),
          mlflow.start_run(experiment_id=experiment_id, run_name=f"{fitted}-{hist[TIME_COL].max().date()}") as run,
          tempfile.TemporaryDirectory() as tmp):
        tmpd = Path(tmp)
        mlflow.log_params({**_flat_params(config), "family": fitted, "cutoffs": ",".join(str(pd.Timestamp(c).date()) for c in cutoffs)})
        if scores is not None:
            mlflow.log_params({"candidates": ",".join(candidates), "selection": " | ".join(selection)[:6000]})
            scores.reset_index().to_csv(tmpd / "family_selection.csv", index=False)
            mlflow.log_artifact(str(tmpd / "family_selection.csv"), artifact_path="backtest")
        mlflow.set_tags(
            {
                "code_version": code_version(),
                "dataset_digest": digest,
                "reconciliation": forecaster.reconciler,
                "model_family": fitted,
            }
        )
        ds = mlflow.data.from_pandas(hist, name="forecast_history", targets=TARGET_COL, digest=digest[:36])
        mlflow.log_input(ds, context="training")
        m = bt.metrics
        cutoff_index = {c: i for i, c in enumerate(sorted(m["cutoff"].unique()))}
        metric_cols = [c for c in ("wape", "bias", "mase", "rmsse", "coverage_80", "coverage_95", "cost_wan_per_month") if c in m.columns]
        for _, row in m.iterrows():
            step = cutoff_index[row["cutoff"]]
            for c in metric_cols:
                if np.isfinite(row[c]):
                    mlflow.log_metric(f"{c}_{row['level']}", float(row[c]), step=step)
        means = m.groupby("level")[metric_cols].mean()
        summary = {f"{c}_{lv}_mean": float(means.loc[lv, c]) for lv in means.index for c in metric_cols if np.isfinite(means.loc[lv, c])}
        summary[PROMOTION_METRIC] = float(means.loc["grain", "wape"])
        planning = [lv for lv in PLANNING_LEVELS if lv in means.index]
        summary[PLANNING_WAPE_METRIC] = float(means.loc[planning, "wape"].mean()) if planning else summary[PROMOTION_METRIC]
        summary.setdefault(GRAIN_MASE_METRIC, float(means.loc["grain", "mase"]))
        mlflow.log_metrics(summary)
        _backtest_plot(bt, tmpd / "backtest_total.png")
        mlflow.log_artifact(str(tmpd / "backtest_total.png"), artifact_path="plots")
        for path in level_metric_plots(m, tmpd):
            mlflow.log_artifact(str(path), artifact_path="plots")
        m.to_csv(tmpd / "backtest_metrics.csv", index=False)
        mlflow.log_artifact(str(tmpd / "backtest_metrics.csv"), artifact_path="backtest")
        if forecaster.calibration_metrics is not None:
            forecaster.calibration_metrics.to_csv(tmpd / "reconciliation_calibration.csv", index=False)
            mlflow.log_artifact(str(tmpd / "reconciliation_calibration.csv"), artifact_path="backtest")
        fi = forecaster.feature_importance()
        if fi is not None:
            fi.to_csv(tmpd / "feature_importance.csv", index=False)
            mlflow.log_artifact(str(tmpd / "feature_importance.csv"), artifact_path="features")
            if len(fi):
                mlflow.log_artifact(str(feature_importance_plot(fi, tmpd / FEATURE_IMPORTANCE_PLOT)), artifact_path="plots")
        pkl = tmpd / "forecaster.pkl"
        pkl.write_bytes(pickle.dumps(forecaster))
        example = _input_example(forecaster)
        out_example = forecaster.predict(None, example[example[TARGET_COL].isna()], horizon=1)
        signature = infer_signature(example, out_example.head(5))
        reqs = [f"{p}=={pkg_version(p)}" for p in ("mlflow", "pandas", "numpy", "lightgbm", "statsforecast", "scipy", "pydantic", "chinese-calendar")]
        if fitted == "mlf":
            reqs += [f"{p}=={pkg_version(p)}" for p in ("mlforecast", "coreforecast", "utilsforecast", "scikit-learn")]
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=ForecasterPyfunc(),
            artifacts={"forecaster": str(pkl)},
            signature=signature,
            input_example=example,
            pip_requirements=reqs,
            # The ml package travels with the model, so it loads by alias in a process that has not
            # imported (or installed) the project: MLflow puts code_paths first on sys.path at load time.
            code_paths=[str(Path(__file__).resolve().parent)],
            registered_model_name=name if register else None,
        )
        version = str(info.registered_model_version) if register and info.registered_model_version else None
        if version:
            client = mlflow_client(uri)
            for key in (PROMOTION_METRIC, GRAIN_MASE_METRIC, PLANNING_WAPE_METRIC):
                client.set_model_version_tag(name, version, key, str(summary[key]))
            client.set_model_version_tag(name, version, "reconciliation", forecaster.reconciler)
            client.set_model_version_tag(name, version, "model_family", fitted)
            forecaster.model_version = f"{name}/{version}"
        return TrainResult(run.info.run_id, name, version, summary, forecaster, bt)


@dataclass
class PromotionDecision:
    promoted: bool
    name: str
    version: str
    previous_champion: str | None
    challenger_value: float
    champion_value: float | None
    reason: str


def _version_metric(client: MlflowClient, name: str, version: str, metric: str) -> float:
    mv = client.get_model_version(name, version)
    if metric in (mv.tags or {}):
        return float(mv.tags[metric])
    run = client.get_run(mv.run_id)
    if metric not in run.data.metrics:
        raise KeyError(f"model {name} v{version}: run {mv.run_id} has no metric {metric!r}")
    return float(run.data.metrics[metric])


def _try_metric(client: MlflowClient, name: str, version: str, metric: str) -> float | None:
    try:
        v = _version_metric(client, name, version, metric)
    except KeyError:
        return None
    return v if np.isfinite(v) else None


def promote_if_better(client: MlflowClient, name: str, version: str | int, metric: str = PROMOTION_METRIC) -> PromotionDecision:
    """Make ``version`` the ``champion`` only if it beats the current one on grain MASE and planning-level
    WAPE together: the product of the two ratios (challenger / champion) is below 1 and neither ratio is above
    1 + PROMOTION_TOLERANCE. Versions logged before both figures existed are compared on ``metric`` alone.
    ``challenger_value``/``champion_value`` report ``metric`` (grain WAPE) either way.
    """
    version = str(version)
    new = _version_metric(client, name, version, metric)
    try:
        current = client.get_model_version_by_alias(name, CHAMPION)
    except mlflow.exceptions.MlflowException:
        current = None
    if current is None:
        client.set_registered_model_alias(name, CHAMPION, version)
        return PromotionDecision(True, name, version, None, new, None, "no champion yet")
    if str(current.version) == version:
        return PromotionDecision(False, name, version, version, new, new, "already champion")
    cur = str(current.version)
    old = _version_metric(client, name, cur, metric)
    pair_new = [_try_metric(client, name, version, k) for k in (GRAIN_MASE_METRIC, PLANNING_WAPE_METRIC)]
    pair_old = [_try_metric(client, name, cur, k) for k in (GRAIN_MASE_METRIC, PLANNING_WAPE_METRIC)]
    if None not in pair_new and None not in pair_old and min(pair_old) > 0:
        wins, why = beats(tuple(pair_new), tuple(pair_old))
    else:
        wins = new < old
        why = f"{metric} {new:.4f} vs champion {old:.4f}"
    if wins:
        client.set_registered_model_alias(name, CHAMPION, version)
        client.set_model_version_tag(name, version, "promoted_over", cur)
        return PromotionDecision(True, name, version, cur, new, old, why)
    return PromotionDecision(False, name, version, cur, new, old, why + ": champion kept")


def load_champion(name: str, tracking_uri: str | None = None) -> mlflow.pyfunc.PyFuncModel:
    """The pyfunc registered under ``models:/<name>@champion``."""
    uri = tracking_uri_or_default(tracking_uri)
    mv = mlflow_client(uri).get_model_version_by_alias(name, CHAMPION)
    with fluent_store(uri):  # a models:/ URI resolves through the registry URI
        model = mlflow.pyfunc.load_model(f"models:/{name}/{mv.version}")
    # The pickle is written before registration, so the version is stamped here, where it is known.
    model.unwrap_python_model().forecaster.model_version = f"{name}/{mv.version}"
    return model


def champion_forecaster(name: str, tracking_uri: str | None = None) -> Forecaster:
    """The fitted Forecaster behind the champion, for callers that want the Python object (scenarios)."""
    return load_champion(name, tracking_uri).unwrap_python_model().forecaster


def rollback(name: str, version: str | int, client: MlflowClient | None = None, tracking_uri: str | None = None) -> None:
    """Roll back by pointing the ``champion`` alias at an earlier version."""
    client = client or get_client(tracking_uri)
    client.get_model_version(name, str(version))  # fails clearly if the version does not exist
    client.set_registered_model_alias(name, CHAMPION, str(version))
