"""The backtest run's per-level plots as MLflow artifacts, on a real SQLite tracking store with a local artifact
store in tmp_path; and the artifacts stay beside the store, never in ./mlruns of the working directory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_history
from matplotlib import image

from ml.config import ForecastConfig, LGBMParams
from ml.tracking import FEATURE_IMPORTANCE_PLOT, LEVEL_PLOTS, get_client, level_metric_plots, train_and_log


@pytest.fixture(scope="module")
def small_history() -> pd.DataFrame:
    return make_history(n_am=3, n_sku=3, n_weeks=110, seed=11)


def test_backtest_logs_level_coverage_and_importance_plots_beside_the_store(tmp_path, monkeypatch, small_history):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # where MLflow's default ./mlruns would land
    store = tmp_path / "store"
    uri = f"sqlite:///{store / 'mlflow.db'}"
    cfg = ForecastConfig(horizon=6, calibration_origins=1, origin_stride=3, reconciler="bottom_up",
                         lgbm=LGBMParams(objective="l1", n_estimators=15, num_threads=1))
    res = train_and_log(small_history, cfg, uri, family="lgbm", cutoffs=["2023-10-02", "2023-11-13"], register=False)
    client = get_client(uri)
    run = client.get_run(res.run_id)
    assert run.info.artifact_uri.startswith((store / "mlartifacts").resolve().as_uri())
    assert not (cwd / "mlruns").exists()
    plots = {a.path.split("/")[-1] for a in client.list_artifacts(res.run_id, "plots")}
    assert {"backtest_total.png", *LEVEL_PLOTS, FEATURE_IMPORTANCE_PLOT} <= plots
    local = client.download_artifacts(res.run_id, "plots", str(tmp_path / "dl"))
    for name in (*LEVEL_PLOTS, FEATURE_IMPORTANCE_PLOT):
        img = image.imread(f"{local}/{name}")
        assert img.ndim == 3 and min(img.shape[:2]) > 100 and img.std() > 0.01, name  # a drawn chart, not blank


def test_level_plots_draw_one_bar_per_level_at_the_mean_over_cutoffs(tmp_path):
    import matplotlib.pyplot as plt

    m = pd.DataFrame({"level": ["total", "grain"] * 2, "cutoff": ["a", "a", "b", "b"], "wape": [0.1, 0.9, 0.3, 0.7],
                      "mase": [0.5, 1.1, 0.7, 1.3], "coverage_80": [0.8, 0.6, 0.7, 0.8], "coverage_95": [1, 0.9, 0.9, 1]})
    seen = []
    orig = plt.Axes.bar

    def spy(self, x, height, *a, **k):  # noqa: ANN001, ANN202 - records what each chart draws
        seen.append((self.get_title() or "", np.asarray(height, dtype=float)))
        return orig(self, x, height, *a, **k)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plt.Axes, "bar", spy)
        paths = level_metric_plots(m, tmp_path)
    assert [p.name for p in paths] == list(LEVEL_PLOTS) and all(p.stat().st_size > 0 for p in paths)
    heights = [h for _, h in seen]
    np.testing.assert_allclose(heights[0], [0.2, 0.8])  # WAPE, total then grain
    np.testing.assert_allclose(heights[1], [0.6, 1.2])  # MASE
    np.testing.assert_allclose(heights[2], [0.75, 0.7])  # 80% coverage
    np.testing.assert_allclose(heights[3], [0.95, 0.95])  # 95% coverage
