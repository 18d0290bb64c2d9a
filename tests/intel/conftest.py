"""Fixtures for the intel wiring tests: a tiny warehouse with the staged customer tables, a rules-only NER
registered as champion in a real MLflow sqlite store, a small generated demo company."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from staged_warehouse import NLP_INPUTS, build_ml_inputs

from lodestar.tracking import fluent_store, mlflow_client
from lodestar.warehouse import Warehouse

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

NOW = pd.Timestamp("2026-11-27 08:00")
CUSTOMERS = pd.DataFrame({
    "customer_id": ["C00015", "C00019", "C00001"],
    "legal_name": ["上海九州医院管理有限公司", "天津光明酒店管理有限公司", "北京君亭商业连锁股份有限公司"],
    "city": ["上海", "天津", "北京"],
    "_loaded_at": NOW,
})
ACCOUNTS = pd.DataFrame({
    "account_id": ["ACC1", "ACC2", "ACC2"],
    "account_name": ["上海九州医院管理股份有限公司", "光明集团（旧名）", "光明酒店集团"],
    "erp_customer_id": ["C00015", "C00019", "C00019"],
    # ACC2 landed twice: the later load's name is the one that counts
    "_loaded_at": [NOW, NOW - pd.Timedelta(days=7), NOW],
})


def seed_customers(wh: Warehouse) -> None:
    wh.replace_table("raw", "erp_customers", CUSTOMERS)
    wh.replace_table("raw", "crm_accounts", ACCOUNTS)


@pytest.fixture(scope="session")
def _staged_customers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # named like the real file: dbt's views refer to the catalog by the file's stem
    wh = Warehouse(tmp_path_factory.mktemp("customers") / "warehouse.duckdb")
    seed_customers(wh)
    build_ml_inputs(wh, NLP_INPUTS)  # the dbt models nlp/ reads (int_customer_directory, ...)
    return wh.path


@pytest.fixture
def warehouse(_staged_customers: Path, tmp_path: Path) -> Warehouse:
    """A fresh copy of the staged customer tables per test (built once per session)."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(_staged_customers, path)
    return Warehouse(path)


@pytest.fixture(scope="session")
def rules_champion(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tracking URI whose lodestar-ner@champion is the rules-only pipeline (no trained tagger): registering
    it by hand keeps the test fast while exercising the real MLflow download and spaCy load path."""
    import mlflow

    from nlp.ner import build_pipeline
    from nlp.training import CHAMPION, MODEL_NAME, PIPELINE_ARTIFACT

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    pipe_dir = root / "rules_pipeline"
    build_pipeline(None).to_disk(pipe_dir)
    client = mlflow_client(uri)
    exp = client.create_experiment("lodestar-ner", artifact_location=(root / "artifacts").as_uri())
    with fluent_store(uri), mlflow.start_run(experiment_id=exp) as run:
        mlflow.log_metric("test_macro_f1", 0.0)
        mlflow.log_artifacts(str(pipe_dir), artifact_path=PIPELINE_ARTIFACT)
    client.create_registered_model(MODEL_NAME)
    mv = client.create_model_version(MODEL_NAME, source=f"{run.info.artifact_uri}/{PIPELINE_ARTIFACT}",
                                     run_id=run.info.run_id)
    client.set_registered_model_alias(MODEL_NAME, CHAMPION, mv.version)
    return uri


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lodestar.demo.generator import generate

    out = tmp_path_factory.mktemp("demo")
    generate(out, scale=0.05, seed=20261127)
    return out
