"""Contract loading: clear errors naming file and field, one bad YAML never hides the good ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.contracts import (
    ContractLoadError,
    discover_http_contracts,
    load_file_contracts,
    load_source_contract,
)

REPO_CONTRACTS = Path(__file__).resolve().parents[2] / "connectors" / "contracts"


def test_malformed_http_yaml_names_file_and_field(tmp_path: Path, http_yaml: str):
    GOOD_HTTP = http_yaml
    (tmp_path / "good.yaml").write_text(GOOD_HTTP)
    (tmp_path / "foo.yaml").write_text(GOOD_HTTP.replace("type: page_number", "type: cursor_link"))
    (tmp_path / "typo.yaml").write_text(GOOD_HTTP.replace("data_selector:", "data_selectr:"))
    (tmp_path / "broken.yaml").write_text("name: x\nsource: [unclosed\n")
    contracts, errors = discover_http_contracts(tmp_path)
    assert [c.name for c in contracts] == ["shopapi_orders"]
    text = sorted(str(e) for e in errors)
    assert text[0].startswith(f"{tmp_path / 'broken.yaml'}: line 3, column 1: not valid YAML")
    assert (
        text[1] == f"{tmp_path / 'foo.yaml'}: paginator.type: must be one of page_number, cursor, link (got 'cursor_link')"
    )
    assert text[2] == f"{tmp_path / 'typo.yaml'}: data_selectr: unknown field (typo?)"


def test_malformed_file_contracts(tmp_path: Path, shop_yaml: str):
    SHOP_YAML = shop_yaml
    (tmp_path / "shop.yaml").write_text(SHOP_YAML)
    (tmp_path / "a.yaml").write_text(
        SHOP_YAML.replace("source: shop", "source: a").replace("type: integer", "type: int", 1)
    )
    (tmp_path / "b.yaml").write_text(
        SHOP_YAML.replace("source: shop", "source: b").replace(
            "references: skus.sku_id", "references: sku.sku_id", 1
        )
    )
    (tmp_path / "c.yaml").write_text(
        SHOP_YAML.replace("source: shop", "source: c").replace(
            "primary_key: [event_id]", "primary_key: [evt]"
        )
    )
    contracts, errors = load_file_contracts(tmp_path)
    assert [c.source for c in contracts] == ["shop"]
    by_file = {e.path.name: str(e) for e in errors}
    assert by_file["a.yaml"].endswith(
        "a.yaml: feeds.orders.columns.quantity.type: must be one of string, integer, decimal, date, timestamp, boolean (got 'int')"
    )
    assert "feeds.orders.columns.sku_id.references: unknown feed column 'sku.sku_id'" in by_file["b.yaml"]
    assert "feeds.events: primary_key column 'evt' is not in columns" in by_file["c.yaml"]
    with pytest.raises(ContractLoadError, match="a.yaml"):
        load_source_contract(tmp_path / "a.yaml")


def test_load_order_follows_references(shop):
    order = shop.load_order()
    assert order.index("skus") < order.index("orders") and order.index("skus") < order.index("events")


@pytest.mark.parametrize("name", ["walmart.yaml", "online_retail.yaml", "superstore.yaml"])
def test_real_data_contracts_are_valid(name: str):
    contract = load_source_contract(REPO_CONTRACTS / name)
    assert contract.root == "shared"
