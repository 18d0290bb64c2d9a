"""The resource classes the asset graph is wired with; `orchestration/defs/resources.py` builds the instances.

Every location defaults to :func:`lodestar.settings.get_settings`, resolved when a run starts, never at
import, so one code location serves any ``LODESTAR_HOME`` and run config can point a resource elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from lodestar.settings import PROJECT_ROOT, get_settings
from lodestar.warehouse import Warehouse

# Every asset that writes the DuckDB file runs in this pool (limit 1, see .dagster/dagster.yaml).
WAREHOUSE_POOL = "duckdb_warehouse"
SHIPPED_NER = PROJECT_ROOT / "nlp" / "models" / "lodestar_ner"


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file (Postgres for dbt is chosen by the dbt target, not here)."""

    path: str | None = None

    def get(self) -> Warehouse:
        return Warehouse(Path(self.path) if self.path else get_settings().warehouse_path)


class MlflowResource(dg.ConfigurableResource):
    """MLflow tracking + registry client; artifacts of the forecast experiment live under ``artifact_location``."""

    tracking_uri: str | None = None
    artifact_location: str | None = None
    ui_url: str = "http://127.0.0.1:5000"

    @property
    def uri(self) -> str:
        from ml.tracking import tracking_uri_or_default

        return tracking_uri_or_default(self.tracking_uri)

    @property
    def artifacts(self) -> str:
        return self.artifact_location or str(get_settings().home / "mlartifacts")

    def client(self):
        from ml.tracking import get_client

        return get_client(self.uri)

    def ensure_experiment(self) -> str:
        from ml.pipeline import ensure_experiment
        from ml.tracking import EXPERIMENT

        return ensure_experiment(self.client(), self.artifacts, EXPERIMENT)

    def run_url(self, experiment_id: str, run_id: str) -> str:
        return f"{self.ui_url}/#/experiments/{experiment_id}/runs/{run_id}"


class IntelResource(dg.ConfigurableResource):
    """Where the intelligence assets find their inputs: the inbox, the MLflow store, the demo's truth files."""

    inbox: str | None = None
    tracking_uri: str | None = None
    truth_dir: str | None = None
    work_dir: str | None = None
    shipped_ner_dir: str = str(SHIPPED_NER)

    @property
    def inbox_dir(self) -> Path:
        return Path(self.inbox) if self.inbox else get_settings().documents_dir

    @property
    def uri(self) -> str:
        return self.tracking_uri or get_settings().mlflow_tracking_uri

    @property
    def work(self) -> Path:
        return Path(self.work_dir) if self.work_dir else get_settings().artifacts_dir / "intel"

    def truth(self, name: str) -> Path | None:
        path = (Path(self.truth_dir) if self.truth_dir else get_settings().truth_dir) / name
        return path if path.exists() else None
