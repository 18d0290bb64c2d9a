"""The demo HTTP API: bearer auth, page_number pagination, updated_since cursor, served on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from lodestar.demo.api import serve_demo_api

TOKEN = "test-token-not-a-secret"


@pytest.fixture(scope="module")
def api(demo_small: tuple[Path, dict]):
    with serve_demo_api(demo_small[0], TOKEN) as url:
        yield url, demo_small[0]


def _get(url: str, path: str, token: str | None = TOKEN, **params: object) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(url + path, params=params, headers=headers, timeout=30)


def test_binds_loopback_and_rejects_missing_or_wrong_token(api: tuple[str, Path]) -> None:
    url, _ = api
    assert url.startswith("http://127.0.0.1:")
    assert _get(url, "/api/v1/ecommerce/orders", token=None).status_code == 401
    r = _get(url, "/api/v1/ecommerce/orders", token="wrong")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert _get(url, "/api/v1/ecommerce/orders").status_code == 200
    assert _get(url, "/api/v1/nope").status_code == 404
    assert _get(url, "/api/v1/ecommerce/orders", page=0).status_code == 400
    assert _get(url, "/api/v1/ecommerce/orders", updated_since="yesterday").status_code == 400


@pytest.mark.parametrize("path,name", [("/api/v1/ecommerce/orders", "ecommerce_orders"),
                                       ("/api/v1/customers/kpis", "customer_kpis")])
def test_pagination_returns_every_record_once_in_cursor_order(api: tuple[str, Path], path: str, name: str) -> None:
    url, demo = api
    on_disk = [json.loads(x) for x in (demo / "api" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
    got, page, total_pages = [], 1, None
    while total_pages is None or page <= total_pages:
        body = _get(url, path, page=page, page_size=97).json()
        assert body["page"] == page and body["page_size"] == 97 and body["total"] == len(on_disk)
        total_pages = body["total_pages"]
        got += body["data"]
        page += 1
    assert total_pages == -(-len(on_disk) // 97)
    canon = sorted(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in got)
    assert canon == sorted(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in on_disk)
    cursors = [r["updated_at"] for r in got]
    assert cursors == sorted(cursors)
    assert _get(url, path, page=total_pages + 1, page_size=97).json()["data"] == []


def test_updated_since_filters_strictly_after(api: tuple[str, Path]) -> None:
    url, demo = api
    on_disk = [json.loads(x) for x in (demo / "api" / "ecommerce_orders.jsonl").read_text(encoding="utf-8").splitlines()]
    since = sorted(r["updated_at"] for r in on_disk)[len(on_disk) * 3 // 4]
    expected = [r for r in on_disk if r["updated_at"] > since]
    body = _get(url, "/api/v1/ecommerce/orders", updated_since=since, page_size=5000).json()
    assert body["total"] == len(expected) > 0
    assert all(r["updated_at"] > since for r in body["data"])
    assert sorted(r["order_id"] for r in body["data"]) == sorted(r["order_id"] for r in expected)
    # Records changed after they were created (refunds) are what makes the cursor matter.
    assert any(r["updated_at"][:10] > r["order_time"][:10] for r in expected if isinstance(r["order_time"], str))
    # A date-only cursor is accepted too.
    assert _get(url, "/api/v1/ecommerce/orders", updated_since=since[:10]).status_code == 200
