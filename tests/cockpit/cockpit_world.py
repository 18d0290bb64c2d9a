"""Helpers of the cockpit tests: a small demo company through the real main job, and the cockpit served by
uvicorn on 127.0.0.1 in a thread of the test process."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from ports import free_port

SCALE = float(os.environ.get("LODESTAR_TEST_COCKPIT_SCALE", "0.05"))
PASSWORD = "cockpit-test-pass"
CHROMIUM = "/usr/bin/chromium"
# STACK-NOTES: without the background-networking flags Chromium keeps trying outside hosts.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@dataclass
class World:
    home: Path
    warehouse: Path
    snapshots: Path
    seconds: float


@contextlib.contextmanager
def serve(app) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1:<free port> until the block ends; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the cockpit server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def login(base: str, username: str, password: str = PASSWORD) -> httpx.Client:
    """An API client signed in as ``username`` (Bearer token)."""
    r = httpx.post(f"{base}/api/login", json={"username": username, "password": password}, timeout=30)
    r.raise_for_status()
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {r.json()['token']}"}, timeout=60)
