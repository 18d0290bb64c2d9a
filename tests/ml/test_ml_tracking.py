"""MLflow on a real SQLite store in tmp_path: logging, champion/challenger by alias, rollback, and
forecasting with the champion loaded by alias."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from conftest import make_history

from ml.config import ForecastConfig, LGBMParams
from ml.forecaster import forecast
from ml.tracking import (
    CHAMPION,
    champion_forecaster,
    get_client,
    load_champion,
    model_name,
    promote_if_better,
    rollback,
    train_and_log,
)


def _cfg(n_estimators: int, learning_rate: float) -> ForecastConfig:
    return ForecastConfig(
        horizon=8,
        calibration_origins=1,
        origin_stride=3,
        reconciler="bottom_up",
        # L1: on this data more trees is better on grain MASE and planning WAPE alike, which the promotion
        # steps below rely on (tweedie's 100-tree model wins grain WAPE but loses planning WAPE, and stays out).
        lgbm=LGBMParams(objective="l1", n_estimators=n_estimators, learning_rate=learning_rate, num_threads=1),
    )


@pytest.fixture(scope="module")
def small_history() -> pd.DataFrame:
    return make_history(n_am=3, n_sku=3, n_weeks=120, seed=5)


def test_champion_challenger_rollback_and_forecast(tmp_path, small_history: pd.DataFrame) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cutoffs = ["2023-12-18", "2024-02-12"]
    client = get_client(uri)
    name = model_name("lgbm")

    mid = train_and_log(small_history, _cfg(25, 0.1), uri, family="lgbm", cutoffs=cutoffs)
    assert mid.model_version == "1"
    first = promote_if_better(client, name, mid.model_version)
    assert first.promoted and first.reason == "no champion yet"

    # Logged run content: per-level metrics with one step per cutoff, artifacts, digest and code version.
    run = client.get_run(mid.run_id)
    assert {"wape_bottom", "wape_grain_mean", "wape_total_mean", "coverage_80_grain_mean"} <= set(run.data.metrics)
    assert len(client.get_metric_history(mid.run_id, "wape_grain")) == 2
    assert len(run.data.tags["dataset_digest"]) == 64 and "code_version" in run.data.tags
    arts = {f.path for d in ("plots", "features", "backtest") for f in client.list_artifacts(mid.run_id, d)}
    assert {"plots/backtest_total.png", "features/feature_importance.csv", "backtest/backtest_metrics.csv"} <= arts
    assert run.inputs.dataset_inputs, "training dataset not logged"

    worse = train_and_log(small_history, _cfg(2, 0.01), uri, family="lgbm", cutoffs=cutoffs)
    assert worse.metrics["wape_bottom"] > mid.metrics["wape_bottom"]
    d = promote_if_better(client, name, worse.model_version)
    assert not d.promoted and d.previous_champion == "1"
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == "1"

    better = train_and_log(small_history, _cfg(100, 0.1), uri, family="lgbm", cutoffs=cutoffs)
    assert better.metrics["wape_bottom"] < mid.metrics["wape_bottom"]
    d = promote_if_better(client, name, better.model_version)
    assert d.promoted and d.previous_champion == "1"
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == better.model_version

    # The champion loads by alias and forecasts every level, with a scenario lever applied to the future.
    model = load_champion(name, uri)
    hist = better.forecaster.history
    last = hist["week_start"].max()
    future = hist[hist["week_start"] == last].drop(columns=["y"]).copy()
    future_weeks = [last + pd.Timedelta(weeks=k) for k in range(1, 9)]
    future = pd.concat([future.assign(week_start=w) for w in future_weeks], ignore_index=True)
    out = model.predict(future.assign(promo_flag=0.0, y=float("nan")))
    assert set(out["level"]) >= {"grain", "sku", "account_manager", "region", "total"}
    grain_weeks = out[(out["level"] == "grain") & (out["period"] == "week")]
    assert len(grain_weeks) == 18 * 8 and grain_weeks["mean"].notna().all()
    assert (grain_weeks["lo80"] <= grain_weeks["mean"]).all() and (grain_weeks["mean"] <= grain_weeks["hi80"]).all()
    assert set(out["model_version"]) == {f"{name}/{better.model_version}"}
    direct = forecast(model, None, future.assign(promo_flag=0.0), horizon=8)
    pd.testing.assert_frame_equal(direct.reset_index(drop=True), out.reset_index(drop=True))
    promo = model.predict(future.assign(promo_flag=1.0, y=float("nan")))
    tot = lambda f: f[(f["level"] == "total") & (f["period"] == "week")]["mean"].sum()  # noqa: E731
    assert tot(promo) > tot(out), "promotion lever should raise the forecast (synthetic uplift is +40%)"

    rollback(name, "1", client=client)
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == "1"
    assert champion_forecaster(name, uri).model_version == f"{name}/1"
    with pytest.raises(Exception, match="not found|RESOURCE_DOES_NOT_EXIST|does not exist"):
        rollback(name, "99", client=client)


SERVE_SCRIPT = textwrap.dedent("""
    import json, sys
    import mlflow
    m = mlflow.pyfunc.load_model("models:/lodestar-forecast-lgbm@champion")
    example = m.input_example
    out = m.predict(example, params={"horizon": 2})
    import ml
    print(json.dumps({"rows": len(out), "levels": sorted(set(out["level"])), "ml_file": ml.__file__,
                      "project_imported": any(k == "lodestar" or k.startswith(("lodestar.", "orchestration"))
                                              for k in sys.modules),
                      "has_signature": m.metadata.signature is not None,
                      "inputs": [c.name for c in m.metadata.signature.inputs]}))
""")


def test_champion_serves_in_a_process_without_the_project(tmp_path, small_history: pd.DataFrame) -> None:
    """An ML engineer loads models:/...@champion with plain MLflow: no PYTHONPATH, not run from the project,
    the ml code comes from the model's own code_paths; its signature and input example are logged."""
    from ml.pipeline import ensure_experiment

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ensure_experiment(get_client(uri), tmp_path / "artifacts")  # artifacts under tmp_path, not the cwd
    res = train_and_log(small_history, _cfg(10, 0.1), uri, family="lgbm", cutoffs=["2024-02-12"])
    promote_if_better(get_client(uri), res.model_name, res.model_version)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LODESTAR_HOME")}
    env["MLFLOW_TRACKING_URI"] = env["MLFLOW_REGISTRY_URI"] = uri
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    out = subprocess.run([sys.executable, "-I", "-c", SERVE_SCRIPT], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert not got["project_imported"]
    assert got["ml_file"].startswith(str(tmp_path / "artifacts")) and "/code/ml/" in got["ml_file"]
    assert got["has_signature"] and {"account_manager_id", "sku_id", "channel", "week_start", "y"} <= set(got["inputs"])
    assert set(got["levels"]) >= {"grain", "sku", "total"} and got["rows"] > 0


def _mlflow_globals() -> tuple:
    import mlflow

    return (os.environ.get("MLFLOW_TRACKING_URI"), os.environ.get("MLFLOW_REGISTRY_URI"),
            os.environ.get("MLFLOW_EXPERIMENT_ID"), mlflow.get_tracking_uri(), mlflow.get_registry_uri())


@pytest.mark.parametrize("shell_store", [False, True], ids=["unset", "set-by-the-caller"])
def test_training_and_loading_leave_the_process_wide_store_alone(tmp_path, small_history, monkeypatch, shell_store):
    """MLflow's set_tracking_uri exports MLFLOW_TRACKING_URI to every later subprocess: training and loading the
    champion name their store instead, and leave this process's URIs and variables as they found them."""
    other = f"sqlite:///{tmp_path / 'other' / 'mlflow.db'}"
    if shell_store:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", other)
    else:
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    before = _mlflow_globals()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = train_and_log(small_history, _cfg(5, 0.3), uri, family="lgbm", cutoffs=["2024-02-12"])
    assert _mlflow_globals() == before
    promote_if_better(get_client(uri), result.model_name, result.model_version)
    load_champion(result.model_name, uri)
    assert _mlflow_globals() == before
    assert get_client(uri).get_run(result.run_id).info.run_id == result.run_id  # logged where it was told
    assert not (tmp_path / "other").exists()  # and nothing went to the store the environment names
