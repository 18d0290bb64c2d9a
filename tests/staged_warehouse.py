"""Test helper: builds the dbt models ml/ and nlp/ read on a small hand-made DuckDB warehouse.

Test books land only the raw columns a test needs; dbt's staging models select every column a connector
contract declares, so ``pad_raw_tables`` adds the missing ones as typed nulls first (as a landed file with empty
cells would have them). ``build_ml_inputs`` then runs the real models (``dbt run``) of the selection, leaving
marts the book wrote by hand alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import yaml

from lodestar.warehouse import Warehouse, quote_ident
from orchestration.lib.dbt import DBT_PROJECT_DIR, dbt_executable, prepare_manifest

SOURCES_FILE = DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml"
TYPES = {"string": "varchar", "integer": "bigint", "decimal": "double", "date": "date", "timestamp": "timestamp",
         "boolean": "boolean"}
LANDING = {"_source_file": "string", "_source_row": "integer", "_batch_id": "string", "_loaded_at": "timestamp"}
# The dbt models ml/ and nlp/ read, built with everything they are built from except marts.
ML_INPUTS = ("int_scenario_inputs", "int_forecasts", "int_order_lines", "int_skus", "int_customer_notes",
             "int_distributor_stock_latest", "stg_erp__customers", "stg_erp__price_list")
NLP_INPUTS = ("int_customer_directory", "stg_crm__meeting_notes", "stg_complaints__complaints", "stg_crm__visits",
              "stg_crm__contacts")


def declared_columns() -> dict[str, dict[str, str]]:
    """raw table -> {column: contract type} as dbt's source `raw` declares it."""
    doc = yaml.safe_load(SOURCES_FILE.read_text(encoding="utf-8"))
    raw = next(s for s in doc["sources"] if s["name"] == "raw")
    return {t["name"]: {c["name"]: c.get("data_type") or "string" for c in t.get("columns", [])} for t in raw["tables"]}


def pad_raw_tables(wh: Warehouse) -> None:
    declared = declared_columns()
    tables = wh.query("select table_name from information_schema.tables where table_schema = 'raw'")["table_name"]
    with wh.connect() as con:
        for table in tables:
            if table not in declared:
                continue
            have = set(con.execute("select column_name from information_schema.columns where table_schema = 'raw' "
                                   "and table_name = ?", [table]).df()["column_name"])
            landing = LANDING if not table.startswith(("forecast_", "intel_")) else {}
            for col, t in {**declared[table], **landing}.items():
                if col not in have:
                    con.execute(f"alter table raw.{quote_ident(table)} add column {quote_ident(col)} "
                                f"{TYPES.get(t, 'varchar')}")


def upstream_models(models: tuple[str, ...]) -> list[str]:
    """The models and every model they are built from, not walking through marts (the book writes those)."""
    nodes = json.loads(prepare_manifest().read_text(encoding="utf-8"))["nodes"]
    by_name = {n["name"]: uid for uid, n in nodes.items() if n["resource_type"] == "model"}
    todo, seen = [by_name[m] for m in models], set()
    while todo:
        uid = todo.pop()
        if uid in seen:
            continue
        seen.add(uid)
        todo += [p for p in nodes[uid]["depends_on"]["nodes"]
                 if p.startswith("model.") and "marts" not in nodes[p]["fqn"]]
    return sorted(nodes[u]["name"] for u in seen)


def build_ml_inputs(wh: Warehouse, models: tuple[str, ...] = ML_INPUTS) -> None:
    """Pad the raw tables, then ``dbt run`` the models (and their staging/intermediate parents) into ``wh``."""
    pad_raw_tables(wh)
    scratch = Path(os.environ.get("LODESTAR_HOME", "/tmp")).parent / f"dbt-ml-inputs-{os.getpid()}"
    env = dict(os.environ, LODESTAR_WAREHOUSE=str(wh.path), LODESTAR_DBT_TARGET="duckdb", DBT_LOG_PATH=str(scratch),
               DBT_SEND_ANONYMOUS_USAGE_STATS="false", DO_NOT_TRACK="1")
    cmd = [dbt_executable(), "run", "--select", *upstream_models(models),
           "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
           "--target-path", str(scratch / "target")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"dbt run of the ml inputs failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")


def fresh_copy(built: Path, tmp_path: Path) -> Warehouse:
    """A per-test copy of a warehouse file built once per session, so a test may write to it."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(built, path)
    return Warehouse(path)
