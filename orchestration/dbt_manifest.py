"""Keeps dbt's manifest current so the dbt assets load anywhere (tests, CI, `dagster dev`, the CLI).

dagster-dbt only prepares the manifest under `dagster dev`; we parse whenever the project's
files are newer than the manifest, which also covers a fresh clone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lodestar.settings import PROJECT_ROOT

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
_WATCHED = ("*.sql", "*.yml", "*.yaml", "*.csv")


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def manifest_is_stale(project_dir: Path = DBT_PROJECT_DIR, manifest: Path = MANIFEST_PATH) -> bool:
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    for pattern in _WATCHED:
        for path in project_dir.rglob(pattern):
            if "target" in path.parts or "logs" in path.parts:
                continue
            if path.stat().st_mtime > built:
                return True
    return False


def ensure_manifest(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """Run `dbt parse` when the manifest is missing or older than the project files."""
    manifest = project_dir / "target" / "manifest.json"
    if not manifest_is_stale(project_dir, manifest):
        return manifest
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(project_dir),
    }
    proc = subprocess.run(
        [dbt_executable(), "parse", "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)],
        cwd=project_dir,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0 or not manifest.exists():
        raise RuntimeError(f"dbt parse failed in {project_dir}:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    return manifest
