"""The catalogue of faults a drop folder meets, each with the outcome the file connector owes it.

One place for the cases, so the tests (``tests/connectors/test_file_faults.py``) and the measured table
(``bench/reliability.py``) exercise exactly the same faults: each case writes its files next to one good
file into a fixture source's drop folder, lands the batch on a real DuckDB warehouse, lands it again,
and compares keys, rejects and row counts with what it declares.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import json
import os
import random
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from connectors import files as files_mod
from connectors.contracts import SourceContract, load_source_contract
from lodestar.company import environ_overrides
from lodestar.warehouse import Warehouse

FAULT_YAML = """
source: fault
description: Fixture source for the fault catalogue.
root: drops
feeds:
  orders:
    files: "orders_*.csv"
    format: csv
    encodings: [utf-8, gb18030]
    primary_key: [order_id]
    reject_threshold: 1.0
    columns:
      order_id: {type: string, required: true}
      order_date: {type: date, required: true, format: "%Y-%m-%d"}
      qty: {type: integer, required: true, min: 0}
      amount: {type: decimal}
      note: {type: string}
  events:
    files: "events_*.jsonl"
    format: jsonl
    primary_key: [event_id]
    reject_threshold: 1.0
    columns:
      event_id: {type: integer, required: true}
      amount: {type: decimal}
      note: {type: string}
  targets:
    files: "targets_*.xlsx"
    format: excel
    primary_key: [target_id]
    reject_threshold: 1.0
    columns:
      target_id: {type: string, required: true}
      qty: {type: integer, required: true, min: 0}
"""

HEADER = "order_id,order_date,qty,amount,note\n"
GOOD = HEADER + "G1,2024-01-05,1,10.5,好\nG2,2024-01-06,2,3,ok\nG3,2024-01-07,3,,\n"
GOOD_KEYS = {"G1", "G2", "G3"}


@dataclass
class Reject:
    """A reject the case must produce: file (relative to the drops folder), row (0 = whole file),
    kind, and a piece of text the reason must contain."""

    file: str
    row: int
    kind: str
    reason: str


@dataclass
class FaultCase:
    name: str
    fault_class: str
    write: Callable[[Path], None]  # writes the fault's files into the source's drop folder
    keys: set[str] = field(default_factory=set)  # keys the fault's files must land (besides G1..G3)
    rejects: list[Reject] = field(default_factory=list)
    feed: str = "orders"  # the table the keys are checked in
    check: Callable[[Warehouse], None] | None = None  # further assertions on the landed tables
    during_read: Callable[[Path], None] | None = None  # runs right after a file's bytes were read
    later_keys: set[str] = field(default_factory=set)  # keys the next landing adds (a deferred file)


@dataclass
class CaseOutcome:
    name: str
    fault_class: str
    survived: bool  # no exception out of the landing, every expected key and reject there
    rows_lost: int  # expected keys missing (good file's or the fault's)
    rows_duplicated: int  # rows beyond one per key, plus rows a second landing added
    recover_s: float  # wall time of the landing that met the fault
    problems: list[str] = field(default_factory=list)


def _w(name: str, data: bytes | str, enc: str = "utf-8") -> Callable[[Path], None]:
    def write(drops: Path) -> None:
        (drops / name).write_bytes(data if isinstance(data, bytes) else data.encode(enc))

    return write


def _all(*writers: Callable[[Path], None]) -> Callable[[Path], None]:
    def write(drops: Path) -> None:
        for w in writers:
            w(drops)

    return write


def _garbage(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def _gz(text: str) -> bytes:
    return gzip.compress(text.encode(), mtime=0)


def _zip(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("orders.csv", text)
    return buf.getvalue()


def _symlink_out(drops: Path) -> None:
    outside = drops.parent.parent / "outside_secret.csv"
    outside.write_text(HEADER + "S1,2024-01-01,1,1,secret\n")
    (drops / "orders_link.csv").symlink_to(outside)
    (drops / "orders_dangling.csv").symlink_to(drops / "no_such_file.csv")


def _symlink_in(drops: Path) -> None:
    (drops / "archive").mkdir()
    (drops / "archive" / "real.csv").write_text(HEADER + "L1,2024-01-01,1,1,via link\n")
    (drops / "orders_inside.csv").symlink_to(drops / "archive" / "real.csv")


def _trick_names(drops: Path) -> None:
    row = HEADER + "T{n},2024-01-01,1,1,x\n"
    (drops / "orders_new\nline.csv").write_text(row.format(n=1))
    (drops / "orders_\u202evsc.exe.csv").write_text(row.format(n=2))
    with open(os.fsencode(str(drops)) + b"/orders_\xff\xfe.csv", "wb") as fh:
        fh.write(row.format(n=3).encode())
    # Odd but honest names land: spaces, quotes, dots, a leading dash, shell and SQL characters.
    (drops / "orders_ -x '; drop table raw.fault_orders; --.csv").write_text(row.format(n=4))
    (drops / "orders_..csv").write_text(row.format(n=5))


def _grow_file(path: Path) -> None:
    if path.name == "orders_growing.csv":
        with open(path, "a") as fh:
            fh.write("W9,2024-01-01,9,9,appended while read\n")


def _check_big_field(wh: Warehouse) -> None:
    got = wh.query("select length(note) as n from raw.fault_orders where order_id = 'B1'")["n"].tolist()
    assert got == [2 * 1024 * 1024], f"2 MB field landed with length {got}"
    reason = wh.query("select reason from raw.fault_rejects where _source_row = 2 and kind = 'bad_type'")
    assert len(reason) == 1 and len(reason["reason"][0]) < 200, "a 2 MB value was copied into the reason"


def _check_text(key: str, want: str) -> Callable[[Warehouse], None]:
    def check(wh: Warehouse) -> None:
        got = wh.query("select note from raw.fault_orders where order_id = ?", [key])["note"].tolist()
        assert got == [want], f"{key}: note landed as {got!r}, want {want!r}"

    return check


def _check_numbers(wh: Warehouse) -> None:
    got = wh.query("select order_id, qty, amount from raw.fault_orders where order_id like 'N%' order by 1")
    assert got.to_dict("list") == {
        "order_id": ["N1", "N2", "N6"],
        "qty": [1000, 12345678901234567, 5],
        "amount": [150.0, 1.0, 0.001],
    }, got.to_dict("list")


INJECTIONS = [
    "'); drop table raw.fault_orders; --",
    '=HYPERLINK("http://example.invalid","x")',
    "<script>alert(1)</script>",
    "${jndi:ldap://127.0.0.1/a}",
    "Robert\"); DELETE FROM raw._file_log; --",
]


def _check_injection(wh: Warehouse) -> None:
    got = wh.query("select note from raw.fault_orders where order_id like 'I%' order by order_id")["note"]
    assert got.tolist() == INJECTIONS
    assert wh.row_count("raw", "_file_log") >= 2


# A DuckDB client as an analyst holds it: the published snapshot opened read-only in another process, queried
# every 0.1 s; it exits by itself after 300 s, so a landing that raises (and skips the check) leaks nothing.
_HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("open", flush=True)
t0 = time.monotonic()
while time.monotonic() - t0 < 300 and sys.stdin.readable():
    con.execute("select count(*) from marts.probe").fetchone()
    time.sleep(0.1)
"""
_HOLDERS: list = []


def _reader_on_snapshot(drops: Path) -> None:
    """Before the landing: a warehouse with one mart, its snapshot published (lodestar.readpath), and a reader
    process holding that snapshot open for the whole landing."""
    import subprocess
    import sys

    import duckdb

    from lodestar.readpath import publish_snapshot

    home = drops.parents[2]  # <home>/demo/drops/fault
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("create schema if not exists marts; create or replace table marts.probe as select 1 as x")
    con.close()
    snap = publish_snapshot(home / "warehouse.duckdb", home / "snapshots")
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(snap.path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.stdout.readline().strip() != "open":
        raise RuntimeError(f"the reader did not open the snapshot: {proc.stderr.read()}")
    _HOLDERS.append(proc)
    (drops / "orders_r.csv").write_text(HEADER + "R1,2024-02-01,1,2,reader\n", encoding="utf-8")


def _reader_still_reading(wh: Warehouse) -> None:
    proc = _HOLDERS.pop()
    alive = proc.poll() is None
    proc.kill()
    _out, err = proc.communicate(timeout=30)
    assert alive, f"the reader on the snapshot died during the landing: {err[-500:]}"


CASES: list[FaultCase] = [
    FaultCase(
        "binary_garbage_named_like_an_export",
        "unreadable file",
        _w("orders_2024-03.csv", _garbage(20_000, 1)),
        rejects=[Reject("fault/orders_2024-03.csv", 0, "unreadable_file", "binary content")],
    ),
    FaultCase(
        "binary_garbage_jsonl",
        "unreadable file",
        _w("events_1.jsonl", _garbage(5_000, 2)),
        rejects=[Reject("fault/events_1.jsonl", 0, "unreadable_file", "binary content")],
    ),
    FaultCase(
        "text_named_xlsx",
        "unreadable file",
        _w("targets_1.xlsx", "target_id,qty\nT1,1\n"),
        rejects=[Reject("fault/targets_1.xlsx", 0, "unreadable_file", "cannot read as Excel")],
    ),
    FaultCase(
        "empty_file",
        "unreadable file",
        _w("orders_empty.csv", b""),
        rejects=[Reject("fault/orders_empty.csv", 0, "unreadable_file", "empty file (0 bytes)")],
    ),
    FaultCase("header_only", "structure", _w("orders_header.csv", HEADER)),
    FaultCase(
        "wrong_delimiter",
        "structure",
        _w("orders_semi.csv", HEADER.replace(",", ";") + "D1;2024-01-01;1;1;x\n"),
        rejects=[Reject("fault/orders_semi.csv", 0, "unreadable_file", "wrong delimiter?")],
    ),
    FaultCase(
        "utf8_bom",
        "encoding",
        _w("orders_bom.csv", b"\xef\xbb\xbf" + (HEADER + "U1,2024-01-01,1,1,华东\n").encode()),
        keys={"U1"},
        check=_check_text("U1", "华东"),
    ),
    FaultCase(
        "utf16_bom_unicode_text_export",
        "encoding",
        _w("orders_utf16.csv", (HEADER + "U2,2024-01-01,1,1,华南\n").encode("utf-16")),
        keys={"U2"},
        check=_check_text("U2", "华南"),
    ),
    FaultCase(
        "gbk_file",
        "encoding",
        _w("orders_gbk.csv", HEADER + "K1,2024-01-01,1,1,螺丝刀套装\n", "gbk"),
        keys={"K1"},
        check=_check_text("K1", "螺丝刀套装"),
    ),
    FaultCase(
        "utf8_file_with_one_gbk_line",
        "encoding",
        _w(
            "orders_mixed.csv",
            (HEADER + "M1,2024-01-01,1,1,扳手\n").encode() + "M2,2024-01-01,1,1,扳手\n".encode("gbk")
            + "M3,2024-01-01,1,1,钳子\n".encode(),
        ),
        keys={"M1", "M3"},
        rejects=[Reject("fault/orders_mixed.csv", 2, "bad_encoding", "undecodable bytes for utf-8")],
    ),
    FaultCase(
        "truncated_rows",
        "structure",
        _w("orders_cut.csv", HEADER + "C1,2024-01-01,1,1,x\nC2,2024-01\nC3,2024-01-01,3,3,y\nC4,2024-01-01,4"),
        keys={"C1", "C3"},
        rejects=[
            Reject("fault/orders_cut.csv", 2, "truncated", "expected 5 fields, got 2"),
            Reject("fault/orders_cut.csv", 4, "truncated", "expected 5 fields, got 3"),
        ],
    ),
    FaultCase(
        "unterminated_quote",
        "structure",
        _w("orders_quote.csv", HEADER + 'Q1,2024-01-01,1,1,ok\nQ2,2024-01-01,1,1,"never closed\nQ3,2024-01-01,1,1,z\n'),
        keys={"Q1"},
        rejects=[Reject("fault/orders_quote.csv", 2, "truncated", "unterminated quoted field")],
    ),
    FaultCase(
        "extra_columns",
        "structure",
        _w(
            "orders_extra.csv",
            "order_id,order_date,qty,amount,note,unexpected\nE1,2024-01-01,1,1,x,extra\nE2,2024-01-01,1,1,x,y,z\n",
        ),
        keys={"E1"},
        rejects=[Reject("fault/orders_extra.csv", 2, "truncated", "expected 6 fields, got 7")],
    ),
    FaultCase(
        "two_megabyte_field",
        "size",
        _w("orders_big.csv", HEADER + "B1,2024-01-01,1,1," + "长" * (2 * 1024 * 1024) + "\nB2,2024-01-01,"
           + "9" * (2 * 1024 * 1024) + ",1,x\n"),
        keys={"B1"},
        rejects=[Reject("fault/orders_big.csv", 2, "bad_type", "qty: bad_type not an integer")],
        check=_check_big_field,
    ),
    FaultCase(
        "gzip_named_csv",
        "compression",
        _w("orders_gz.csv", _gz(HEADER + "Z1,2024-01-01,1,1,x\n")),
        keys={"Z1"},
    ),
    FaultCase(
        "bzip2_named_csv",
        "compression",
        _w("orders_bz.csv", bz2.compress((HEADER + "Z2,2024-01-01,1,1,x\n").encode())),
        keys={"Z2"},
    ),
    FaultCase(
        "zip_named_csv",
        "compression",
        _w("orders_zip.csv", _zip(HEADER + "Z3,2024-01-01,1,1,x\n")),
        rejects=[Reject("fault/orders_zip.csv", 0, "unreadable_file", "a ZIP archive")],
    ),
    FaultCase(
        "cut_off_gzip",
        "compression",
        _w("orders_cut.csv", _gz(HEADER + "Z4,2024-01-01,1,1,x\n" * 50)[:40]),
        rejects=[Reject("fault/orders_cut.csv", 0, "unreadable_file", "corrupt or cut-off gzip")],
    ),
    FaultCase(
        "nan_inf_scientific_numbers",
        "numbers",
        _w(
            "orders_num.csv",
            HEADER + "N1,2024-01-01,1e3,1.5e2,x\nN2,2024-01-01,12345678901234567,1,x\nN3,2024-01-01,1,NaN,x\n"
            "N4,2024-01-01,1,inf,x\nN5,2024-01-01,99999999999999999999,1,x\nN6,2024-01-01,5,1e-3,x\n"
            "N7,2024-01-01,1,-Infinity,x\nN8,2024-01-01,2.5e0,1,x\n",
        ),
        keys={"N1", "N2", "N6"},
        rejects=[
            Reject("fault/orders_num.csv", 3, "bad_type", "amount: bad_type not a number (NaN)"),
            Reject("fault/orders_num.csv", 4, "bad_type", "amount: bad_type not a number (inf)"),
            Reject("fault/orders_num.csv", 5, "bad_type", "qty: bad_type not an integer"),
            Reject("fault/orders_num.csv", 7, "bad_type", "not a number (-Infinity)"),
            Reject("fault/orders_num.csv", 8, "bad_type", "qty: bad_type not an integer (2.5e0)"),
        ],
        check=_check_numbers,
    ),
    FaultCase(
        "jsonl_nan_and_non_objects",
        "numbers",
        _w("events_2.jsonl", '{"event_id": 1, "amount": NaN}\n{"event_id": 2, "amount": 2}\n[1, 2]\n'
           '{"event_id": 4, "amount": Infinity}\n1, 2\n'),
        feed="events",
        keys={"2"},
        rejects=[
            Reject("fault/events_2.jsonl", 1, "bad_type", "amount: bad_type not a number (NaN)"),
            Reject("fault/events_2.jsonl", 3, "truncated", "not a complete JSON object"),
            Reject("fault/events_2.jsonl", 4, "bad_type", "not a number (Infinity)"),
            Reject("fault/events_2.jsonl", 5, "truncated", "not a complete JSON object"),
        ],
    ),
    FaultCase(
        "dates_centuries_off",
        "dates",
        _w(
            "orders_dates.csv",
            HEADER + "Y1,1900-01-01,1,1,x\nY2,2999-12-31,1,1,x\nY3,2024-02-30,1,1,x\nY4,2024-02-29,1,1,x\n"
            "Y5,0099-01-01,1,1,x\n",
        ),
        keys={"Y4"},
        rejects=[
            Reject("fault/orders_dates.csv", 1, "out_of_range", "implausible date, outside 1970-01-01..2100-12-31"),
            Reject("fault/orders_dates.csv", 2, "out_of_range", "implausible date, outside 1970-01-01..2100-12-31"),
            Reject("fault/orders_dates.csv", 3, "bad_type", "not a date in format %Y-%m-%d (2024-02-30)"),
            Reject("fault/orders_dates.csv", 5, "out_of_range", "implausible date"),
        ],
    ),
    FaultCase(
        "injection_strings",
        "injection",
        _w(
            "orders_'; drop table raw.fault_orders; --.csv",
            HEADER + "".join(f'I{i},2024-01-01,1,1,"{v.replace(chr(34), chr(34) * 2)}"\n'
                             for i, v in enumerate(INJECTIONS)),
        ),
        keys={f"I{i}" for i in range(len(INJECTIONS))},
        check=_check_injection,
    ),
    FaultCase(
        "duplicate_key_within_a_file",
        "duplicates",
        _w("orders_dup.csv", HEADER + "P1,2024-01-01,1,1,first\nP1,2024-01-01,2,2,second\n"),
        keys={"P1"},
        rejects=[Reject("fault/orders_dup.csv", 2, "duplicate_key", "order_id: duplicate_key repeated in batch (P1)")],
        check=_check_text("P1", "first"),
    ),
    FaultCase(
        "duplicate_key_across_files",
        "duplicates",
        _all(
            _w("orders_a1.csv", HEADER + "G1,2024-01-05,1,10.5,older copy\nX1,2024-01-01,1,1,a\n"),
            _w("orders_a2.csv", HEADER + "X1,2024-01-01,1,1,b\n"),
        ),
        keys={"X1"},
        # Files land in name order and the later file wins: orders_good (G1 "好") comes after a1.
        check=lambda wh: (_check_text("X1", "b")(wh), _check_text("G1", "好")(wh)),
    ),
    FaultCase(
        "symlink_out_of_the_drop_folder",
        "paths",
        _symlink_out,
        rejects=[
            Reject("fault/orders_link.csv", 0, "unreadable_file", "pointing outside the drop folder"),
            Reject("fault/orders_dangling.csv", 0, "unreadable_file", "link to a missing file"),
        ],
        check=lambda wh: _absent(wh, "secret"),
    ),
    FaultCase("symlink_inside_the_drop_folder", "paths", _symlink_in, keys={"L1"}),
    FaultCase(
        "path_trick_names",
        "paths",
        _trick_names,
        keys={"T4", "T5"},
        rejects=[
            Reject("fault/orders_new\\nline.csv", 0, "unreadable_file", "path trick?"),
            Reject("fault/orders_\\u202evsc.exe.csv", 0, "unreadable_file", "path trick?"),
            Reject("fault/orders_\\xff\\xfe.csv", 0, "unreadable_file", "path trick?"),
        ],
    ),
    FaultCase(
        "file_modified_while_read",
        "concurrent writer",
        _w("orders_growing.csv", HEADER + "W1,2024-01-01,1,1,x\n"),
        rejects=[Reject("fault/orders_growing.csv", 0, "unreadable_file", "changed while being read")],
        during_read=_grow_file,
        later_keys={"W1", "W9"},  # once the writer is done, the next run lands the whole file
    ),
    FaultCase(
        "analyst_client_holds_the_snapshot_open",
        "readers",
        _reader_on_snapshot,
        keys={"R1"},
        check=_reader_still_reading,
    ),
]


def _absent(wh: Warehouse, note: str) -> None:
    n = wh.query("select count(*) as n from raw.fault_orders where note = ?", [note])["n"].iloc[0]
    assert n == 0, f"content behind a symlink out of the drop folder landed ({n} rows)"


def fault_contract(folder: Path) -> SourceContract:
    path = folder / "fault.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FAULT_YAML, encoding="utf-8")
    return load_source_contract(path)


@contextlib.contextmanager
def _hook_reads(during_read: Callable[[Path], None] | None) -> Iterator[None]:
    """Call ``during_read(path)`` right after the connector read a file's bytes: a writer on the same
    file at that moment is what a drop still being copied looks like."""
    if during_read is None:
        yield
        return
    real = files_mod._read_all

    def read_then_write(path: Path) -> bytes:
        data = real(path)
        during_read(Path(path))
        return data

    files_mod._read_all = read_then_write
    try:
        yield
    finally:
        files_mod._read_all = real


def run_case(case: FaultCase, home: Path) -> CaseOutcome:
    """Land ``case`` next to the good file in a fresh warehouse under ``home``, land again, compare.

    ``home`` is the LODESTAR_HOME of the caller (the drops folder is ``home/demo/drops/fault``)."""
    drops = home / "demo" / "drops" / "fault"
    drops.mkdir(parents=True, exist_ok=True)
    contract = fault_contract(home / "contracts")
    (drops / "orders_good.csv").write_text(GOOD, encoding="utf-8")
    case.write(drops)
    wh = Warehouse(home / "warehouse.duckdb")
    problems: list[str] = []
    started = time.perf_counter()
    try:
        with _hook_reads(case.during_read):
            files_mod.land_file_source(contract, wh)
    except Exception as exc:  # noqa: BLE001 - the outcome records it; survival is the question
        problems.append(f"landing raised {type(exc).__name__}: {exc}")
    recover_s = time.perf_counter() - started
    if problems:
        return CaseOutcome(case.name, case.fault_class, False, len(GOOD_KEYS | case.keys), 0, recover_s, problems)

    def snapshot() -> dict[str, int]:
        tables = wh.query("select table_name from information_schema.tables where table_schema = 'raw'")
        return {t: wh.row_count("raw", t) for t in tables["table_name"]}

    table = f"fault_{case.feed}"
    key = {"orders": "order_id", "events": "event_id", "targets": "target_id"}[case.feed]
    landed = wh.query(f"select cast({key} as varchar) as k from raw.{table}")["k"] if wh.table_exists(
        "raw", table) else pd.Series([], dtype=object)
    want = case.keys | (GOOD_KEYS if case.feed == "orders" else set())
    lost = len(want - set(landed))
    dup = len(landed) - landed.nunique()
    if set(landed) != want:
        problems.append(f"raw.{table} keys {sorted(set(landed))}, want {sorted(want)}")
    if case.feed != "orders":
        good = set(wh.query("select order_id from raw.fault_orders")["order_id"])
        lost += len(GOOD_KEYS - good)
    rej = wh.query("select _source_file, _source_row, kind, reason from raw.fault_rejects") if wh.table_exists(
        "raw", "fault_rejects") else pd.DataFrame(columns=["_source_file", "_source_row", "kind", "reason"])
    got = sorted(zip(rej["_source_file"], rej["_source_row"].astype(int), rej["kind"], strict=True))
    expected = sorted((r.file, r.row, r.kind) for r in case.rejects)
    if got != expected:
        problems.append(f"rejects {got}, want {expected}")
    for r in case.rejects:
        hit = rej[(rej["_source_file"] == r.file) & (rej["_source_row"] == r.row)]
        if not any(r.reason in x for x in hit["reason"]):
            problems.append(f"no reject reason for {r.file}:{r.row} contains {r.reason!r}: {hit['reason'].tolist()}")
    if case.check is not None:
        try:
            case.check(wh)
        except AssertionError as exc:
            problems.append(str(exc))
    if case.later_keys:
        files_mod.land_file_source(contract, wh)
        now = set(wh.query(f"select cast({key} as varchar) as k from raw.{table}")["k"])
        if not case.later_keys <= now:
            problems.append(f"the next landing did not add {sorted(case.later_keys - now)}")
            lost += len(case.later_keys - now)
    before = snapshot()
    try:
        files_mod.land_file_source(contract, wh)
    except Exception as exc:  # noqa: BLE001
        problems.append(f"landing the same files again raised {type(exc).__name__}: {exc}")
    after = snapshot()
    added = sum(after.get(t, 0) - n for t, n in before.items() if t != "_file_log") + sum(
        n for t, n in after.items() if t not in before)
    if added:
        problems.append(f"the second landing of the same files added {added} rows: {before} -> {after}")
    return CaseOutcome(case.name, case.fault_class, not problems, lost, dup + max(added, 0), recover_s, problems)


# --- HTTP feeds -------------------------------------------------------------------------------------

HTTP_FAULT_YAML = """
name: flaky_orders
source: flaky
description: Fixture HTTP feed for the fault catalogue.
base_url_env: FLAKY_API_URL
auth: {type: bearer, token_env: FLAKY_API_TOKEN}
endpoint: {path: /api/v1/orders, params: {page_size: 2}}
data_selector: data
paginator: {type: page_number, page_param: page, total_path: total_pages, base_page: 1}
incremental: {cursor_param: updated_since, cursor_field: updated_at, initial_value: "2000-01-01T00:00:00"}
retry: {attempts: 4, backoff_seconds: 0.05, max_wait_seconds: 5}
primary_key: [order_id]
reject_threshold: 1.0
columns:
  order_id: {type: string, required: true}
  amount: {type: decimal, required: true, min: 0}
  updated_at: {type: timestamp, required: true}
  customer: {type: string, source_name: customerName}
"""
HTTP_TOKEN = "flaky-test-token-7f3a9c"  # tests grep logs and errors for it
HTTP_TIMEOUT = 0.5


class FaultyApi:
    """The demo API protocol on 127.0.0.1 (page / page_size / updated_since, ordered by (updated_at,
    key)) with faults injected per request: ``plan`` maps the n-th request (1-based) to a fault."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs, urlparse

        self.records: dict[str, dict] = {}
        self.plan: dict[int, str] = {}
        self.requests: list[tuple[float, dict]] = []
        self.seen_headers: list[dict] = []
        self.shape = lambda body: body  # rewrites a good body (non-list data, drift, ...)
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, raw: bytes, extra: dict | None = None, length: int | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw) if length is None else length))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                api.requests.append((time.monotonic(), q))
                api.seen_headers.append(dict(self.headers))
                fault = api.plan.get(len(api.requests), "")
                if fault.startswith("echo:"):
                    # A misbehaving server that echoes the request, Authorization header included.
                    sent = {"Authorization": self.headers.get("Authorization"), **dict(self.headers)}
                    return self._send(int(fault.split(":")[1]), json.dumps({"you_sent": sent}).encode())
                if self.headers.get("Authorization") != f"Bearer {HTTP_TOKEN}":
                    return self._send(401, b"{}")
                if fault.startswith("status:"):
                    code, *after = fault.split(":")[1:]
                    return self._send(int(code), b'{"error": "injected"}', {"Retry-After": after[0]} if after else None)
                if fault == "timeout":
                    time.sleep(HTTP_TIMEOUT * 3)
                if fault == "reset":
                    # Close without a response: the client sees a dropped connection.
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                since = q.get("updated_since", "")
                rows = sorted((r for r in api.records.values() if r["updated_at"] > since),
                              key=lambda r: (r["updated_at"], r["order_id"]))
                page, size = int(q.get("page", 1)), int(q.get("page_size", 100))
                body = api.shape({"data": rows[(page - 1) * size: page * size], "page": page,
                                  "total_pages": -(-len(rows) // size), "total": len(rows)})
                raw = json.dumps(body, ensure_ascii=False).encode()
                if fault == "cut":
                    self.close_connection = True
                    return self._send(200, raw[: len(raw) // 2], length=len(raw))
                if fault == "served_then_reset":
                    # The server did the work and sent the page, then the connection dropped before the
                    # client read it all: the retry fetches the same page again.
                    self.close_connection = True
                    return self._send(200, raw[:-1], length=len(raw))
                return self._send(200, raw)

        class QuietServer(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                pass  # a client that timed out leaves a broken pipe behind: expected here

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def put(self, order_id: str, amount, updated_at: str, customer: str = "ACME 华东") -> None:
        self.records[order_id] = {"order_id": order_id, "amount": amount, "updated_at": updated_at,
                                  "customerName": customer}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class HttpFaultCase:
    name: str
    fault_class: str
    plan: dict[int, str] = field(default_factory=dict)
    records: int = 5  # O1..On, one second apart
    keys: set[str] | None = None  # keys landed (default: all records)
    rejects: list[tuple[int, str, str]] = field(default_factory=list)  # (row, kind, reason piece)
    error: str | None = None  # the first landing must fail with a message containing this
    shape: Callable[[dict], dict] | None = None
    prepare: Callable[[FaultyApi], None] | None = None  # changes records before the first landing
    between: Callable[[FaultyApi], None] | None = None  # server fixed / records changed before run 2
    min_wait: float = 0.0  # the client must have waited this long between request 1 and 2


def _tie_at_cursor(api: FaultyApi) -> None:
    newest = max(r["updated_at"] for r in api.records.values())
    api.put("O9", 9, newest)  # updated in the very second of the newest landed record


def _rename(body: dict) -> dict:
    return {**body, "data": [{("customer_name" if k == "customerName" else k): v for k, v in r.items()}
                             for r in body["data"]]}


def _new_field(body: dict) -> dict:
    return {**body, "data": [{**r, "channel": "tmall"} for r in body["data"]]}


def _drop_required(body: dict) -> dict:
    return {**body, "data": [{k: v for k, v in r.items() if k != "amount"} for r in body["data"]]}


def _non_objects(body: dict) -> dict:
    return {**body, "data": [*body["data"], "not a record", [1, 2]] if body["page"] == 1 else body["data"]}


HTTP_CASES: list[HttpFaultCase] = [
    HttpFaultCase("429_with_retry_after", "http retry", {1: "status:429:1"}, min_wait=1.0),
    HttpFaultCase("500_502_503_504", "http retry", {1: "status:500", 2: "status:502", 4: "status:503",
                                                    6: "status:504"}),
    HttpFaultCase("timeout", "http retry", {2: "timeout"}),
    HttpFaultCase("connection_reset", "http retry", {1: "reset", 3: "reset"}),
    HttpFaultCase("cut_off_body", "http retry", {2: "cut"}),
    HttpFaultCase("page_served_then_connection_dropped", "http retry", {3: "served_then_reset"}),
    HttpFaultCase(
        "server_down_mid_feed_then_resume", "http resume",
        {2: "status:503", 3: "status:503", 4: "status:503", 5: "status:503"},
        error="page 2 failed after 4 attempt(s): answered 503",
    ),
    HttpFaultCase("record_tied_at_the_cursor", "http resume", between=_tie_at_cursor),
    HttpFaultCase("body_without_data_selector", "http body", shape=lambda b: {"items": b["data"], **{
        k: v for k, v in b.items() if k != "data"}}, error="body has no data selector 'data'"),
    HttpFaultCase("data_not_a_list", "http body", shape=lambda b: {**b, "data": {"rows": b["data"]}},
                  error="'data' is a dict, not a list of records"),
    HttpFaultCase("non_object_records", "http body", shape=_non_objects,
                  rejects=[(3, "truncated", "record is not a JSON object"),
                           (4, "truncated", "record is not a JSON object")]),
    HttpFaultCase("schema_drift_renamed_field", "http schema drift", shape=_rename,
                  error="schema drift: field(s) ['customerName'] missing from all 5 record(s), new field(s) "
                        "['customer_name']"),
    HttpFaultCase("schema_drift_new_field", "http schema drift", shape=_new_field),
    HttpFaultCase("schema_drift_missing_required_field", "http schema drift", shape=_drop_required, keys=set(),
                  rejects=[(i, "missing_required", "amount: missing_required") for i in range(1, 6)]),
]


def run_http_case(case: HttpFaultCase, home: Path) -> CaseOutcome:
    """Serve the case's records with its faults, land the feed, then (server fixed) land again twice:
    every record must be in the table exactly once and the last landing must add nothing."""
    from connectors.contracts import load_http_contract
    from connectors.http_api import land_http_feed

    path = home / "http" / "flaky_orders.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HTTP_FAULT_YAML, encoding="utf-8")
    contract = load_http_contract(path)
    wh = Warehouse(home / "warehouse.duckdb")
    api = FaultyApi()
    problems: list[str] = []
    env = contextlib.ExitStack()
    env.enter_context(environ_overrides({"FLAKY_API_URL": api.url, "FLAKY_API_TOKEN": HTTP_TOKEN}))
    try:
        for i in range(1, case.records + 1):
            api.put(f"O{i}", float(i), f"2024-03-01T10:00:0{i}")
        if case.prepare:
            case.prepare(api)
        api.plan = dict(case.plan)
        if case.shape:
            api.shape = case.shape
        started = time.perf_counter()
        try:
            land_http_feed(contract, wh, timeout=HTTP_TIMEOUT)
            if case.error:
                problems.append(f"landing succeeded, want an error containing {case.error!r}")
        except Exception as exc:  # noqa: BLE001 - compared with the expected error below
            msg = str(exc)
            if not case.error or case.error not in msg or contract.name not in msg:
                problems.append(f"landing raised {type(exc).__name__}: {msg}")
            if HTTP_TOKEN in msg:
                problems.append("the error message holds the token")
        recover_s = time.perf_counter() - started
        if case.min_wait and len(api.requests) > 1:
            waited = api.requests[1][0] - api.requests[0][0]
            if waited < case.min_wait:
                problems.append(f"retried after {waited:.2f}s, Retry-After asked {case.min_wait}s")
        # The server recovers (faults off, shape kept unless it was an error case).
        api.plan = {}
        if case.error:
            api.shape = lambda body: body
        if case.between:
            case.between(api)
        if case.error:
            started = time.perf_counter()
            land_http_feed(contract, wh, timeout=HTTP_TIMEOUT)
            recover_s += time.perf_counter() - started
        elif case.between:
            land_http_feed(contract, wh, timeout=HTTP_TIMEOUT)
        want = set(api.records) if case.keys is None else case.keys
        landed = wh.query("select order_id from raw.flaky_orders")["order_id"] if wh.table_exists(
            "raw", "flaky_orders") else pd.Series([], dtype=object)
        lost = len(want - set(landed))
        dup = len(landed) - landed.nunique()
        if set(landed) != want:
            problems.append(f"raw.flaky_orders keys {sorted(set(landed))}, want {sorted(want)}")
        rej = wh.query("select _source_row, kind, reason from raw.flaky_rejects") if wh.table_exists(
            "raw", "flaky_rejects") else pd.DataFrame(columns=["_source_row", "kind", "reason"])
        got = sorted(zip(rej["_source_row"].astype(int), rej["kind"], strict=True))
        if got != sorted((r, k) for r, k, _ in case.rejects):
            problems.append(f"rejects {got}, want {sorted((r, k) for r, k, _ in case.rejects)}")
        for row, _, piece in case.rejects:
            if not any(piece in x for x in rej[rej["_source_row"] == row]["reason"]):
                problems.append(f"no reject reason at record {row} contains {piece!r}")
        before = (wh.row_count("raw", "flaky_orders"), wh.row_count("raw", "flaky_rejects"))
        land_http_feed(contract, wh, timeout=HTTP_TIMEOUT)
        after = (wh.row_count("raw", "flaky_orders"), wh.row_count("raw", "flaky_rejects"))
        if after != before:
            problems.append(f"landing again added rows: {before} -> {after}")
            dup += sum(after) - sum(before)
    except Exception as exc:  # noqa: BLE001
        problems.append(f"{type(exc).__name__}: {exc}")
        lost, dup, recover_s = case.records, 0, 0.0
    finally:
        api.close()
        env.close()
    return CaseOutcome(case.name, case.fault_class, not problems, lost, dup, recover_s, problems)
