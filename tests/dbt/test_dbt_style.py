"""The dbt house style (issue 13), checked on the session's real build: one YAML beside every model that
documents it and every column it has, an enforced contract on every mart, and exposures that name every dbt model
the cockpit and the value report read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
import yaml
from lodestar_dbt_helpers import ROOT, Built

READERS = re.compile(r"\b(staging|intermediate|marts)\.([a-z][a-z0-9_]*)")


def _manifest(built: Built) -> dict:
    return json.loads((built.home / "dbt_target" / "manifest.json").read_text(encoding="utf-8"))


def _models(manifest: dict) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]


@pytest.mark.slow
def test_every_model_has_its_own_yaml_with_every_column_described(built: Built) -> None:
    manifest = _manifest(built)
    con = duckdb.connect(str(built.warehouse), read_only=True)
    try:
        built_columns = {}
        for schema, table, column in con.execute(
                "select table_schema, table_name, column_name from information_schema.columns "
                "where table_schema in ('staging', 'intermediate', 'marts')").fetchall():
            built_columns.setdefault((schema, table), []).append(column)
    finally:
        con.close()
    problems = []
    models = _models(manifest)
    for node in models:
        sql = Path(node["original_file_path"])
        beside = str(sql.with_suffix(".yml"))
        if node.get("patch_path", "").split("://")[-1] != beside:
            problems.append(f"{node['name']}: documented in {node.get('patch_path')}, not {beside}")
            continue
        if not node["description"].strip():
            problems.append(f"{node['name']}: no description")
        documented = {c: v.get("description", "").strip() for c, v in node["columns"].items()}
        have = built_columns.get((node["schema"], node["name"]))
        assert have, f"{node['schema']}.{node['name']} was not built"
        for column in have:
            if not documented.get(column.lower()):
                problems.append(f"{node['name']}.{column}: not described in {beside}")
        for column in set(documented) - {c.lower() for c in have}:
            problems.append(f"{node['name']}.{column}: described in {beside} but the model has no such column")
    assert len(models) >= 80, len(models)
    assert not problems, "\n".join(problems)
    # One YAML per model: no shared model YAML is left (the sources file is the one shared file).
    shared = [p for p in (ROOT / "dbt_project" / "models").rglob("*.yml")
              if p.name not in ("_sources.yml", "exposures.yml") and not p.with_suffix(".sql").exists()]
    assert not shared, shared
    # Unit tests sit in the YAML of the model they test.
    for test in (n for n in manifest["unit_tests"].values()):
        assert Path(test["original_file_path"]).stem == test["model"], (test["name"], test["original_file_path"])


# The contracts' type spellings (models/marts/*.yml `data_type`), each valid on DuckDB, PostgreSQL and Spark SQL
# as it renders for the target; what it is on DuckDB (information_schema.columns.data_type).
CONTRACT_TYPES = {
    "bigint": "BIGINT",
    "date": "DATE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "{{ 'string' if target.type == 'spark' else 'text' }}": "VARCHAR",
    "{{ 'double' if target.type == 'spark' else 'double precision' }}": "DOUBLE",
}


@pytest.mark.slow
def test_every_mart_enforces_a_contract_in_portable_types(built: Built) -> None:
    """Each mart's YAML gives every column a type in one of the portable spellings, dbt enforced the contract in
    the session's build, and the built table has those types in that order."""
    manifest = _manifest(built)
    marts = [n for n in _models(manifest) if n["schema"] == "marts"]
    assert len(marts) == len(list((ROOT / "dbt_project" / "models" / "marts").glob("*.sql"))) >= 20
    con = duckdb.connect(str(built.warehouse), read_only=True)
    problems = []
    try:
        for node in marts:
            name = node["name"]
            if not node["config"]["contract"]["enforced"]:
                problems.append(f"{name}: contract not enforced")
            raw = yaml.safe_load((ROOT / "dbt_project" / node["original_file_path"]).with_suffix(".yml").read_text())
            declared = [(c["name"], c.get("data_type")) for m in raw["models"] if m["name"] == name
                        for c in m["columns"]]
            problems += [f"{name}.{c}: data_type {t!r} is not a portable spelling" for c, t in declared
                         if t not in CONTRACT_TYPES]
            built_types = con.execute("select column_name, data_type from information_schema.columns "
                                      "where table_schema = 'marts' and table_name = ? order by ordinal_position",
                                      [name]).fetchall()
            expected = [(c, CONTRACT_TYPES.get(t)) for c, t in declared]
            if built_types != expected:
                problems.append(f"{name}: built {built_types} != contract {expected}")
    finally:
        con.close()
    assert not problems, "\n".join(problems)


def _read_models(paths: list[Path]) -> set[str]:
    return {m.group(2) for p in paths for m in READERS.finditer(p.read_text(encoding="utf-8"))}


@pytest.mark.slow
def test_exposures_name_every_model_the_cockpit_and_the_value_report_read(built: Built) -> None:
    manifest = _manifest(built)
    models = {n["unique_id"]: n["name"] for n in _models(manifest)}
    exposures = {e["name"]: {models[d] for d in e["depends_on"]["nodes"]} for e in manifest["exposures"].values()}
    assert all(e["owner"].get("name") or e["owner"].get("email") for e in manifest["exposures"].values())
    cockpit = set().union(*(deps for name, deps in exposures.items() if name.startswith("cockpit_")))
    read_by_cockpit = _read_models(sorted((ROOT / "lodestar" / "cockpit").glob("*.py"))) & set(models.values())
    assert read_by_cockpit - cockpit == set(), "the cockpit reads models no cockpit exposure names"
    report = _read_models([ROOT / "lodestar" / "reports" / "value_report.py"]) & set(models.values())
    assert report - exposures["quarterly_value_report"] == set()
    # and nothing listed that the code does not read (the scenario engine reads int_scenario_inputs)
    read_by_scenarios = _read_models(sorted((ROOT / "ml").glob("scenario*.py")))
    assert cockpit - read_by_cockpit - read_by_scenarios == set()
    assert exposures["quarterly_value_report"] - report == set()
