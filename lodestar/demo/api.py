"""Local HTTP API of the demo company (e-commerce orders, customer KPIs) per the protocol in connectors/CONTRACTS.md.

Bearer-token auth, page_number pagination, an ``updated_since`` cursor, JSON. Binds 127.0.0.1 by default.
Run ``LODESTAR_DEMO_API_TOKEN=... python -m lodestar.demo.api --demo-dir D --port P``.
"""

from __future__ import annotations

import argparse
import bisect
import hmac
import json
import logging
import math
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

from lodestar.settings import PROJECT_ROOT

HTTP_CONTRACTS_DIR = PROJECT_ROOT / "connectors" / "http"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 5000
CURSOR_FORMAT = "%Y-%m-%dT%H:%M:%S"
log = logging.getLogger(__name__)


@dataclass
class Endpoint:
    name: str
    path: str
    cursor_field: str
    keys: list[str]          # cursor values, sorted, for bisect
    records: list[bytes]     # the JSON of each record, in (cursor, primary key) order


def load_endpoints(demo_dir: Path, contracts_dir: Path = HTTP_CONTRACTS_DIR) -> dict[str, Endpoint]:
    """Every HTTP contract whose data file exists under demo_dir/api, keyed by URL path."""
    endpoints = {}
    for contract in sorted(contracts_dir.glob("*.yaml")):
        spec = yaml.safe_load(contract.read_text(encoding="utf-8"))
        data = Path(demo_dir) / "api" / f"{spec['name']}.jsonl"
        if not data.exists():
            continue
        cursor = spec["incremental"]["cursor_field"]
        pk = spec["primary_key"]
        rows = []
        with data.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{data}: line {n} is not valid JSON ({exc})") from exc
                rows.append((str(rec.get(cursor) or ""), tuple(str(rec.get(k)) for k in pk), n,
                             json.dumps(rec, ensure_ascii=False).encode()))
        rows.sort(key=lambda r: (r[0], r[1], r[2]))
        path = spec["endpoint"]["path"]
        endpoints[path] = Endpoint(spec["name"], path, cursor, [r[0] for r in rows], [r[3] for r in rows])
    if not endpoints:
        raise FileNotFoundError(f"no API data under {Path(demo_dir) / 'api'} matching {contracts_dir}/*.yaml")
    return endpoints


def _normalise_since(value: str) -> str:
    """Accept ISO dates and timestamps (space or T, optional zone) and compare as naive ISO text."""
    dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return dt.replace(tzinfo=None).strftime(CURSOR_FORMAT)


def _make_handler(endpoints: dict[str, Endpoint], token: str) -> type[BaseHTTPRequestHandler]:
    expected = f"Bearer {token}".encode()

    class Handler(BaseHTTPRequestHandler):
        server_version = "LodestarDemoAPI/1.0"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            # Path only: never the query string or headers (the token travels in a header).
            log.debug("%s %s", self.command, urlsplit(self.path).path)

        def _send(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self._send_raw(status, data, headers)

        def _send_raw(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            url = urlsplit(self.path)
            if url.path == "/api/v1/health":
                self._send(200, {"status": "ok", "endpoints": sorted(endpoints)})
                return
            auth = (self.headers.get("Authorization") or "").encode()
            if not hmac.compare_digest(auth, expected):
                self._send(401, {"error": "missing or invalid bearer token"}, {"WWW-Authenticate": "Bearer"})
                return
            ep = endpoints.get(url.path.rstrip("/"))
            if ep is None:
                self._send(404, {"error": f"unknown endpoint {url.path}", "endpoints": sorted(endpoints)})
                return
            q = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                page = int(q.get("page", "1"))
                size = int(q.get("page_size", str(DEFAULT_PAGE_SIZE)))
                if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
                    raise ValueError
            except ValueError:
                self._send(400, {"error": f"page must be >= 1 and page_size in 1..{MAX_PAGE_SIZE}"})
                return
            start = 0
            if q.get("updated_since"):
                try:
                    since = _normalise_since(q["updated_since"])
                except ValueError:
                    self._send(400, {"error": f"updated_since is not an ISO timestamp: {q['updated_since']!r}"})
                    return
                start = bisect.bisect_right(ep.keys, since)
            total = len(ep.records) - start
            lo = start + (page - 1) * size
            chunk = ep.records[lo:min(lo + size, len(ep.records))] if lo < len(ep.records) else []
            meta = {"page": page, "page_size": size, "total_pages": math.ceil(total / size), "total": total}
            body = b'{"data": [' + b", ".join(chunk) + b"], " + json.dumps(meta).encode()[1:]
            self._send_raw(200, body)

    return Handler


@contextmanager
def serve_demo_api(demo_dir: Path, token: str, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve demo_dir/api/*.jsonl in a background thread; yields the base URL (e.g. http://127.0.0.1:54321)."""
    if not token:
        raise ValueError("a non-empty API token is required")
    server = ThreadingHTTPServer((host, port), _make_handler(load_endpoints(Path(demo_dir)), token))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="lodestar-demo-api", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Serve the demo company's HTTP API (token from LODESTAR_DEMO_API_TOKEN).")
    ap.add_argument("--demo-dir", type=Path, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args(argv)
    token = os.environ.get("LODESTAR_DEMO_API_TOKEN")
    if not token:
        sys.exit("set LODESTAR_DEMO_API_TOKEN to the bearer token clients must send")
    with serve_demo_api(args.demo_dir, token, args.host, args.port) as url:
        print(f"demo API on {url} (endpoints: {', '.join(sorted(load_endpoints(args.demo_dir)))}); Ctrl-C stops",
              flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
