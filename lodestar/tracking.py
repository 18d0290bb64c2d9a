"""The one place an MLflow client is built: ml/ (forecast models) and nlp/ (the NER model) track to the same
store, with the model registry on the same URI.

Nothing here sets MLflow's process-wide URIs for good: ``mlflow.set_tracking_uri`` also exports
MLFLOW_TRACKING_URI, which every subprocess started afterwards inherits (it once handed another company's run
the demo's store). Code that can name its store uses :func:`mlflow_client`; MLflow's fluent API
(``mlflow.start_run``, ``log_model``, ``pyfunc.load_model`` of a ``models:/`` URI), which only reads the
globals, runs inside :func:`fluent_store`, which puts them back as they were.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from mlflow import MlflowClient

TRACKING_ENV, REGISTRY_ENV = "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"
# One fluent block at a time per process: two threads with different stores would see each other's URI.
_FLUENT = threading.RLock()


def mlflow_client(tracking_uri: str) -> MlflowClient:
    """A client whose tracking and registry are ``tracking_uri`` (a SQLite store's folder is created)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


@contextlib.contextmanager
def fluent_store(tracking_uri: str) -> Iterator[None]:
    """MLflow's fluent API tracks to ``tracking_uri`` (registry too) inside the block; afterwards its URIs and
    the MLFLOW_TRACKING_URI / MLFLOW_REGISTRY_URI variables are exactly what they were (unset stays unset)."""
    import mlflow
    from mlflow.tracking._model_registry import utils as registry
    from mlflow.tracking._tracking_service import utils as tracking

    with _FLUENT:
        saved_env = {k: os.environ.get(k) for k in (TRACKING_ENV, REGISTRY_ENV)}
        saved_tracking, saved_registry = tracking._tracking_uri, registry._registry_uri
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(saved_tracking)  # also resets MLflow's tracer provider, as setting it did
            registry._registry_uri = saved_registry  # set_registry_uri(None) would leave the variable behind
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
