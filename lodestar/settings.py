"""Where Lodestar keeps its state, resolved from environment variables with laptop defaults.

Every path the platform touches comes from here, so a test can point the whole
stack at a temporary directory by setting ``LODESTAR_HOME``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date, timedelta
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
    as_of: date
    forecast_first_week: date
    week_start: str = "monday"  # the company's calendar.week_start: the forecast's weeks start on this day
    loader: str = "duckdb"  # LODESTAR_LOADER: duckdb (direct, default) | dlt
    ml_threads: int | None = None  # LODESTAR_ML_THREADS: LightGBM threads (None = the model config's)
    dbt_target: str = "duckdb"  # LODESTAR_DBT_TARGET: the dbt profile target the assets build on
    mlflow_ui_url: str = "http://127.0.0.1:5000"  # LODESTAR_MLFLOW_UI_URL: links from Dagster metadata
    serve_demo_api: bool = True  # LODESTAR_SERVE_DEMO_API: the CLI serves the demo company's HTTP API
    lock_timeout: float = 60.0  # LODESTAR_LOCK_TIMEOUT: seconds a warehouse open waits for another process's lock
    debug: bool = False  # LODESTAR_DEBUG: CLI errors show their traceback
    landing_cron: str = "0 * * * *"  # LODESTAR_LANDING_CRON: when the `landing_schedule` lands new drops
    landing_selection: str = "tag:layer=landing"  # LODESTAR_LANDING_SELECTION: what the `landing` job lands
    cockpit_session_minutes: float = 480.0  # LODESTAR_COCKPIT_SESSION_MINUTES: a cockpit sign-in lasts this long
    # LODESTAR_COCKPIT_DEMO_PASSWORD: one password for every cockpit demo user (None = a random one each); a secret,
    # so kept out of the repr
    cockpit_demo_password: str | None = field(default=None, repr=False)

    @property
    def forecast_last_week(self) -> date:
        """The first day of the last complete week of data before :attr:`as_of` (the latest forecast origin), in
        the company's weeks (Monday weeks by default)."""
        from lodestar.company import WEEKDAYS

        return self.as_of - timedelta(days=(self.as_of.weekday() - WEEKDAYS.index(self.week_start)) % 7 + 7)

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
        """The document inbox: industry PDFs and scans (the configured company's, else the demo's)."""
        from lodestar.company import current_company

        company = current_company()
        if company is not None and company.documents is not None:
            return company.documents
        return self.demo_dir / "documents"


def _as_of(demo_dir: Path) -> date:
    """The date the data runs up to: ``LODESTAR_AS_OF``, else the one the demo company was generated for
    (its ``manifest.json``), else today. ``LODESTAR_FORECAST_LAST_WEEK`` (a week start) pins the last origin."""
    if last_week := os.environ.get("LODESTAR_FORECAST_LAST_WEEK"):
        return date.fromisoformat(last_week) + timedelta(days=7)
    if as_of := os.environ.get("LODESTAR_AS_OF"):
        return date.fromisoformat(as_of)
    from lodestar.company import current_company

    company = current_company()
    if company is not None and company.as_of is not None:  # a company whose data stops in the past
        return company.as_of
    manifest = demo_dir / "manifest.json"
    if manifest.exists():
        with manifest.open(encoding="utf-8") as fh:
            today = json.load(fh).get("today")
        if today:
            return date.fromisoformat(today)
    return date.today()


def _forecast_first_week() -> date:
    """``LODESTAR_FORECAST_FIRST_WEEK``, else the company file's ``forecast_first_week``, else the week of
    2024-01-01 in the company's weeks (the demo's Monday 2024-01-01): the first forecast origin (Dagster's weekly
    partitions start there)."""
    if first := os.environ.get("LODESTAR_FORECAST_FIRST_WEEK"):
        return date.fromisoformat(first)
    from lodestar.company import company_calendar, current_company

    company = current_company()
    if company is not None and company.forecast_first_week is not None:
        return company.forecast_first_week
    return company_calendar().week_of(date(2024, 1, 1))


def get_settings() -> Settings:
    home = _path_from_env("LODESTAR_HOME", PROJECT_ROOT / ".lodestar")
    mlflow_uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home / 'mlflow.db'}"
    demo_dir = _path_from_env("LODESTAR_DEMO_DIR", home / "demo")
    from lodestar.company import company_calendar

    return Settings(
        home=home,
        warehouse_path=_path_from_env("LODESTAR_WAREHOUSE", home / "warehouse.duckdb"),
        demo_dir=demo_dir,
        shared_data_dir=_path_from_env("LODESTAR_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"),
        dlt_dir=home / "dlt",
        mlflow_tracking_uri=mlflow_uri,
        artifacts_dir=home / "artifacts",
        as_of=_as_of(demo_dir),
        forecast_first_week=_forecast_first_week(),
        week_start=company_calendar().week_start,
        loader=(os.environ.get("LODESTAR_LOADER") or "duckdb").strip().lower(),
        ml_threads=int(os.environ["LODESTAR_ML_THREADS"]) if os.environ.get("LODESTAR_ML_THREADS") else None,
        dbt_target=os.environ.get("LODESTAR_DBT_TARGET", "duckdb"),
        mlflow_ui_url=os.environ.get("LODESTAR_MLFLOW_UI_URL", "http://127.0.0.1:5000"),
        serve_demo_api=os.environ.get("LODESTAR_SERVE_DEMO_API", "true").lower() != "false",
        lock_timeout=float(os.environ.get("LODESTAR_LOCK_TIMEOUT") or 60.0),
        debug=os.environ.get("LODESTAR_DEBUG", "").strip().lower() in ("1", "true", "yes"),
        landing_cron=os.environ.get("LODESTAR_LANDING_CRON") or "0 * * * *",
        landing_selection=os.environ.get("LODESTAR_LANDING_SELECTION") or "tag:layer=landing",
        cockpit_session_minutes=float(os.environ.get("LODESTAR_COCKPIT_SESSION_MINUTES") or 480),
        cockpit_demo_password=os.environ.get("LODESTAR_COCKPIT_DEMO_PASSWORD") or None,
    )


def disable_telemetry() -> None:
    """Switch off every tool's usage reporting for this process and its children."""
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "true")
