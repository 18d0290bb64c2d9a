"""The shapes the defs' Python assets share: a ``raw.<table>`` key, an asset that writes one warehouse table, and
markdown tables (a frame, a table's first rows) for their metadata."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd

from lodestar.warehouse import Warehouse, quote_ident
from orchestration.lib.resources import WAREHOUSE_POOL


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def table_asset(key: dg.AssetKey, *, group: str, owners: list[str], kinds: set[str], **kwargs: Any):
    """``dg.asset`` for a Python asset writing the table its key names (schema, table): on the warehouse pool, with
    ``dagster/table_name`` in its metadata ahead of any ``metadata`` given."""
    metadata = {"dagster/table_name": ".".join(key.path), **kwargs.pop("metadata", {})}
    return dg.asset(key=key, group_name=group, owners=owners, kinds=kinds, pool=WAREHOUSE_POOL, metadata=metadata,
                    **kwargs)


def md_table(df: pd.DataFrame, empty: str = "(none)") -> dg.MetadataValue:
    """A frame as a markdown table in asset metadata; ``empty`` when it has no rows."""
    return dg.MetadataValue.md(df.to_markdown(index=False) if len(df) else empty)


def table_preview(warehouse: Warehouse, schema: str, table: str, limit: int = 5,
                  clip: tuple[str, ...] = ()) -> dg.MetadataValue:
    """The first ``limit`` rows of ``schema.table`` in asset metadata, the text columns in ``clip`` cut to 60
    characters (page texts would swamp it); "(empty)" when the table is absent or has no rows."""
    if not warehouse.table_exists(schema, table):
        return dg.MetadataValue.md("(empty)")
    df = warehouse.query(f"select * from {quote_ident(schema)}.{quote_ident(table)} limit {int(limit)}")
    for col in clip:
        if col in df.columns:
            df[col] = df[col].astype("string").str.slice(0, 60)
    return md_table(df, "(empty)")
