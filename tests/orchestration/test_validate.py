"""`dagster definitions validate` on the workspace the UI loads, and the jobs/graph it must hold."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from lodestar.graph import render_asset_graph
from lodestar.settings import PROJECT_ROOT


def test_workspace_validates():
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Validation successful" in proc.stdout + proc.stderr


def test_main_job_selects_every_asset():
    from orchestration.definitions import load as load_defs
    defs = load_defs()

    job = defs.resolve_job_def("main")
    graph = defs.resolve_asset_graph()
    executable = {k for k in graph.get_all_asset_keys() if graph.get(k).is_executable}
    # One job holds one partitioning: the quarterly value reports run in their own job after the main one.
    quarterly = {k for k in executable if graph.get(k).group_name == "reports"}
    assert quarterly == {dg.AssetKey(["raw", "value_reports"])}
    assert set(job.asset_layer.executable_asset_keys) == executable - quarterly
    assert set(defs.resolve_job_def("value_reports").asset_layer.executable_asset_keys) >= quarterly


def test_readme_asset_graph_is_current():
    """README's picture is generated (`lodestar graph --update-readme`); a dropped or renamed
    asset shows here as a diff."""
    from orchestration.definitions import load as load_defs
    defs = load_defs()

    picture = render_asset_graph(defs)
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert picture in readme, "README asset graph is stale: run `lodestar graph --update-readme`"
