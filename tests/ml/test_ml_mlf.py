"""The mlforecast family (ml.mlf) on synthetic demand with a known 52-week season, and the cross-family champion:
selection by the promotion rule picks it when it is better and not when it is worse, and family="auto" registers
the winner in MLflow so it loads by alias."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from conftest import make_history

from lodestar.tracking import fluent_store
from ml.backtest import backtest, default_cutoffs
from ml.config import ForecastConfig, MLFParams
from ml.tracking import (
    AUTO,
    CHAMPION,
    get_client,
    load_champion,
    model_name,
    promote_if_better,
    select_family,
    train_and_log,
)


@pytest.fixture(scope="module")
def seasonal() -> pd.DataFrame:
    # 32 grain series, 120 weeks (two seasons of lag 52 before the cutoff).
    return make_history(n_am=4, n_sku=4, n_weeks=120, seed=3)


def _config(**mlf) -> ForecastConfig:
    return ForecastConfig(calibration_origins=1, chinese_calendar=False, mlf=MLFParams(**{"n_estimators": 80, **mlf}))


def test_mlf_beats_seasonal_naive_on_known_seasonality(seasonal: pd.DataFrame) -> None:
    cut = default_cutoffs(seasonal, n=1)
    res = backtest(seasonal, ["seasonal_naive", "mlf"], cut, 13, _config())
    m = res.metrics.set_index(["model", "level"])
    f = res.forecasts[res.forecasts["model"] == "mlf"]
    assert len(f) == f["node_id"].nunique() * 13 and np.isfinite(f["mean"]).all()
    for level in ("grain", "sku", "total"):
        assert m.loc[("mlf", level), "wape"] < 0.8 * m.loc[("seasonal_naive", level), "wape"], level
    assert m.loc[("mlf", "grain"), "mase"] < m.loc[("seasonal_naive", "grain"), "mase"]
    assert select_family(res.metrics)[0] == "mlf"
    # The order of the candidates does not matter to the winner.
    flipped = pd.concat([res.metrics[res.metrics["model"] == "mlf"], res.metrics[res.metrics["model"] != "mlf"]])
    assert select_family(flipped)[0] == "mlf"


def test_selection_keeps_the_better_family_when_mlf_is_worse(seasonal: pd.DataFrame) -> None:
    # Two trees of a slow learning rate: the forecast barely leaves each series' mean, so it misses the season.
    cut = default_cutoffs(seasonal, n=1)
    cfg = ForecastConfig(calibration_origins=1, chinese_calendar=False, mlf=MLFParams(n_estimators=2, learning_rate=0.01))
    res = backtest(seasonal, ["seasonal_naive", "mlf"], cut, 13, cfg)
    g = res.metrics[res.metrics["level"] == "grain"].set_index("model")
    assert g.loc["mlf", "mase"] > g.loc["seasonal_naive", "mase"]
    best, why = select_family(res.metrics)
    assert best == "seasonal_naive" and "mlf vs seasonal_naive" in why[0]


def test_auto_family_registers_the_winner_and_it_loads_by_alias(seasonal: pd.DataFrame, tmp_path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    hist = seasonal[seasonal["account_manager_id"].isin(["AM00", "AM01"])]
    res = train_and_log(hist, _config(n_estimators=30), tracking_uri=uri, family=AUTO, candidates=("seasonal_naive", "mlf"),
                        cutoffs=default_cutoffs(hist, n=1))
    name = model_name(AUTO)
    assert res.model_name == name and res.forecaster.family == "mlf"
    client = get_client(uri)
    mv = client.get_model_version(name, res.model_version)
    assert mv.tags["model_family"] == "mlf"
    assert promote_if_better(client, name, res.model_version).promoted
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == res.model_version
    with fluent_store(uri):
        runs = mlflow.search_runs(experiment_names=["lodestar-forecast"])
    assert "mlf vs seasonal_naive" in runs["params.selection"].iloc[0]
    model = load_champion(name, uri)
    fc = model.predict(model.input_example)
    assert set(fc["model_family"]) == {"mlf"} and fc["mean"].notna().all()


def test_lgbm_mlf_is_the_mean_of_its_members(seasonal: pd.DataFrame) -> None:
    from ml.config import LGBMParams
    from ml.features import build_panel
    from ml.mlf import MeanEnsemble, MLForecastGlobal
    from ml.models import LGBMGlobal
    from ml.schema import validate_history

    cfg = ForecastConfig(chinese_calendar=False, mlf=MLFParams(n_estimators=20), lgbm=LGBMParams(n_estimators=20))
    panel = build_panel(validate_history(seasonal), cfg)
    o = panel.n_hist - 14
    ens = MeanEnsemble().fit(panel, o, cfg).predict(panel, o, 13, cfg)
    members = [LGBMGlobal().fit(panel, o, cfg).predict(panel, o, 13, cfg),
               MLForecastGlobal().fit(panel, o, cfg).predict(panel, o, 13, cfg)]
    assert ens.shape == (panel.Y.shape[0], 13)
    np.testing.assert_allclose(ens, (members[0] + members[1]) / 2, rtol=1e-9)
    assert not np.allclose(members[0], members[1])
