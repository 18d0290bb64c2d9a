"""Fixtures for the nlp tests: a tiny NER trained once per session on a CLUENER sample, rendered pages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture(scope="session")
def cluener_file() -> Path:
    from nlp.training import cluener_path

    path = cluener_path()
    if not path.exists():
        pytest.fail(f"CLUENER train set missing at {path} (shared/data/cluener2020)")
    return path


@pytest.fixture(scope="session")
def tiny_ner(tmp_path_factory: pytest.TempPathFactory, cluener_file: Path) -> dict:
    """A tiny-budget run (300 sentences, 50 steps) tracked in a real MLflow sqlite store. Constant lr and no
    embedding pretraining: 50 steps are too few for a decaying lr or vectors pretrained on 1,200 titles (both
    measured at 0 F1), and test_nlp_embeddings covers those paths."""
    from nlp.training import train_ner

    root = tmp_path_factory.mktemp("ner")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    metrics = train_ner(root / "pipeline", max_steps=50, sample_size=300, seed=1, tracking_uri=uri,
                        data_path=cluener_file, eval_every=50,
                        hp={"schedule": "constant", "pretrain_epochs": 0})
    return {"dir": root / "pipeline", "uri": uri, "metrics": metrics, "root": root}


@pytest.fixture(scope="session")
def rules_nlp():
    from nlp.ner import build_pipeline

    return build_pipeline(None)
