"""The raw layer: one multi-asset per file source and one asset per declarative HTTP feed.

Assets are built from the contracts in `connectors/contracts/` and `connectors/http/`, so a new
YAML file is a new asset with no Python written. A malformed contract is reported and skipped;
it never stops the other assets from loading.
"""

import logging
from pathlib import Path

import dagster as dg

from connectors.contracts import (
    ColumnSpec,
    ContractError,
    HttpContract,
    SourceContract,
    parse_reference,
)
from connectors.files import land_file_source
from connectors.http_api import land_http_feed
from connectors.landing import FeedLandingResult
from lodestar.company import applicable_contracts, current_company, http_environment
from lodestar.settings import PROJECT_ROOT
from orchestration.lib.assets import raw_key, table_preview
from orchestration.lib.resources import WAREHOUSE_POOL, WarehouseResource

log = logging.getLogger(__name__)

CONTRACTS_DIR = PROJECT_ROOT / "connectors" / "contracts"
HTTP_DIR = PROJECT_ROOT / "connectors" / "http"
OWNERS = ["team:data-engineering"]
_FORMAT_KIND = {"csv": "csv", "excel": "excel", "jsonl": "json"}
_DUCKDB_TYPE = {"string": "VARCHAR", "integer": "BIGINT", "decimal": "DOUBLE", "date": "DATE",
                "timestamp": "TIMESTAMP", "boolean": "BOOLEAN"}


def column_schema(columns: dict[str, ColumnSpec]) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=name,
                type=_DUCKDB_TYPE[spec.type],
                description=spec.description,
                constraints=dg.TableColumnConstraints(nullable=not spec.required),
            )
            for name, spec in columns.items()
        ]
    )


def _reference_keys(contract_source: str, columns: dict[str, ColumnSpec], own_table: str) -> set[dg.AssetKey]:
    keys = set()
    for spec in columns.values():
        if not spec.references:
            continue
        source, feed, _ = parse_reference(spec.references, contract_source)
        table = f"{source}_{feed}"
        if table != own_table:
            keys.add(raw_key(table))
    return keys


def landing_metadata(result: FeedLandingResult, preview: dg.MetadataValue) -> dict:
    meta = {
        "dagster/row_count": result.rows_in_table,
        "rows_seen": result.rows_seen,
        "rows_accepted": result.rows_accepted,
        "rows_rejected": result.rows_rejected,
        "reject_rate": round(result.reject_rate, 5),
        "rejects_by_kind": dg.MetadataValue.json(result.rejects_by_kind),
        "batch_id": result.batch_id,
        "table": dg.MetadataValue.text(result.table),
    }
    if result.files_seen:
        meta.update(files_seen=result.files_seen, files_loaded=result.files_loaded, files_skipped=result.files_skipped)
    if result.folder:  # a file feed: what it looked for, and where
        meta.update(files_matched=result.files_matched, drop_folder=dg.MetadataValue.path(result.folder),
                    files_pattern=result.files_pattern)
    if result.rows_sampled_out:
        meta["rows_sampled_out"] = result.rows_sampled_out
    if result.warning:
        meta["warning"] = dg.MetadataValue.text(result.warning)
    if result.pages_fetched or result.cursor:
        meta.update(pages_fetched=result.pages_fetched, cursor=result.cursor or "")
    meta["preview"] = preview
    return meta


def reject_rate_check(result: FeedLandingResult, asset_key: dg.AssetKey) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name="reject_rate_within_threshold",
        passed=not result.threshold_exceeded,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "reject_rate": round(result.reject_rate, 5),
            "threshold": result.reject_threshold,
            "rows_rejected": result.rows_rejected,
            "rows_seen": result.rows_seen,
        },
        description=f"share of rows rejected in this load <= {result.reject_threshold:.0%}",
    )


def files_matched_check(result: FeedLandingResult, asset_key: dg.AssetKey) -> dg.AssetCheckResult:
    """WARN when a file feed's drop folder is missing or no file matches its pattern: a wrong path (a moved
    export, a wrong LODESTAR_SHARED_DATA) must not look like a load that simply found nothing new."""
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name="files_matched",
        passed=result.files_matched > 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"files_matched": result.files_matched, "drop_folder": dg.MetadataValue.path(result.folder),
                  "files_pattern": result.files_pattern, "folder_exists": not result.folder_missing},
        description=result.warning or f"{result.files_matched} file(s) match {result.files_pattern!r} in {result.folder}",
    )


# Every asset that lands source data carries this tag: `lodestar demo --select 'tag:layer=landing'`.
LANDING_TAG = {"layer": "landing"}


def _preview(warehouse, table: str) -> dg.MetadataValue:
    """The preview of a landed table named ``raw.<table>`` (a FeedLandingResult's table)."""
    return table_preview(warehouse, *table.split(".", 1))


def file_source_assets(contract: SourceContract) -> dg.AssetsDefinition:
    """One multi-asset per file source: a table per feed plus the source's rejects table."""
    source = contract.source
    group = "real_data" if contract.root == "shared" else source
    kinds = {"duckdb"} | {_FORMAT_KIND[f.format] for f in contract.feeds.values()}
    feed_keys = {name: raw_key(contract.table_name(name)) for name in contract.feeds}
    rejects_key = raw_key(contract.rejects_table)
    specs = [
        dg.AssetSpec(
            key=feed_keys[name],
            description=(feed.description or f"{source} {name}") + f"\n\nFiles: `{contract.folder_name}/{feed.files}` ({feed.format}); primary key {feed.primary_key}.",
            group_name=group,
            kinds=kinds,
            owners=OWNERS,
            tags=LANDING_TAG,
            deps=sorted(_reference_keys(source, feed.columns, contract.table_name(name)), key=str),
            metadata={
                "dagster/column_schema": column_schema(feed.columns),
                "dagster/table_name": f"raw.{contract.table_name(name)}",
                "contract": dg.MetadataValue.path(str(contract.path)) if contract.path else "",
                "primary_key": ", ".join(feed.primary_key),
                "reject_threshold": feed.reject_threshold,
            },
            skippable=True,
        )
        for name, feed in contract.feeds.items()
    ]
    specs.append(
        dg.AssetSpec(
            key=rejects_key,
            description=f"Rows of the {source} feeds that broke their contract, with the reason and the original payload.",
            group_name=group,
            kinds={"duckdb"},
            owners=OWNERS,
            tags=LANDING_TAG,
            metadata={"dagster/table_name": f"raw.{contract.rejects_table}"},
            # Written by the same load as the feeds: never split into a step that runs before them.
            deps=sorted(feed_keys.values(), key=str),
            skippable=True,
        )
    )
    check_specs = [
        dg.AssetCheckSpec("reject_rate_within_threshold", asset=feed_keys[name],
                          description=f"rejected / seen <= {feed.reject_threshold:.0%}")
        for name, feed in contract.feeds.items()
    ] + [
        dg.AssetCheckSpec("files_matched", asset=feed_keys[name],
                          description=f"the drop folder exists and a file matches {feed.files!r} (warns otherwise)")
        for name, feed in contract.feeds.items()
    ]

    @dg.multi_asset(
        name=f"land_{source}",
        specs=specs,
        check_specs=check_specs,
        can_subset=True,
        pool=WAREHOUSE_POOL,
        description=contract.description,
    )
    def _land(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        selected = context.selected_asset_keys
        # Multi-assets must yield in dependency order: the contract's load order is that order.
        feeds = [name for name in contract.load_order() if feed_keys[name] in selected]
        wh = warehouse.get()
        # An empty selection of feeds means "only report the rejects table", never "land all".
        result = land_file_source(contract, wh, feeds=feeds) if feeds else None
        for name in feeds:
            fr = result.feeds[name]
            context.log.info(
                f"{fr.table}: {fr.rows_accepted} accepted, {fr.rows_rejected} rejected "
                f"({fr.files_loaded} new files, {fr.files_skipped} already loaded)"
            )
            if fr.warning:
                context.log.warning(fr.warning)
            yield dg.MaterializeResult(asset_key=feed_keys[name], metadata=landing_metadata(fr, _preview(wh, fr.table)))
            yield reject_rate_check(fr, feed_keys[name])
            yield files_matched_check(fr, feed_keys[name])
        if rejects_key in selected:
            by_feed = {name: fr.rows_rejected for name, fr in result.feeds.items()} if result else {}
            yield dg.MaterializeResult(
                asset_key=rejects_key,
                metadata={
                    "dagster/row_count": wh.row_count("raw", contract.rejects_table),
                    "rejected_this_load": dg.MetadataValue.json(by_feed),
                    "preview": table_preview(wh, "raw", contract.rejects_table),
                },
            )

    return _land


def http_feed_asset(contract: HttpContract) -> dg.AssetsDefinition:
    """One asset per declarative HTTP feed; its rejects go to ``raw.<source>_rejects``."""
    key = raw_key(contract.table_name)

    @dg.asset(
        key=key,
        description=(contract.description or contract.name)
        + f"\n\nHTTP `GET {contract.endpoint.path}` (base URL from `${contract.base_url_env}`), "
        f"paginated by {contract.paginator.type}, primary key {contract.primary_key}.",
        group_name=contract.source,
        kinds={"duckdb", "api"},
        owners=OWNERS,
        tags=LANDING_TAG,
        pool=WAREHOUSE_POOL,
        metadata={
            "dagster/column_schema": column_schema(contract.columns),
            "dagster/table_name": f"raw.{contract.table_name}",
            "contract": dg.MetadataValue.path(str(contract.path)) if contract.path else "",
            "rejects_table": f"raw.{contract.rejects_table}",
            "cursor_field": contract.incremental.cursor_field if contract.incremental else "",
        },
        check_specs=[dg.AssetCheckSpec("reject_rate_within_threshold", asset=key)],
        # Cross-source references are checked against landed tables: those land first.
        deps=sorted(_reference_keys(contract.source, contract.columns, contract.table_name), key=str),
        retry_policy=dg.RetryPolicy(max_retries=2, delay=2),
    )
    def _land(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        wh = warehouse.get()
        with http_environment(current_company(), contract):
            fr = land_http_feed(contract, wh)
        context.log.info(f"{fr.table}: {fr.pages_fetched} pages, {fr.rows_accepted} accepted, {fr.rows_rejected} rejected")
        yield dg.MaterializeResult(metadata=landing_metadata(fr, _preview(wh, fr.table)))
        yield reject_rate_check(fr, key)

    return _land


def _report(errors: list[ContractError]) -> None:
    for err in errors:
        log.error("contract skipped: %s", err)


def build_raw_assets(
    contracts_dir: Path = CONTRACTS_DIR, http_dir: Path = HTTP_DIR
) -> tuple[list[dg.AssetsDefinition], list[ContractError]]:
    """Assets for every valid contract that applies to the configured company (lodestar.yaml: its
    contract folders and sources; default: every contract of the checkout), and the errors of the
    invalid ones (logged, not raised)."""
    sources, feeds, errors = applicable_contracts(current_company(), contracts_dir, http_dir)
    _report(errors)
    assets = [file_source_assets(c) for c in sources] + [http_feed_asset(c) for c in feeds]
    return assets, errors


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_raw_assets()[0])
