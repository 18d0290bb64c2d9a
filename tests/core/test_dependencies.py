"""pyproject's runtime dependencies are what the product imports: every third-party package imported by
lodestar/, connectors/, ml/, nlp/ or orchestration/ is declared (runtime, or an optional extra when imported
only inside the optional feature), and every runtime dependency is imported or named here with the reason."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("lodestar", "connectors", "ml", "nlp", "orchestration")
# Runtime dependencies the product uses without importing them by that name.
USED_WITHOUT_IMPORT = {
    "dagster-webserver": "the UI of `dagster dev`",
    "dbt-core": "the dbt CLI the dbt assets run", "dbt-duckdb": "dbt's DuckDB adapter",
    "dbt-postgres": "dbt's PostgreSQL target",
    "pyarrow": "the Arrow engine of pandas and DuckDB DataFrame exchange",
    "tabulate": "pandas.DataFrame.to_markdown in asset metadata",
    "openpyxl": "pandas.read_excel(engine=\"openpyxl\") of the xlsx feeds (connectors/files.py)",
    "jinja2": "the cockpit's page templates (fastapi.templating.Jinja2Templates, lodestar/cockpit/app.py)",
    "python-multipart": "FastAPI's form parsing of the cockpit's sign-in form (lodestar/cockpit/app.py)",
}
# Optional extras and the product modules allowed to import them (lazily, inside the optional feature).
OPTIONAL = {"dlt": ("connectors/dlt_loader.py",), "gensim": ("nlp/embeddings.py",), "pyspark": ("lodestar/sparkcopy.py",)}


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _imports(folders: tuple[str, ...] = PRODUCT) -> dict[str, set[str]]:
    """top-level module -> files (relative) of ``folders`` importing it."""
    found: dict[str, set[str]] = {}
    for pkg in folders:
        for path in (ROOT / pkg).rglob("*.py"):
            rel = str(path.relative_to(ROOT))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                         else [])
                for n in names:
                    found.setdefault(n.split(".")[0], set()).add(rel)
    return found


def _declared() -> tuple[set[str], dict[str, str]]:
    """pyproject's runtime dependencies and {optional dependency: its extra}."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {_name(r) for r in project["dependencies"]}
    extras = {_name(r): extra for extra, reqs in project["optional-dependencies"].items() for r in reqs}
    return runtime, extras


def _imported_distributions(folders: tuple[str, ...], local: set[str]) -> dict[str, set[str]]:
    """distribution -> files of ``folders`` importing it (modules in ``local``, the stdlib aside)."""
    runtime, extras = _declared()
    declared = runtime | set(extras)
    dists = {m: {d.lower().replace("_", "-") for d in ds} for m, ds in packages_distributions().items()}
    imported: dict[str, set[str]] = {}
    for module, files in _imports(folders).items():
        if module in local or module in sys.stdlib_module_names or module == "__future__":
            continue
        candidates = dists.get(module, {module})  # mlflow is in mlflow, mlflow-skinny and mlflow-tracing
        dist = next(iter(sorted(candidates & declared)), sorted(candidates)[0])
        imported.setdefault(dist, set()).update(files)
    return imported


def test_runtime_dependencies_are_what_the_product_imports() -> None:
    runtime, extras = _declared()
    imported = _imported_distributions(PRODUCT, set(PRODUCT))
    undeclared = {d: sorted(f) for d, f in imported.items() if d not in runtime and d not in extras}
    assert not undeclared, f"imported but not declared in pyproject: {undeclared}"
    for dist, files in imported.items():
        if dist in extras and dist not in runtime:
            allowed = OPTIONAL.get(dist, ())
            assert set(files) <= set(allowed), f"{dist} is the optional extra [{extras[dist]}] but {sorted(files)} import it"
    unused = sorted(runtime - set(imported) - set(USED_WITHOUT_IMPORT))
    assert not unused, f"runtime dependencies nothing in the product imports (move to an extra or drop): {unused}"


def test_the_tests_and_benches_import_only_declared_packages() -> None:
    """What tests/ and bench/ import is declared too (most of it in the dev extra), not there by chance as some
    other package's dependency."""
    runtime, extras = _declared()
    folders = ("tests", "bench")
    # their own helper modules (tests/declared_reads.py, tests/dbt/lodestar_dbt_helpers.py, ...) and packages
    local = set(PRODUCT) | set(folders) | {p.stem for f in folders for p in (ROOT / f).rglob("*.py")}
    imported = _imported_distributions(folders, local)
    undeclared = {d: sorted(f)[:3] for d, f in imported.items() if d not in runtime and d not in extras}
    assert not undeclared, f"imported by tests/bench but not declared in pyproject: {undeclared}"
