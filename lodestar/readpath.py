"""The read path of the cockpit, `lodestar sql` and analysts' DuckDB clients (`lodestar snapshot` prints the
path): read-only snapshots of the warehouse, published atomically after each run.

DuckDB takes one writer per file and a reader holding the file open blocks every writer, so the cockpit never
opens the pipeline's warehouse. After a run, :func:`publish_snapshot` copies the warehouse (under a shared
read lock, seconds at most) to a new, uniquely named file in ``<LODESTAR_HOME>/snapshots/`` and then swaps the
``CURRENT`` pointer with ``os.replace``: a reader sees the old snapshot or the new one, never half of one.
Snapshot files are never written again, so any number of readers may hold them open while the pipeline runs.
Unique names (not one replaced path) matter: DuckDB caches one database instance per path in a process, so a
replaced file under the same name would keep serving the old instance.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from lodestar.settings import get_settings
from lodestar.warehouse import Warehouse

POINTER = "CURRENT"
KEEP = 3  # snapshots kept on disk: the current one and two a slow request may still be reading
# dbt views the cockpit queries on every page request, stored as tables in each snapshot: a view is recomputed
# from its staging sources on every query (int_customer_identity alone took 0.12-0.18 s per customer page on a
# scale-0.05 company, more at scale 1), a table of the same rows is read in a millisecond. A snapshot is never
# written again, so the table cannot drift from the view's definition at the time of the copy; the pipeline's
# warehouse keeps the views.
MATERIALISED_VIEWS = (
    ("intermediate", "int_as_of"),
    ("intermediate", "int_customer_identity"),
    ("intermediate", "int_custom_requests_monthly"),
    ("intermediate", "int_forecast_deviation_weekly"),
    ("staging", "stg_crm__account_managers"),
    ("staging", "stg_crm__csg_members"),
    ("staging", "stg_crm__csg_tasks"),
    ("staging", "stg_intel__complaint_heat"),
)


class NoSnapshotError(RuntimeError):
    """No snapshot has been published yet: run the main job (``make demo``) first."""


@dataclass(frozen=True)
class Snapshot:
    """One published, immutable copy of the warehouse."""

    path: Path
    snapshot_id: str
    published_at: float

    def warehouse(self) -> Warehouse:
        """The snapshot through the warehouse interface (reads only; nobody else writes the file)."""
        return Warehouse(self.path, lock_timeout=5.0)


def snapshot_dir() -> Path:
    return get_settings().home / "snapshots"


@contextlib.contextmanager
def _publishing(target_dir: Path) -> Iterator[None]:
    """One publisher at a time per snapshot folder (the sensor, `lodestar demo`, a cockpit saving a scenario)."""
    target_dir.mkdir(parents=True, exist_ok=True)
    with open(target_dir / ".publish.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _new_name(target_dir: Path) -> tuple[str, Path, Path]:
    snap_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    return snap_id, target_dir / f".{snap_id}.tmp.duckdb", target_dir / f"warehouse-{snap_id}.duckdb"


def _materialise_views(con: duckdb.DuckDBPyConnection) -> None:
    """Replace each of MATERIALISED_VIEWS that is a view in the snapshot by a table of its rows (same name)."""
    views = {(s, v) for s, v in con.execute("select schema_name, view_name from duckdb_views() where not internal")
             .fetchall()}
    for schema, name in MATERIALISED_VIEWS:
        if (schema, name) not in views:
            continue
        con.execute("begin")
        con.execute(f'create table "{schema}"."{name}__snapshot" as select * from "{schema}"."{name}"')
        con.execute(f'drop view "{schema}"."{name}"')
        con.execute(f'alter table "{schema}"."{name}__snapshot" rename to "{name}"')
        con.execute("commit")


def _install(target_dir: Path, snap_id: str, tmp: Path, final: Path) -> Snapshot:
    con = duckdb.connect(str(tmp))
    try:
        _materialise_views(con)
        con.execute("checkpoint")  # folds a copied WAL in: the snapshot is one self-contained file
    finally:
        con.close()
    os.replace(tmp, final)
    pointer_tmp = target_dir / f".{POINTER}.{snap_id}"
    pointer_tmp.write_text(final.name + "\n", encoding="utf-8")
    os.replace(pointer_tmp, target_dir / POINTER)
    _prune(target_dir, keep_name=final.name)
    return Snapshot(final, snap_id, time.time())


def publish_snapshot(warehouse_path: Path | None = None, target_dir: Path | None = None,
                     lock_timeout: float = 600.0) -> Snapshot:
    """Copy the warehouse to a new snapshot and make it current. Waits for a writer holding the file (up to
    ``lock_timeout``); the copy itself holds only a read lock, so it excludes writers for the copy's duration."""
    source = Path(warehouse_path or get_settings().warehouse_path)
    target_dir = Path(target_dir or snapshot_dir())
    if not source.exists():
        raise NoSnapshotError(f"no warehouse at {source}: run the main job first")
    with _publishing(target_dir):
        snap_id, tmp, final = _new_name(target_dir)
        # The read-only connection holds DuckDB's shared lock, so no writer changes the file while it is copied;
        # a WAL left by a writer that did not checkpoint is copied too.
        with Warehouse(source, lock_timeout=lock_timeout).connect(read_only=True):
            shutil.copyfile(source, tmp)
            wal = source.with_name(source.name + ".wal")
            if wal.exists():
                shutil.copyfile(wal, tmp.with_name(tmp.name + ".wal"))
        return _install(target_dir, snap_id, tmp, final)


def publish_derived(change: Callable[[Warehouse], object], target_dir: Path | None = None) -> Snapshot:
    """A new current snapshot = the current one with ``change`` applied to a copy of it, without touching the
    pipeline's warehouse: how the cockpit shows a write it has just committed to the warehouse (a saved
    scenario) without holding the warehouse's lock for a whole copy. ``change`` must be idempotent: the next
    full publish carries the same rows from the warehouse."""
    target_dir = Path(target_dir or snapshot_dir())
    with _publishing(target_dir):
        base = current_snapshot(target_dir)
        snap_id, tmp, final = _new_name(target_dir)
        shutil.copyfile(base.path, tmp)
        change(Warehouse(tmp, lock_timeout=5.0))
        return _install(target_dir, snap_id, tmp, final)


def _prune(target_dir: Path, keep_name: str) -> None:
    """Delete all but the newest KEEP snapshots. A reader still holding a deleted file keeps reading it (POSIX)."""
    snaps = sorted(target_dir.glob("warehouse-*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in [p for p in snaps if p.name != keep_name][KEEP - 1:]:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
            old.with_name(old.name + ".wal").unlink(missing_ok=True)


def current_snapshot(target_dir: Path | None = None) -> Snapshot:
    """The newest published snapshot; NoSnapshotError when there is none."""
    target_dir = Path(target_dir or snapshot_dir())
    pointer = target_dir / POINTER
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise NoSnapshotError(f"no snapshot published in {target_dir}: run the main job (make demo) first") from None
    path = target_dir / name
    if not path.exists():
        raise NoSnapshotError(f"{pointer} names {name}, which is gone")
    return Snapshot(path, name.removeprefix("warehouse-").removesuffix(".duckdb"), pointer.stat().st_mtime)
