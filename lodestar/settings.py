"""Where Lodestar keeps its state, resolved from environment variables with laptop defaults.

Every path the platform touches comes from here, so a test can point the whole
stack at a temporary directory by setting ``LODESTAR_HOME``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _path_from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """Resolved locations; build with :func:`get_settings` so env changes are honoured."""

    home: Path
    warehouse_path: Path
    demo_dir: Path
    shared_data_dir: Path
    dlt_dir: Path
    mlflow_tracking_uri: str
    artifacts_dir: Path

    @property
    def drops_dir(self) -> Path:
        """File drops of the demo company's systems (one folder per source)."""
        return self.demo_dir / "drops"

    @property
    def truth_dir(self) -> Path:
        """Ground truth the generator recorded (bad rows, discrepancies, sentiments)."""
        return self.demo_dir / "truth"

    @property
    def documents_dir(self) -> Path:
        """The document inbox: industry PDFs and scans."""
        return self.demo_dir / "documents"


def get_settings() -> Settings:
    home = _path_from_env("LODESTAR_HOME", PROJECT_ROOT / ".lodestar")
    mlflow_uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home / 'mlflow.db'}"
    return Settings(
        home=home,
        warehouse_path=_path_from_env("LODESTAR_WAREHOUSE", home / "warehouse.duckdb"),
        demo_dir=_path_from_env("LODESTAR_DEMO_DIR", home / "demo"),
        shared_data_dir=_path_from_env("LODESTAR_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"),
        dlt_dir=home / "dlt",
        mlflow_tracking_uri=mlflow_uri,
        artifacts_dir=home / "artifacts",
    )


def disable_telemetry() -> None:
    """Switch off every tool's usage reporting for this process and its children."""
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "true")
