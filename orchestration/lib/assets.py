"""The shapes the defs' Python assets share: a ``raw.<table>`` key, and an asset that writes one warehouse table."""

from __future__ import annotations

from typing import Any

import dagster as dg

from orchestration.lib.resources import WAREHOUSE_POOL


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def table_asset(key: dg.AssetKey, *, group: str, owners: list[str], kinds: set[str], **kwargs: Any):
    """``dg.asset`` for a Python asset writing the table its key names (schema, table): on the warehouse pool, with
    ``dagster/table_name`` in its metadata ahead of any ``metadata`` given."""
    metadata = {"dagster/table_name": ".".join(key.path), **kwargs.pop("metadata", {})}
    return dg.asset(key=key, group_name=group, owners=owners, kinds=kinds, pool=WAREHOUSE_POOL, metadata=metadata,
                    **kwargs)
