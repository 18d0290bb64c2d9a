"""Promotion on a real MLflow SQLite store: grain MASE and planning-level WAPE are compared together, so a
challenger that wins grain WAPE by wrecking the small series' scaled error cannot take the champion alias."""

from __future__ import annotations

import mlflow

from lodestar.tracking import fluent_store
from ml.tracking import (
    CHAMPION,
    GRAIN_MASE_METRIC,
    PLANNING_WAPE_METRIC,
    PROMOTION_METRIC,
    get_client,
    promote_if_better,
)

EXPERIMENT_ID = [""]  # the test's experiment, set by the test


def _version(client, name: str, wape: float, mase: float | None, planning: float | None) -> str:
    with fluent_store(client.tracking_uri), mlflow.start_run(experiment_id=EXPERIMENT_ID[0]) as run:
        mlflow.log_metric(PROMOTION_METRIC, wape)
    mv = client.create_model_version(name, source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.set_model_version_tag(name, mv.version, PROMOTION_METRIC, str(wape))
    if mase is not None:
        client.set_model_version_tag(name, mv.version, GRAIN_MASE_METRIC, str(mase))
        client.set_model_version_tag(name, mv.version, PLANNING_WAPE_METRIC, str(planning))
    return str(mv.version)


def test_promotion_needs_grain_mase_and_planning_wape(tmp_path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = get_client(uri)
    name = "lodestar-forecast-test"
    client.create_registered_model(name)
    EXPERIMENT_ID[:] = [client.create_experiment("promo", artifact_location=(tmp_path / "a").as_uri())]

    v1 = _version(client, name, wape=0.90, mase=1.00, planning=0.30)
    assert promote_if_better(client, name, v1).promoted
    # Scale-blind: lower grain WAPE and planning WAPE, but the grain MASE of a MinTrace-OLS spread (x9).
    blind = _version(client, name, wape=0.85, mase=9.24, planning=0.25)
    d = promote_if_better(client, name, blind)
    assert not d.promoted and "grain MASE" in d.reason and d.challenger_value < d.champion_value
    # Better planning WAPE bought with a slightly worse grain MASE (within tolerance): promoted.
    good = _version(client, name, wape=0.89, mase=1.01, planning=0.24)
    d = promote_if_better(client, name, good)
    assert d.promoted and d.previous_champion == v1
    # Better grain MASE, planning WAPE 5% worse: beyond the tolerance, kept out.
    d = promote_if_better(client, name, _version(client, name, wape=0.80, mase=0.80, planning=0.252))
    assert not d.promoted
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == good
    # A version logged before both figures existed is compared on grain WAPE alone.
    old_style = _version(client, name, wape=0.70, mase=None, planning=None)
    d = promote_if_better(client, name, old_style)
    assert d.promoted and "wape_bottom" in d.reason
