"""The dbt project as Dagster sees it: one `DbtProject`, one translator, and the manifest preparation.

Loading the code location never runs dbt. The manifest is prepared by set-up (`make install` runs
`dagster-dbt project prepare-and-package --file orchestration/lib/dbt.py`), by `dagster dev`
(`prepare_if_dev`), and by the `lodestar` CLI and the test session through :func:`prepare_manifest`,
which re-parses only when a project file is newer than the manifest.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from lodestar.settings import PROJECT_ROOT, get_settings

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
OWNERS = ["team:analytics-engineering"]
_WATCHED = ("*.sql", "*.yml", "*.yaml", "*.csv")


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


lodestar_dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target=get_settings().dbt_target,
)
lodestar_dbt_project.prepare_if_dev()


def manifest_is_stale(project: DbtProject = lodestar_dbt_project) -> bool:
    manifest = project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    for pattern in _WATCHED:
        for path in Path(project.project_dir).rglob(pattern):
            if "target" in path.parts or "logs" in path.parts:
                continue
            if path.stat().st_mtime > built:
                return True
    return False


def prepare_manifest(project: DbtProject = lodestar_dbt_project) -> Path:
    """dagster-dbt's own preparation (`dbt parse`), run only when the manifest is missing or stale."""
    if manifest_is_stale(project):
        venv_bin = str(Path(sys.executable).parent)  # the preparer runs the `dbt` found on PATH
        if venv_bin not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = venv_bin + os.pathsep + os.environ.get("PATH", "")
        project.preparer.prepare(project)
    return project.manifest_path


def prepare_run_parse(dbt_vars: dict, state_dir: Path, project: DbtProject = lodestar_dbt_project) -> float | None:
    """Parse once with this run's ``--vars`` (none for the demo) and environment into
    ``state_dir/partial_parse.msgpack``, where each dbt step copies its parse state from when ``DBT_TARGET_PATH``
    is ``state_dir`` (dagster-dbt's own reuse).

    dbt re-parses the whole project when the vars or the profile (the warehouse path) differ from the saved
    state's. The checkout's state (``dbt_project/target``, from set-up) holds the default home's profile, so a run
    in any other home (``LODESTAR_HOME``, the tests, the benches) or for a configured company (its contract rules,
    currency and calendar as vars) paid a full parse in each of its ~10 dbt steps: about 25 s each on this machine.
    This parse is itself partial after the first run of a home (its state stays in ``state_dir/run_parse``).
    Returns the seconds taken, None when the parse failed (then each step parses for itself, as before)."""
    import json
    import shutil
    import subprocess
    import time

    started = time.perf_counter()
    target = state_dir / "run_parse"
    cmd = [dbt_executable(), "parse", *(["--vars", json.dumps(dbt_vars, ensure_ascii=False)] if dbt_vars else []),
           "--quiet", "--project-dir", str(project.project_dir), "--profiles-dir", str(project.profiles_dir),
           "--target-path", str(target)]
    if project.target:
        cmd += ["--target", project.target]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    state = target / "partial_parse.msgpack"
    if proc.returncode != 0 or not state.exists():
        return None
    dest = state_dir / "partial_parse.msgpack"
    tmp = dest.with_name(f".partial_parse.{os.getpid()}.tmp")
    shutil.copyfile(state, tmp)
    os.replace(tmp, dest)  # a step copying it at the same moment reads the old file or the new, never half
    return time.perf_counter() - started


class LodestarDbtTranslator(DagsterDbtTranslator):
    """Asset keys ``[schema, model]`` (``marts/customer_360``); a dbt source ``raw.<table>`` is the connector
    asset ``raw/<table>``; groups follow the dbt folder (staging, intermediate, marts); seeds in ``seeds``;
    ``meta.dagster_automation: eager`` makes a model rebuild under declarative automation."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec.replace_attributes(key=dg.AssetKey([props["source_name"], props["name"]]))
        schema = props.get("config", {}).get("schema") or props.get("schema")
        fqn = props.get("fqn", [])
        group = "seeds" if props["resource_type"] == "seed" else (fqn[1] if len(fqn) > 2 else "dbt")
        # `meta: {dagster_automation: eager}` in dbt_project.yml: rebuilt when an upstream asset updates.
        eager = props.get("config", {}).get("meta", {}).get("dagster_automation") == "eager"
        return spec.replace_attributes(key=dg.AssetKey([schema, props["name"]]), group_name=group, owners=OWNERS,
                                       automation_condition=dg.AutomationCondition.eager() if eager else None)


translator = LodestarDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
