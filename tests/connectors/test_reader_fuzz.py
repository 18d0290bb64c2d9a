"""Crash-freedom of the file readers: any bytes under a feed's name end as rows or a reject.

Hypothesis drives the readers and the validation of the landing (``read_feed_bytes`` +
``check_files``, below the landing's own safety net, so a parser bug shows here instead of being
absorbed) with random bytes and with CSV / JSON-lines / Excel built from the characters that break
parsers. Derandomised with a fixed budget so ``make test`` stays quick and repeatable."""

from __future__ import annotations

import io
import string
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.faults import fault_contract
from connectors.files import FileReadError, _NewFile, check_files, read_feed_bytes

FUZZ = settings(
    max_examples=200, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
TRICKY = string.ascii_letters + string.digits + ',;"\'\n\r\t \\{}[]:.-+eE' + "\x00\x1a\ufeff\u202e中文华东￥" + "\udcff"
HEADER = "order_id,order_date,qty,amount,note"
EVENT_KEYS = ["event_id", "amount", "note", "x"]


@pytest.fixture(scope="module")
def contract(tmp_path_factory):
    return fault_contract(tmp_path_factory.mktemp("fuzz"))


def land_in_memory(data: bytes, contract, feed_name: str) -> None:
    """Read + validate as the landing does; every row must end accepted or rejected, nothing raised."""
    feed = contract.feeds[feed_name]
    nf = _NewFile("fault/x", "sha", {})
    try:
        nf.read = read_feed_bytes(data, feed, "fault/x")
    except FileReadError as exc:
        assert str(exc).startswith("fault/x: ")  # a whole-file reject names the file
        nf.error = str(exc)
    accepted, rejects = check_files([nf], feed, {})
    n_accepted = 0 if accepted is None else len(accepted)
    assert set(rejects["kind"]) <= {"truncated", "bad_encoding", "missing_required", "bad_type", "out_of_range",
                                    "bad_value", "unknown_reference", "duplicate_key", "unreadable_file"}
    if nf.read is None:
        assert len(rejects) == 1 and rejects["kind"].iloc[0] == "unreadable_file" and n_accepted == 0
    else:
        assert n_accepted + len(rejects) == nf.log["rows_seen"]
        assert rejects["reason"].map(len).max() if len(rejects) else True


def _encode(text: str, enc: str) -> bytes:
    return text.encode(enc, errors="surrogateescape" if enc == "utf-8" else "replace")


@FUZZ
@given(st.binary(max_size=4096))
def test_any_bytes_as_csv(contract, data):
    land_in_memory(data, contract, "orders")


@FUZZ
@given(st.binary(max_size=4096))
def test_any_bytes_as_jsonl(contract, data):
    land_in_memory(data, contract, "events")


@FUZZ
@given(
    st.lists(st.lists(st.text(TRICKY, max_size=12), min_size=0, max_size=7), max_size=12),
    st.sampled_from([",", ";", "\t"]),
    st.sampled_from(["utf-8", "gb18030", "utf-16"]),
    st.booleans(),
)
def test_csv_like_text(contract, rows, delim, enc, with_header):
    lines = ([HEADER] if with_header else []) + [delim.join(r) for r in rows]
    land_in_memory(_encode("\n".join(lines), enc), contract, "orders")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(TRICKY, max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@FUZZ
@given(st.lists(st.one_of(
    st.dictionaries(st.sampled_from(EVENT_KEYS), json_values, max_size=4),
    json_values,
    st.text(TRICKY, max_size=30),
), max_size=10))
def test_jsonl_like_text(contract, records):
    import json

    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False, allow_nan=True) for r in records]
    land_in_memory(_encode("\n".join(lines), "utf-8"), contract, "events")


cells = st.one_of(st.none(), st.integers(-10**20, 10**20), st.floats(allow_nan=True), st.booleans(),
                  st.text(string.ascii_letters + string.digits + string.punctuation + " 中文", max_size=10),
                  st.datetimes())  # openpyxl itself refuses control characters in cells


@settings(FUZZ, max_examples=40)
@given(st.lists(st.tuples(cells, cells), max_size=6), st.sampled_from([["target_id", "qty"], ["qty", "x"],
                                                                        ["target_id", "target_id"]]))
def test_excel_workbooks(contract, rows, header):
    buf = io.BytesIO()
    pd.DataFrame(rows, columns=header).to_excel(buf, index=False)
    land_in_memory(buf.getvalue(), contract, "targets")


@FUZZ
@given(st.binary(max_size=2048))
def test_any_bytes_as_excel(contract, data):
    land_in_memory(b"PK\x03\x04" + data, contract, "targets")


def test_the_fuzz_fixture_contract_has_the_three_formats(contract):
    assert {f.format for f in contract.feeds.values()} == {"csv", "jsonl", "excel"}
    assert Path(contract.path).exists()
