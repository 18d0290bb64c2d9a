"""The case issue 14 was found with, on the real POS contract: one binary file named like a POS export in
`drops/pos/` stopped the whole POS landing (``new-line character seen in unquoted field``, no file named).
Now the other files land exactly as without it, and the bad one is one `unreadable_file` reject naming it."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from connectors.contracts import load_source_contract
from connectors.files import land_file_source
from lodestar.settings import PROJECT_ROOT
from lodestar.warehouse import Warehouse

CONTRACTS = PROJECT_ROOT / "connectors" / "contracts"
BAD = "scans_202699.csv"  # matches the scans feed's pattern (scans_*.csv)


def _pos_tables(wh: Warehouse) -> dict[str, list[tuple]]:
    names = wh.query("select table_name from information_schema.tables where table_schema = 'raw' "
                     "and table_name like 'pos_%' order by 1")["table_name"]
    out = {}
    for name in names:
        df = wh.query(f'select * from raw."{name}"').drop(columns=["_batch_id", "_loaded_at"], errors="ignore")
        out[name] = sorted(df.astype(str).itertuples(index=False, name=None))
    return out


def test_a_binary_file_named_like_a_pos_export_is_rejected_by_name_and_the_rest_lands(tiny_home: Path, tmp_path):
    drops = tiny_home / "demo" / "drops"
    erp, pos = (load_source_contract(CONTRACTS / f"{s}.yaml") for s in ("erp", "pos"))
    # ERP first (the scans reference its barcodes), once; both warehouses start from that file.
    clean = Warehouse(tmp_path / "clean.duckdb")
    land_file_source(erp, clean, root=drops)
    shutil.copy(tmp_path / "clean.duckdb", tmp_path / "dirty.duckdb")
    dirty = Warehouse(tmp_path / "dirty.duckdb")

    land_file_source(pos, clean, root=drops)
    (drops / "pos" / BAD).write_bytes(random.Random(14).randbytes(20_000))
    land_file_source(pos, dirty, root=drops)  # raised before: the whole POS landing stopped

    want, got = _pos_tables(clean), _pos_tables(dirty)
    assert sum(len(v) for k, v in want.items() if k != "pos_rejects") > 0, "the good files landed nothing"
    rejects = dirty.query("select feed, _source_file, _source_row, kind, reason from raw.pos_rejects "
                          "where _source_file like ?", [f"%{BAD}"])
    assert len(rejects) == 1, rejects
    reject = rejects.iloc[0]
    assert (reject["feed"], reject["kind"], int(reject["_source_row"])) == ("scans", "unreadable_file", 0)
    assert reject["_source_file"].endswith(f"pos/{BAD}") and "binary content" in reject["reason"], reject.to_dict()
    assert {k: v for k, v in got.items() if k != "pos_rejects"} == {k: v for k, v in want.items() if k != "pos_rejects"}
    assert len(got["pos_rejects"]) == len(want.get("pos_rejects", [])) + 1
