"""The raw layer's asset factory: contracts become assets, bad contracts are reported, not fatal."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import dagster as dg
import pytest

from orchestration.defs.raw.assets import CONTRACTS_DIR, HTTP_DIR, build_raw_assets
from orchestration.defs.resources import build_resources
from orchestration.lib.resources import WAREHOUSE_POOL

NEW_FEED = textwrap.dedent(
    """
    name: partner_invoices
    source: partner
    description: Invoices from a partner's billing API.
    base_url_env: PARTNER_API_URL
    auth: {type: bearer, token_env: PARTNER_API_TOKEN}
    endpoint: {path: /v2/invoices, params: {page_size: 100}}
    data_selector: items
    paginator: {type: page_number, page_param: p, total_path: pages, base_page: 1}
    incremental: {cursor_param: changed_after, cursor_field: changed_at, initial_value: "2020-01-01T00:00:00"}
    primary_key: [invoice_id]
    columns:
      invoice_id: {type: string, required: true, description: Partner invoice number}
      amount: {type: decimal, min: 0, description: Invoice total in CNY}
      changed_at: {type: timestamp, required: true, description: Last change}
    """
)


@pytest.fixture
def contract_dirs(tmp_path: Path) -> tuple[Path, Path]:
    files, http = tmp_path / "contracts", tmp_path / "http"
    shutil.copytree(CONTRACTS_DIR, files)
    shutil.copytree(HTTP_DIR, http)
    return files, http


def build_raw_defs(contracts_dir: Path, http_dir: Path) -> tuple[dg.Definitions, list]:
    assets, errors = build_raw_assets(contracts_dir, http_dir)
    return dg.Definitions(assets=assets, resources=build_resources()), errors


def _keys(defs: dg.Definitions) -> set[str]:
    return {k.to_user_string() for k in defs.resolve_all_asset_keys()}


def test_every_contract_feed_is_an_asset_with_a_check(contract_dirs):
    defs, errors = build_raw_defs(*contract_dirs)
    assert errors == []
    keys = _keys(defs)
    from connectors.contracts import discover_http_contracts, load_file_contracts

    sources, _ = load_file_contracts(contract_dirs[0])
    feeds, _ = discover_http_contracts(contract_dirs[1])
    expected = {f"raw/{s.table_name(f)}" for s in sources for f in s.feeds} | {f"raw/{s.rejects_table}" for s in sources}
    expected |= {f"raw/{c.table_name}" for c in feeds}
    assert expected <= keys
    checks = {(c.asset_key.to_user_string(), c.name) for c in defs.resolve_asset_graph().asset_check_keys}
    for key in expected - {f"raw/{s.rejects_table}" for s in sources}:
        assert (key, "reject_rate_within_threshold") in checks


def test_assets_carry_group_kinds_owners_and_schema(contract_dirs):
    defs, _ = build_raw_defs(*contract_dirs)
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name, key
        assert node.owners, key
        assert "duckdb" in node.kinds, key
        if not key.path[-1].endswith("rejects"):
            assert node.metadata.get("dagster/column_schema") is not None, key
            assert node.description, key


def test_every_warehouse_writer_runs_in_the_single_writer_pool(contract_dirs):
    defs, _ = build_raw_defs(*contract_dirs)
    for assets_def in defs.assets:
        assert assets_def.op.pool == WAREHOUSE_POOL, assets_def.node_def.name


def test_a_new_yaml_file_becomes_an_asset(contract_dirs):
    files, http = contract_dirs
    (http / "partner_invoices.yaml").write_text(NEW_FEED, encoding="utf-8")
    defs, errors = build_raw_defs(files, http)
    assert errors == []
    assert "raw/partner_invoices" in _keys(defs)
    node = defs.resolve_asset_graph().get(dg.AssetKey(["raw", "partner_invoices"]))
    assert node.group_name == "partner"
    assert [c.name for c in node.metadata["dagster/column_schema"].columns] == ["invoice_id", "amount", "changed_at"]


def test_a_malformed_yaml_names_file_and_field_and_spares_the_rest(contract_dirs):
    files, http = contract_dirs
    broken = NEW_FEED.replace("type: page_number", "type: cursor_magic")
    (http / "broken_feed.yaml").write_text(broken, encoding="utf-8")
    (http / "not_yaml.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    defs, errors = build_raw_defs(files, http)
    messages = [str(e) for e in errors]
    assert any("broken_feed.yaml" in m and "paginator.type" in m for m in messages), messages
    assert any("not_yaml.yaml" in m for m in messages), messages
    good, _ = build_raw_defs(files, HTTP_DIR)
    assert _keys(good) <= _keys(defs)
