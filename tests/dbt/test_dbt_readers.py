"""A reader never sees a half-built mart: while dbt rebuilds marts in the warehouse, a reader on the read path
(`lodestar sql`, the cockpit and analysts' DuckDB clients all open the current snapshot, lodestar.readpath)
sees every mart as it was before the build or, once the snapshot after it is published, as it is after it —
never some marts rebuilt and others not."""

from __future__ import annotations

import shutil
import threading
import time

import duckdb
import pytest
from lodestar_dbt_helpers import Built, dbt_env, run_dbt

from lodestar.readpath import current_snapshot, publish_snapshot

# Rebuilt in this order by dbt (customer_360 joins the other two), so a reader of the live file between two
# of them would see a new customer_complexity beside an old customer_360.
REBUILT = ["customer_complexity", "customer_health", "customer_360"]
COUNTS = " union all ".join(f"select '{m}' as mart, count(*) as n from marts.{m}" for m in REBUILT)


def _counts(con: duckdb.DuckDBPyConnection) -> tuple[int, ...]:
    got = dict(con.execute(COUNTS).fetchall())
    return tuple(got[m] for m in REBUILT)


@pytest.mark.slow
def test_a_reader_during_a_dbt_build_sees_the_marts_before_or_after_never_half(built: Built, tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    warehouse = home / "warehouse.duckdb"
    shutil.copyfile(built.warehouse, warehouse)  # the session's build stays as the other tests expect it
    snaps = home / "snapshots"
    publish_snapshot(warehouse, snaps)
    before = _counts(duckdb.connect(str(current_snapshot(snaps).path), read_only=True))
    con = duckdb.connect(str(warehouse))
    # A tenth of the customers leave ERP: every rebuilt mart has fewer rows after the build.
    con.execute("delete from raw.erp_customers where hash(customer_id) % 10 = 0")
    con.close()

    seen: list[tuple[str, tuple[int, ...]]] = []
    errors: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                snap = current_snapshot(snaps)
                reader = duckdb.connect(str(snap.path), read_only=True)
                try:
                    seen.append((snap.snapshot_id, _counts(reader)))
                finally:
                    reader.close()
            except Exception as exc:  # noqa: BLE001 - any failure of a reader is what the test is about
                errors.append(repr(exc))
            time.sleep(0.2)  # a reader polling, not a second CPU hog beside dbt

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    try:
        run = run_dbt(["run", "--select", *REBUILT], dbt_env(warehouse), target_path=str(home / "dbt_target"))
        assert run.returncode == 0, run.stdout[-3000:]
        during = len(seen)
        published = publish_snapshot(warehouse, snaps)
        deadline = time.monotonic() + 30
        while not any(sid == published.snapshot_id for sid, _ in seen) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(timeout=30)
    live = duckdb.connect(str(warehouse), read_only=True)
    after = _counts(live)
    live.close()
    assert not errors, errors[:3]
    assert all(a < b for a, b in zip(after, before, strict=True)), (before, after)  # the build changed every mart
    assert during >= 5, during  # the reader really read while dbt was building
    states = {counts for _sid, counts in seen}
    assert states <= {before, after}, f"a reader saw marts neither before nor after the build: {states - {before, after}}"
    assert before in states and after in states, (before, after, states)
