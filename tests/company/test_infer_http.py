"""`lodestar connector infer-http`: data selector, pagination style, updated-since parameter, and a
proposal the HTTP connector loads and lands (against APIs on 127.0.0.1)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from connectors.contracts import load_http_contract
from connectors.http_api import HttpFeedError, land_http_feed
from connectors.infer_http import ProbeError, infer_http_contract
from lodestar.cli import app
from lodestar.demo.api import serve_demo_api


def test_demo_api_proposal_loads_and_lands_incrementally(tmp_path, warehouse, monkeypatch):
    api_dir = tmp_path / "demo" / "api"
    api_dir.mkdir(parents=True)
    records = [{"order_id": f"E{i:03d}", "platform": "天猫", "quantity": i, "unit_price": f"{i}.5",
                "order_time": f"2024-05-{i:02d}T08:00:00", "updated_at": f"2024-05-{i:02d}T09:00:00"}
               for i in range(1, 10)]
    (api_dir / "ecommerce_orders.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    with serve_demo_api(tmp_path / "demo", token="s3cret") as base:
        inf = infer_http_contract(f"{base}/api/v1/ecommerce/orders?page_size=4", source="shopapi",
                                  token_env="SHOP_TOKEN", token="s3cret")
        assert (inf.name, inf.data_selector, inf.loadable) == ("ecommerce_orders", "data", True)
        assert inf.paginator == {"type": "page_number", "page_param": "page", "total_path": "total_pages",
                                 "base_page": 1}
        assert inf.incremental == {"cursor_param": "updated_since", "cursor_field": "updated_at",
                                   "initial_value": "2000-01-01T00:00:00"}
        assert inf.primary_key == ["order_id"] and inf.params == {"page_size": 4}
        assert inf.columns["order_time"] == {"type": "timestamp", "required": True, "format": "%Y-%m-%dT%H:%M:%S"}
        assert inf.columns["quantity"]["type"] == "integer" and inf.columns["unit_price"]["type"] == "decimal"
        assert "s3cret" not in inf.yaml_text()

        path = tmp_path / "ecommerce_orders.yaml"
        path.write_text(inf.yaml_text(), encoding="utf-8")
        contract = load_http_contract(path)
        monkeypatch.setenv("SHOPAPI_API_URL", base)
        monkeypatch.setenv("SHOP_TOKEN", "s3cret")
        first = land_http_feed(contract, warehouse)
        assert (first.pages_fetched, first.rows_accepted, first.rows_rejected) == (3, 9, 0)
        again = land_http_feed(contract, warehouse)
        # The stored cursor is re-sent a second early (incremental.lookback_seconds) so records tied at it are
        # not lost: the last record is read again and merges by key, nothing is added.
        assert again.rows_seen == 1 and again.rows_accepted <= 1 and again.rows_in_table == 9


@pytest.mark.parametrize(("style", "selector", "paginator"), [
    ("page_number", "items", {"type": "page_number", "page_param": "page", "total_path": "meta.total_pages",
                              "base_page": 1}),
    ("cursor", "results", {"type": "cursor", "cursor_path": "next_cursor", "cursor_param": "cursor"}),
    ("link", "data", {"type": "link", "header": "Link"}),
    ("link_body", "data", {"type": "link", "next_url_path": "links.next"}),
])
def test_pagination_styles_and_since_parameter_are_found(styled_api, style, selector, paginator, tmp_path,
                                                         warehouse, monkeypatch):
    api = styled_api(style)
    inf = infer_http_contract(f"{api.url}/v2/orders", token_env="T", token="t0ken")
    assert (inf.data_selector, inf.paginator) == (selector, paginator)
    assert inf.incremental == {"cursor_param": "since", "cursor_field": "updatedAt",
                               "initial_value": "2000-01-01T00:00:00"}
    assert inf.columns["customer_name"]["source_name"] == "customerName"
    assert inf.primary_key == ["id"]
    # Every proposed style loads: the HTTP connector follows page numbers, cursors and next links alike.
    assert inf.loadable
    path = tmp_path / "orders.yaml"
    path.write_text(inf.yaml_text(), encoding="utf-8")
    contract = load_http_contract(path)
    monkeypatch.setenv(contract.base_url_env, api.url)
    monkeypatch.setenv("T", "t0ken")
    first = land_http_feed(contract, warehouse)
    assert (first.pages_fetched, first.rows_accepted, first.rows_rejected, first.rows_in_table) == (3, 7, 0, 7)
    assert set(warehouse.query(f"select id from raw.{contract.table_name}")["id"]) == {f"O{i}" for i in range(1, 8)}
    # The incremental re-run sends `since` on every page (also when a next link leaves it out): only the
    # record at the cursor comes back and merges by key.
    again = land_http_feed(contract, warehouse)
    assert again.rows_seen == 1 and again.rows_in_table == 7


def test_next_link_off_the_base_url_is_not_followed(styled_api, tmp_path, warehouse, monkeypatch):
    """The Link header names 127.0.0.1; a feed configured on localhost must not send its token there."""
    api = styled_api("link")
    inf = infer_http_contract(f"{api.url}/v2/orders", token_env="T", token="t0ken")
    path = tmp_path / "orders.yaml"
    path.write_text(inf.yaml_text(), encoding="utf-8")
    contract = load_http_contract(path)
    monkeypatch.setenv(contract.base_url_env, api.url.replace("127.0.0.1", "localhost"))
    monkeypatch.setenv("T", "t0ken")
    with pytest.raises(HttpFeedError, match="leaves the feed's base URL"):
        land_http_feed(contract, warehouse)
    assert not warehouse.table_exists("raw", contract.table_name)


def test_refused_token_is_a_clear_error(styled_api):
    api = styled_api("page_number")
    with pytest.raises(ProbeError, match="answered 401: set the bearer token"):
        infer_http_contract(f"{api.url}/v2/orders", token="wrong")


def test_cli_reads_the_token_from_the_named_env_var_and_never_prints_it(styled_api, tmp_path, home):
    api = styled_api("page_number")
    out = tmp_path / "orders.yaml"
    result = CliRunner().invoke(app, ["connector", "infer-http", f"{api.url}/v2/orders", "--token-env", "MY_TOKEN",
                                      "--source", "shopapi", "--out", str(out)], env={"MY_TOKEN": "t0ken"})
    assert result.exit_code == 0, result.output
    assert "t0ken" not in result.output and "t0ken" not in out.read_text(encoding="utf-8")
    contract = load_http_contract(out)
    assert contract.auth.token_env == "MY_TOKEN" and contract.paginator.total_path == "meta.total_pages"
    missing = CliRunner().invoke(app, ["connector", "infer-http", f"{api.url}/v2/orders", "--token-env", "NOPE"],
                                 env={"NOPE": ""})
    assert missing.exit_code == 2 and "NOPE is not set" in missing.output
