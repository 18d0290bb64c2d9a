"""Injection of bad records at a known rate, driven by the feed contract, with a truth row for each."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

BAD_RATE = 0.015
MIN_ROWS_FOR_BAD = 50  # tiny master feeds stay clean: one bad row would breach the 5% reject threshold
BAD_ENCODING_MARKER = "\x00BADENC\x00"  # replaced by invalid UTF-8 bytes when the file is encoded
BAD_DATES = ["2025-02-30", "2024-13-05", "31/12/2024", "2023-00-10", "20240715"]
BAD_NUMBERS = ["12件", "3.5元", "1O0", "约20", "--"]


@dataclass
class BadRow:
    kind: str
    column: str | None
    detail: str


def applicable_kinds(spec: dict, fmt: str) -> list[str]:
    cols = spec["columns"]
    pk = spec.get("primary_key", [])
    kinds = ["duplicate_key"] if pk else []
    if any(s.get("required") and c not in pk for c, s in cols.items()):
        kinds.append("missing_required")
    if any(s.get("type") in ("date", "timestamp", "integer", "decimal") for s in cols.values()):
        kinds.append("bad_type")
    if any("min" in s for s in cols.values()):
        kinds.append("out_of_range")
    if any("values" in s for s in cols.values()):
        kinds.append("bad_value")
    if any("references" in s for s in cols.values()):
        kinds.append("unknown_reference")
    if fmt in ("csv", "jsonl") and _encoding_columns(spec):
        kinds.append("bad_encoding")
    return kinds


def _encoding_columns(spec: dict) -> list[str]:
    pk = spec.get("primary_key", [])
    return [c for c, s in spec["columns"].items() if s.get("type", "string") == "string" and c not in pk
            and "references" not in s and "values" not in s]


def fresh_key(row: dict, spec: dict, k: int) -> None:
    """Give an injected copy a primary key no real row has, so only the intended check rejects it."""
    pk = spec.get("primary_key", [])
    cols = spec["columns"]
    free = [c for c in pk if cols[c].get("type", "string") == "string" and "references" not in cols[c]
            and "values" not in cols[c]]
    if free:
        row[free[0]] = f"{row[free[0]]}-R{k:04d}"
        return
    dates = [c for c in pk if cols[c].get("type") in ("date", "timestamp")]
    if not dates:
        raise ValueError(f"feed {spec.get('_name')}: primary key {pk} has no free string or date column")
    # A date before the history start, which no real row uses.
    day = pd.Timestamp("2022-12-25") - pd.Timedelta(days=k)
    row[dates[0]] = day.strftime(cols[dates[0]].get("format", "%Y-%m-%d")) if cols[dates[0]].get(
        "type") == "date" else day.strftime(cols[dates[0]].get("format", "%Y-%m-%dT%H:%M:%S"))


def corrupt(row: dict, kind: str, spec: dict, r: np.random.Generator) -> BadRow:
    """Make `row` (formatted values) bad in exactly the way `kind` names; returns what was done."""
    cols = spec["columns"]
    pk = spec.get("primary_key", [])

    def pick(cands: list[str]) -> str:
        return cands[int(r.integers(0, len(cands)))]

    if kind == "missing_required":
        c = pick([c for c, s in cols.items() if s.get("required") and c not in pk])
        old, row[c] = row[c], None
        return BadRow(kind, c, f"{c} emptied (was {old})")
    if kind == "bad_type":
        c = pick([c for c, s in cols.items() if s.get("type") in ("date", "timestamp", "integer", "decimal")
                  and c not in pk] or [c for c, s in cols.items() if s.get("type") in ("date", "timestamp")])
        bad = pick(BAD_DATES) if cols[c]["type"] in ("date", "timestamp") else pick(BAD_NUMBERS)
        row[c] = bad
        return BadRow(kind, c, f"{c} = {bad}")
    if kind == "out_of_range":
        c = pick([c for c, s in cols.items() if "min" in s])
        lo = cols[c]["min"]
        v = (lo - 1 - int(r.integers(0, 50))) if cols[c].get("type") == "integer" else round(lo - 0.5 - r.random() * 50, 2)
        row[c] = v
        return BadRow(kind, c, f"{c} = {v} below min {lo}")
    if kind == "bad_value":
        c = pick([c for c, s in cols.items() if "values" in s])
        row[c] = "未知类型"
        return BadRow(kind, c, f"{c} = 未知类型 not in allowed values")
    if kind == "unknown_reference":
        refs = [c for c, s in cols.items() if "references" in s]
        c = pick([c for c in refs if row[c] not in (None, "")] or refs)
        old = row[c]
        # Same shape as a real id, but no such record: the id's last two characters replaced.
        row[c] = str(old)[:-2] + "ZZ" if old not in (None, "") else "ZZ000000"
        return BadRow(kind, c, f"{c} = {row[c]} not in {cols[c]['references']}")
    if kind == "bad_encoding":
        c = pick(_encoding_columns(spec))
        row[c] = f"{row[c] or ''}{BAD_ENCODING_MARKER}"
        return BadRow(kind, c, f"{c} carries invalid UTF-8 bytes")
    raise ValueError(f"unknown bad-row kind {kind}")


def plan(n_rows: int, kinds: list[str], r: np.random.Generator) -> list[str]:
    """Which kinds to inject into a file of n_rows rows (about BAD_RATE of them, every kind cycled)."""
    if n_rows < MIN_ROWS_FOR_BAD or not kinds:
        return []
    n_bad = max(1, int(round(n_rows * BAD_RATE * r.uniform(0.7, 1.3))))
    order = list(r.permutation(kinds))
    return [str(order[i % len(order)]) for i in range(n_bad)]
