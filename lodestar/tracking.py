"""The one place an MLflow client is built: ml/ (forecast models) and nlp/ (the NER model) track to the same
store, with the model registry on the same URI."""

from __future__ import annotations

import os
from pathlib import Path

from mlflow import MlflowClient


def mlflow_client(tracking_uri: str) -> MlflowClient:
    """A client whose tracking and registry are ``tracking_uri`` (a SQLite store's folder is created)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
