"""Declarative HTTP connector against a real HTTP server on 127.0.0.1 speaking the demo API protocol."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from connectors import landing, lookups
from connectors.contracts import load_http_contract
from connectors.http_api import HttpAuthError, land_http_feed

TOKEN = "s3cret-token-value"


class DemoApi:
    """The protocol of CONTRACTS.md: page/page_size/updated_since, ordered by (updated_at, key), 401 without token."""

    def __init__(self) -> None:
        self.records: dict[str, dict] = {}
        self.requests: list[dict] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                api.requests.append(q)
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self.send_response(401)
                    self.end_headers()
                    return
                if url.path != "/api/v1/orders":
                    self.send_response(404)
                    self.end_headers()
                    return
                since = q.get("updated_since", "")
                rows = sorted(
                    (r for r in api.records.values() if r["updated_at"] > since),
                    key=lambda r: (r["updated_at"], r["order_id"]),
                )
                page, size = int(q.get("page", 1)), int(q.get("page_size", 100))
                body = {
                    "data": rows[(page - 1) * size : page * size],
                    "page": page,
                    "page_size": size,
                    "total_pages": -(-len(rows) // size),
                    "total": len(rows),
                }
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def put(self, order_id: str, amount, status: str, updated_at: str, customer: str = "ACME 华东") -> None:
        self.records[order_id] = {
            "order_id": order_id,
            "amount": amount,
            "status": status,
            "updated_at": updated_at,
            "customerName": customer,
        }


@pytest.fixture()
def api(monkeypatch):
    server = DemoApi()
    server.thread.start()
    monkeypatch.setenv("TEST_API_URL", server.url)
    monkeypatch.setenv("TEST_API_TOKEN", TOKEN)
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture()
def contract(tmp_path: Path, http_yaml: str):
    path = tmp_path / "http" / "shopapi_orders.yaml"
    path.parent.mkdir()
    path.write_text(http_yaml, encoding="utf-8")
    return load_http_contract(path)


def test_pagination_cursor_merge_and_rejects(api, contract, warehouse):
    api.put("O1", 10.0, "open", "2024-03-01T10:00:00")
    api.put("O2", 20.5, "shipped", "2024-03-01T11:00:00")
    api.put("O3", -5, "open", "2024-03-01T12:00:00")  # out_of_range
    api.put("O4", 7, "lost", "2024-03-01T13:00:00")  # bad_value
    api.put("O5", 1, "open", "2024-03-02T09:00:00", customer="")

    first = land_http_feed(contract, warehouse)
    assert first.pages_fetched == 3 and [r["page"] for r in api.requests] == ["1", "2", "3"]
    assert api.requests[0]["updated_since"] == "2000-01-01T00:00:00" and api.requests[0]["page_size"] == "2"
    assert (first.rows_seen, first.rows_accepted, first.rows_rejected) == (5, 3, 2)
    assert first.rejects_by_kind == {"out_of_range": 1, "bad_value": 1}
    assert first.cursor == "2024-03-02T09:00:00" and first.rows_in_table == 3
    assert first.columns["amount"] == "DOUBLE" and first.columns["updated_at"] == "TIMESTAMP"
    rej = warehouse.query(
        "select feed, kind, reason, payload, _source_file from raw.shopapi_rejects order by kind"
    )
    assert rej["reason"].tolist() == [
        "status: bad_value not one of ['open', 'shipped'] (lost)",
        "amount: out_of_range below min 0 (-5)",
    ]
    assert json.loads(rej["payload"][1])["order_id"] == "O3" and set(rej["feed"]) == {"shopapi_orders"}
    got = warehouse.query("select order_id, customer from raw.shopapi_orders order by order_id")
    assert got["order_id"].tolist() == ["O1", "O2", "O5"]
    assert got["customer"].tolist()[:2] == ["ACME 华东", "ACME 华东"] and got["customer"].isna().tolist()[2]

    # Nothing new: one request with the stored cursor less the 1 s lookback, which fetches the newest
    # record again (a record tied with it would come too); merged by key, nothing added (rejects neither).
    api.requests.clear()
    second = land_http_feed(contract, warehouse)
    assert [r["updated_since"] for r in api.requests] == ["2024-03-02T08:59:59"]
    assert (second.rows_seen, second.rows_in_table, second.cursor) == (1, 3, "2024-03-02T09:00:00")
    assert warehouse.row_count("raw", "shopapi_rejects") == 2

    # O1 updated later and O6 new: only those two come back; O1 replaces its old row by key.
    api.put("O1", 99.0, "shipped", "2024-03-03T08:00:00")
    api.put("O6", 3.0, "open", "2024-03-03T09:00:00")
    api.requests.clear()
    third = land_http_feed(contract, warehouse)
    # O5 again (lookback), O1 and O6.
    assert third.rows_seen == 3 and third.rows_accepted == 3 and third.rows_in_table == 4
    assert third.cursor == "2024-03-03T09:00:00"
    o1 = warehouse.query("select amount, status from raw.shopapi_orders where order_id = 'O1'")
    assert o1.to_dict("records") == [{"amount": 99.0, "status": "shipped"}]
    cur = warehouse.query("select cursor_value from raw._http_cursor where name = 'shopapi_orders'")
    assert cur["cursor_value"].tolist() == ["2024-03-03T09:00:00"]


def test_401_gives_clear_error_without_leaking_token(api, contract, warehouse, monkeypatch):
    monkeypatch.setenv("TEST_API_TOKEN", "wrong-token")
    with pytest.raises(HttpAuthError) as err:
        land_http_feed(contract, warehouse)
    msg = str(err.value)
    assert "401" in msg and "TEST_API_TOKEN" in msg and "shopapi_orders" in msg
    assert "wrong-token" not in msg and TOKEN not in msg
    assert not warehouse.table_exists("raw", "shopapi_orders")


def test_missing_token_env_is_named(api, contract, warehouse, monkeypatch):
    monkeypatch.delenv("TEST_API_TOKEN")
    with pytest.raises(Exception, match="TEST_API_TOKEN is not set"):
        land_http_feed(contract, warehouse)


def test_references_checked_against_landed_table(api, tmp_path, http_yaml, warehouse):
    import pandas as pd

    warehouse.replace_table("raw", "shop_skus", pd.DataFrame({"sku_id": ["S1", "S2"]}))
    path = tmp_path / "with_ref.yaml"
    path.write_text(
        http_yaml.replace(
            "  customer: {type: string, source_name: customerName}",
            "  customer: {type: string, source_name: customerName}\n  sku_id: {type: string, references: shop.skus.sku_id}",
        ),
        encoding="utf-8",
    )
    contract = load_http_contract(path)
    api.put("O1", 1, "open", "2024-03-01T10:00:00")
    api.records["O1"]["sku_id"] = "S2"
    api.put("O2", 1, "open", "2024-03-01T11:00:00")
    api.records["O2"]["sku_id"] = "S404"
    res = land_http_feed(contract, warehouse)
    assert (res.rows_accepted, res.rejects_by_kind) == (1, {"unknown_reference": 1})
    reason = warehouse.query("select reason from raw.shopapi_rejects")["reason"].tolist()
    assert reason == ["sku_id: unknown_reference shop.skus.sku_id (S404)"]


def test_crash_at_the_cursor_then_rerun_refetches(api, contract, warehouse, monkeypatch, loader):
    api.put("O1", 10.0, "open", "2024-03-01T10:00:00")
    api.put("O2", -1, "open", "2024-03-01T11:00:00")  # out_of_range

    def boom(*args, **kwargs):
        raise RuntimeError("killed while storing the cursor")

    real = landing._write_cursor
    monkeypatch.setattr(landing, "_write_cursor", boom)
    with pytest.raises(RuntimeError, match="killed"):
        land_http_feed(contract, warehouse)
    monkeypatch.setattr(landing, "_write_cursor", real)
    if loader == "duckdb":  # records, rejects and cursor share one transaction
        assert not warehouse.table_exists("raw", "shopapi_orders")
        assert not warehouse.table_exists("raw", "shopapi_rejects")
    else:  # dlt committed the records before the cursor
        assert warehouse.row_count("raw", "shopapi_orders") == 1
    assert lookups.read_cursor(warehouse, "shopapi_orders") is None

    api.requests.clear()
    res = land_http_feed(contract, warehouse)
    assert api.requests[0]["updated_since"] == "2000-01-01T00:00:00"  # refetched from the start
    assert (res.rows_in_table, res.cursor) == (1, "2024-03-01T11:00:00")
    assert warehouse.row_count("raw", "shopapi_rejects") == 1
