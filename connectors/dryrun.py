"""Dry-run one file against its contract (`lodestar contract check`): the real reader and validation of
the file connector, nothing written.

The outcome is what a load would do with the file — accepted rows, rejects with the same ``kind`` and
``reason`` as ``raw.<source>_rejects`` — without touching the warehouse (it is opened read-only, and only
to check references against landed tables; with no warehouse file nothing is created).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

import pandas as pd

from connectors.contracts import (
    FeedContract,
    SourceContract,
    load_file_contracts,
    load_source_contract,
    parse_reference,
)
from connectors.files import FileReadError, _NewFile, check_files, read_feed_file
from connectors.lookups import resolve_references
from lodestar.files import sha256_file
from lodestar.warehouse import Warehouse

CONTRACTS_DIR = Path(__file__).with_name("contracts")


class CheckError(ValueError):
    """No contract / feed matches the file, or several do (the message names them)."""


@dataclass
class CheckResult:
    path: Path
    contract: SourceContract
    feed: FeedContract
    rows_seen: int
    rows_accepted: int
    rejects: pd.DataFrame  # _source_row, kind, reason, payload
    encoding: str | None
    notes: list[str] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return len(self.rejects)

    def kinds(self) -> dict[str, int]:
        return {str(k): int(n) for k, n in self.rejects["kind"].value_counts().items()} if len(self.rejects) else {}


def find_feed(path: Path, contracts: list[SourceContract], feed: str | None = None,
              named_contract: bool = False) -> tuple[SourceContract, FeedContract]:
    """The contract feed whose ``files`` glob matches the file name (or the named ``feed``); a contract
    named on the command line with a single feed applies whatever the file is called."""
    name = Path(path).name
    if feed is not None:
        hits = [(c, c.feeds[feed]) for c in contracts if feed in c.feeds]
    else:
        hits = [(c, f) for c in contracts for f in c.feeds.values() if fnmatch(name, f.files)]
        if not hits and named_contract and len(contracts[0].feeds) == 1:
            hits = [(contracts[0], next(iter(contracts[0].feeds.values())))]
    if not hits:
        where = contracts[0].path if named_contract else "any contract"
        raise CheckError(f"{path}: no feed of {where} matches the file name {name!r}; name one with --feed")
    if len(hits) > 1:
        named = ", ".join(f"{c.source}.{f.name} ({f.files})" for c, f in hits)
        raise CheckError(f"{path}: several feeds match ({named}); name one with --feed or --contract")
    return hits[0]


def check_file(path: Path, contract_path: Path | None = None, feed: str | None = None,
               warehouse: Warehouse | None = None, contracts_dir: Path = CONTRACTS_DIR) -> CheckResult:
    """Validate ``path`` as its feed would be validated on load; writes nothing."""
    path = Path(path)
    if not path.is_file():
        raise CheckError(f"{path}: no such file")
    if contract_path is not None:
        contracts = [load_source_contract(Path(contract_path))]
    else:
        contracts, errors = load_file_contracts(contracts_dir)
        if not contracts and errors:
            raise CheckError("; ".join(str(e) for e in errors))
    contract, feed_contract = find_feed(path, contracts, feed, named_contract=contract_path is not None)
    notes: list[str] = []
    refs: dict[str, pd.Index] = {}
    referencing = {c: s for c, s in feed_contract.columns.items() if s.references}
    if referencing:
        if warehouse is not None and warehouse.path.exists():
            with warehouse.reader() as snap:
                for col, spec in referencing.items():
                    src, ref_feed, _ = parse_reference(spec.references, contract.source)
                    if snap.table_exists("raw", f"{src}_{ref_feed}"):
                        refs.update(resolve_references(contract.source, {col: spec}, snap))
                    else:
                        notes.append(f"{col}: reference {spec.references} not checked (raw.{src}_{ref_feed} not landed)")
        else:
            notes += [f"{col}: reference {s.references} not checked (no warehouse)" for col, s in referencing.items()]
    label = path.name
    nf = _NewFile(label, sha256_file(path), {})
    try:
        nf.read = read_feed_file(path, feed_contract, label)
    except FileReadError as exc:
        nf.error = str(exc)
    _, rejects = check_files([nf], feed_contract, refs)
    rejects = rejects.sort_values("_source_row", kind="stable").reset_index(drop=True)
    return CheckResult(
        path=path, contract=contract, feed=feed_contract, rows_seen=int(nf.log["rows_seen"]),
        rows_accepted=int(nf.log["rows_accepted"]),
        rejects=rejects[["_source_row", "kind", "reason", "payload"]],
        encoding=nf.read.encoding if nf.read else None, notes=notes,
    )
