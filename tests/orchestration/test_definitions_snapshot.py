"""The whole code location pinned: every asset (deps, group, kinds, owners, pool, partitions, automation), check,
job, schedule and sensor. A refactor that drops or rewires anything fails here; an intended change is recorded
with `.venv/bin/lodestar graph --update-snapshot` and shows in review as a diff of the JSON."""

from __future__ import annotations

import json

from lodestar.graph import SNAPSHOT_PATH, definitions_snapshot


def test_definitions_match_the_pinned_snapshot():
    from orchestration.definitions import load

    current = definitions_snapshot(load())
    pinned = json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8"))
    for part in ("assets", "jobs", "schedules", "sensors"):
        added = sorted(set(current[part]) - set(pinned[part]))
        dropped = sorted(set(pinned[part]) - set(current[part]))
        changed = sorted(k for k in set(current[part]) & set(pinned[part]) if current[part][k] != pinned[part][k])
        example = (f" (e.g. {changed[0]}: {pinned[part][changed[0]]} -> {current[part][changed[0]]})"
                   if changed else "")
        assert not (added or dropped or changed), (
            f"{part}: added {added}, dropped {dropped}, changed {changed[:10]}{example}; "
            "if intended run `lodestar graph --update-snapshot`")
    assert current["checks"] == pinned["checks"], (
        f"checks added {sorted(set(current['checks']) - set(pinned['checks']))[:10]}, dropped "
        f"{sorted(set(pinned['checks']) - set(current['checks']))[:10]}; if intended run `lodestar graph --update-snapshot`")


def test_every_warehouse_writer_is_in_the_pool():
    """An asset that writes the warehouse (kind duckdb or dbt) runs in the pool, one writer at a time: read off
    the live definitions, so a new asset without the pool fails here."""
    from orchestration.definitions import load

    assets = definitions_snapshot(load())["assets"]
    writers = {k for k, a in assets.items() if a["executable"] and {"duckdb", "dbt"} & set(a["kinds"])}
    assert len(writers) > 100
    assert sorted(k for k in writers if "duckdb_warehouse" not in assets[k]["pools"]) == []
