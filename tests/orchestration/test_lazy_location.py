"""Loading the code location runs nothing of ours: importing `orchestration.definitions` writes no environment
variable and loads no dbt, MLflow or model library; resolving its definitions starts no dbt (the manifest is
prepared by set-up) and never touches the demo company generator, which nothing in the product's libraries or
orchestration imports."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

from lodestar.settings import PROJECT_ROOT

PROBE = r"""
import json, os, subprocess, sys
started = []
_popen = subprocess.Popen.__init__
def _spy(self, args, *a, **k):
    started.append(args if isinstance(args, str) else [str(x) for x in args])
    return _popen(self, args, *a, **k)
subprocess.Popen.__init__ = _spy
env0 = dict(os.environ)
import orchestration.definitions as location
heavy = ("dagster_dbt", "dbt", "mlflow", "lightgbm", "torch", "spacy", "lodestar.demo")
after_import = {"env": sorted(k for k in set(env0) | set(os.environ) if env0.get(k) != os.environ.get(k)),
                "heavy": [m for m in heavy if m in sys.modules]}
env1 = dict(os.environ)
n_assets = len(list(location.load().resolve_asset_graph().get_all_asset_keys()))
print(json.dumps({"after_import": after_import, "n_assets": n_assets, "started": started,
                  "env_by_load": sorted(k for k in set(env1) | set(os.environ) if env1.get(k) != os.environ.get(k)),
                  "demo_modules": sorted(m for m in sys.modules if m.startswith("lodestar.demo"))}))
"""


def test_loading_the_code_location_runs_nothing() -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["after_import"] == {"env": [], "heavy": []}
    assert got["n_assets"] > 100
    assert got["env_by_load"] == []
    # Only Dagster's vendored croniter asks `file` about the interpreter (platform.architecture()); no dbt parse.
    assert [cmd for cmd in got["started"] if "file" not in cmd[:1]] == []
    assert got["demo_modules"] == []


def test_the_demo_generator_is_a_tool_the_product_does_not_import() -> None:
    importers = []
    for folder in ("orchestration", "connectors", "ml", "nlp"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                if isinstance(node, ast.ImportFrom) and node.module == "lodestar":
                    names += [f"lodestar.{a.name}" for a in node.names]
                if any(n == "lodestar.demo" or n.startswith("lodestar.demo.") for n in names):
                    importers.append(str(path.relative_to(PROJECT_ROOT)))
    assert importers == []
