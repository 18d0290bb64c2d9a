"""The dlt loader (``LODESTAR_LOADER=dlt``): one dlt run into ``raw`` on the warehouse file, its resources built
from the load's typed arrow tables and column hints. :func:`connectors.landing.land_batch` chooses the loader."""

from __future__ import annotations

import os

import pyarrow as pa

from connectors.lookups import RAW
from lodestar.settings import get_settings
from lodestar.warehouse import Warehouse


def run_dlt(pipeline_name: str, warehouse: Warehouse, resources: list) -> None:
    """One dlt run into ``raw`` on the warehouse file; raises if any job failed."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import dlt

    settings = get_settings()
    pipeline = dlt.pipeline(
        pipeline_name=pipeline_name,
        # dlt 1.31's DuckDB capabilities leave supports_transactions unset, so its merge (DELETE then
        # INSERT) ran in autocommit and a failed INSERT left the keys deleted (reproduced in
        # tests/connectors/test_file_connector.py::test_failure_inside_the_load_leaves_no_partial_rows).
        destination=dlt.destinations.duckdb(str(warehouse.path), supports_transactions=True),
        dataset_name=RAW,
        pipelines_dir=str(settings.dlt_dir),
    )
    # A package left by a crashed run would otherwise be loaded *instead of* this batch; the batch is
    # rebuilt from the same input (its files are not in the log yet), so the old package is dropped.
    if pipeline.has_pending_data:
        pipeline.abort_packages()
    pipeline.run(resources)


def make_resource(table: pa.Table, name: str, primary_key: list[str], columns: list[dict]):
    import dlt

    # Arrow nullability must match the hints, or dlt warns on every run that they differ.
    not_null = {h["name"] for h in columns if h.get("nullable") is False}
    table = table.cast(pa.schema([f.with_nullable(f.name not in not_null) for f in table.schema]))
    return dlt.resource(table, name=name, write_disposition="merge", primary_key=primary_key, columns=columns)
