"""Every resource the asset graph uses, built in one place and injected; no global connections."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from lodestar.settings import get_settings
from lodestar.warehouse import Warehouse

# Every asset that writes the DuckDB file runs in this pool (limit 1, see .dagster/dagster.yaml).
WAREHOUSE_POOL = "duckdb_warehouse"


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file (Postgres for dbt is chosen by the dbt target, not here)."""

    path: str

    def get(self) -> Warehouse:
        return Warehouse(Path(self.path))


class SourceApiResource(dg.ConfigurableResource):
    """Where the HTTP feeds are served from.

    With ``serve_demo`` on (the default), the bundled demo company's API is started on 127.0.0.1
    for the duration of the step and stopped after it, with a fresh random token. With it off,
    each feed reads its base URL and token from the env vars its YAML names.
    """

    serve_demo: bool = True
    demo_dir: str

    _url: str | None = PrivateAttr(default=None)
    _token: str | None = PrivateAttr(default=None)

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[SourceApiResource]:
        if not self.serve_demo:
            yield self
            return
        from lodestar.demo.api import serve_demo_api

        token = secrets.token_urlsafe(24)
        with serve_demo_api(Path(self.demo_dir), token=token) as url:
            self._url, self._token = url, token
            yield self

    @contextlib.contextmanager
    def environment_for(self, base_url_env: str, token_env: str | None) -> Iterator[None]:
        """Point a feed's env vars at the demo API for the duration of one load, then restore them."""
        if self._url is None:
            yield
            return
        overrides = {base_url_env: self._url}
        if token_env:
            overrides[token_env] = self._token or ""
        saved = {k: os.environ.get(k) for k in overrides}
        os.environ.update(overrides)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def build_resources() -> dict[str, object]:
    settings = get_settings()
    return {
        "warehouse": WarehouseResource(path=str(settings.warehouse_path)),
        "source_api": SourceApiResource(
            serve_demo=os.environ.get("LODESTAR_SERVE_DEMO_API", "true").lower() != "false",
            demo_dir=str(settings.demo_dir),
        ),
    }
