"""Fixtures for the own-company tests: an isolated LODESTAR_HOME / demo dir per test and small sample
exports written the way ERP tools write them (GB18030, title lines, BOMs, semicolons)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lodestar.warehouse import Warehouse

CUSTOMERS_YAML = """
source: shop
description: Test shop master data
root: drops
feeds:
  customers:
    files: "customers*.csv"
    format: csv
    encodings: [utf-8, gb18030]
    primary_key: [customer_id]
    columns:
      customer_id: {type: string, required: true}
      customer_name: {type: string, required: true}
      tier: {type: string, values: [A, B, C]}
"""


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LODESTAR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LODESTAR_WAREHOUSE", raising=False)
    monkeypatch.setenv("LODESTAR_DEMO_DIR", str(tmp_path / "home" / "demo"))
    monkeypatch.delenv("LODESTAR_COMPANY", raising=False)
    return tmp_path / "home"


@pytest.fixture()
def warehouse(home: Path) -> Warehouse:
    return Warehouse(home / "warehouse.duckdb")


@pytest.fixture()
def shop_contracts(tmp_path: Path, home: Path) -> Path:
    """A contracts folder with one known feed (shop.customers, 40 customers) and its file in the drops."""
    folder = tmp_path / "contracts"
    folder.mkdir()
    (folder / "shop.yaml").write_text(CUSTOMERS_YAML, encoding="utf-8")
    drops = home / "demo" / "drops" / "shop"
    drops.mkdir(parents=True)
    lines = ["customer_id,customer_name,tier"] + [f"C{i:05d},客户{i},{'ABC'[i % 3]}" for i in range(1, 41)]
    (drops / "customers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def gb18030_orders(n: int = 30, bad_customer: bool = False) -> bytes:
    """A Chinese ERP order export: a title line, Chinese headers (one with a unit), GB18030."""
    rows = ["销售订单导出 2024年5月", "订单编号,订单日期,客户编号,商品编码,数量,单价（元）,备注"]
    for i in range(1, n + 1):
        customer = "C99999" if bad_customer and i == n else f"C{(i % 40) + 1:05d}"
        note = "加急" if i % 4 == 0 else ""
        rows.append(f"SO{i:04d},2024/05/{(i % 28) + 1:02d},{customer},SKU{i % 7:03d},{i * 3},{i * 1.5:.2f},{note}")
    return ("\r\n".join(rows) + "\r\n").encode("gb18030")


class StyledAPI:
    """A local JSON API on 127.0.0.1 paging the same 7 records in one of four styles, filtering on
    ``?since=`` (not the demo API's ``updated_since``, so the probe has to find it)."""

    RECORDS = [
        {"id": f"O{i}", "customerName": f"客户{i}", "amount": f"{i * 10}.50", "qty": i,
         "updatedAt": f"2024-05-0{i}T10:00:00"} for i in range(1, 8)
    ]

    def __init__(self, style: str, size: int = 3) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs, urlsplit

        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.headers.get("Authorization") != "Bearer t0ken":
                    self.send_response(401)
                    self.end_headers()
                    return
                url = urlsplit(self.path)
                q = {k: v[-1] for k, v in parse_qs(url.query).items()}
                recs = [r for r in api.RECORDS if not q.get("since") or r["updatedAt"] > q["since"]]
                headers: dict[str, str] = {}
                if style == "cursor":
                    start = int(q.get("cursor", "0"))
                    chunk = recs[start:start + size]
                    nxt = start + size
                    body = {"results": chunk, "next_cursor": str(nxt) if nxt < len(recs) else None}
                else:
                    page = int(q.get("page", "1"))
                    chunk = recs[(page - 1) * size:page * size]
                    more = page * size < len(recs)
                    if style == "page_number":
                        body = {"items": chunk, "meta": {"page": page, "total_pages": -(-len(recs) // size),
                                                         "total": len(recs)}}
                    elif style == "link_body":
                        body = {"data": chunk, "links": {"next": f"{url.path}?page={page + 1}" if more else None}}
                    else:  # link header
                        body = {"data": chunk}
                        if more:
                            headers["Link"] = f'<http://127.0.0.1:{api.port}{url.path}?page={page + 1}>; rel="next"'
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture()
def styled_api():
    servers: list[StyledAPI] = []

    def start(style: str) -> StyledAPI:
        servers.append(StyledAPI(style))
        return servers[-1]

    yield start
    for s in servers:
        s.close()
