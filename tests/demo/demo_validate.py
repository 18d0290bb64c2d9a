"""An independent, row-by-row reader of the demo drops used by the tests to check the generator's truth.

Deliberately simple (plain Python loops): it must agree with the generator without sharing its code.
"""

from __future__ import annotations

import csv
import fnmatch
import json
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import yaml

CONTRACTS = Path(__file__).resolve().parents[2] / "connectors" / "contracts"
DEMO_SOURCES = ["erp", "crm", "pos", "distributor", "complaints"]


def contract(source: str) -> dict:
    return yaml.safe_load((CONTRACTS / f"{source}.yaml").read_text(encoding="utf-8"))


def feed_files(demo: Path, source: str, feed: str) -> list[Path]:
    spec = contract(source)
    folder = demo / spec.get("root", "drops") / spec.get("folder", source)
    pattern = spec["feeds"][feed]["files"]
    return sorted(p for p in folder.iterdir() if fnmatch.fnmatch(p.name, pattern))


def read_rows(path: Path, spec: dict) -> tuple[list[tuple[int, dict | None, set[str]]], str | None]:
    """(row number, record by contract column or None, read problems) per data row; plus a file-level problem."""
    cols = list(spec["columns"])
    names = [spec["columns"][c].get("source_name", c) for c in cols]
    fmt = spec["format"]
    out: list[tuple[int, dict | None, set[str]]] = []
    if fmt == "excel":
        try:
            wb = openpyxl.load_workbook(path, read_only=True)
        except (zipfile.BadZipFile, OSError, KeyError) as exc:
            return [], f"unreadable_file: {exc}"
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
        assert list(rows[0]) == names, f"{path}: header {rows[0]} != {names}"
        for i, r in enumerate(rows[1:], start=1):
            r = tuple(r) + (None,) * (len(cols) - len(r))  # trailing empty cells are not stored
            out.append((i, {c: v for c, v in zip(cols, r, strict=True)}, set()))
        return out, None
    raw = path.read_bytes()
    try:
        text_lines = raw.decode("utf-8").split("\n")
        per_line = None
    except UnicodeDecodeError:
        lines_b = raw.split(b"\n")
        ok = 0
        for b in lines_b:
            try:
                b.decode("utf-8")
                ok += 1
            except UnicodeDecodeError:
                pass
        if ok < len(lines_b) / 2:  # a whole file in another encoding, not bad rows
            text_lines = raw.decode("gb18030").split("\n")
            per_line = None
        else:
            per_line = lines_b
            text_lines = [b.decode("utf-8", errors="replace") for b in lines_b]
    ends_clean = raw.endswith(b"\n")
    if text_lines and text_lines[-1] == "":
        text_lines = text_lines[:-1]
        if per_line is not None:
            per_line = per_line[:-1]
    start = 1 if fmt == "csv" else 0
    if fmt == "csv":
        header = next(csv.reader([text_lines[0]]))
        assert header == names, f"{path}: header {header} != {names}"
    for i, line in enumerate(text_lines[start:], start=1):
        probs: set[str] = set()
        if per_line is not None:
            try:
                per_line[i - 1 + start].decode("utf-8")
            except UnicodeDecodeError:
                probs.add("bad_encoding")
        last = i == len(text_lines) - start
        if fmt == "csv":
            fields = next(csv.reader([line]))
            if len(fields) != len(cols):
                out.append((i, None, probs | {"truncated"}))
                continue
            rec = {c: (v if v != "" else None) for c, v in zip(cols, fields, strict=True)}
        else:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                out.append((i, None, probs | ({"truncated"} if last and not ends_clean else {"bad_json"})))
                continue
            assert list(obj) == names, f"{path}:{i}: keys {list(obj)} != {names}"
            rec = {c: obj[n] for c, n in zip(cols, names, strict=True)}
        out.append((i, rec, probs))
    return out, None


def _parse(value: object, spec: dict) -> object:
    t = spec.get("type", "string")
    if t == "string":
        return str(value)
    if t == "integer":
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        return int(value) if not isinstance(value, str) else int(value.strip())
    if t == "decimal":
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    if t == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise ValueError(value)
    if t in ("date", "timestamp"):
        if isinstance(value, datetime | date):
            return value
        fmt = spec.get("format", "%Y-%m-%d" if t == "date" else "%Y-%m-%dT%H:%M:%S")
        return datetime.strptime(str(value), fmt)
    raise AssertionError(f"unknown type {t}")


def problems(rec: dict, spec: dict, ref_sets: dict[str, set[str]]) -> set[str]:
    found = set()
    for c, s in spec["columns"].items():
        v = rec.get(c)
        if v is None or v == "":
            if s.get("required"):
                found.add("missing_required")
            continue
        try:
            pv = _parse(v, s)
        except (ValueError, TypeError):
            found.add("bad_type")
            continue
        if "min" in s and pv < s["min"] or "max" in s and pv > s["max"]:
            found.add("out_of_range")
        if "values" in s and str(v) not in [str(x) for x in s["values"]]:
            found.add("bad_value")
        if "references" in s and str(v) not in ref_sets[s["references"]]:
            found.add("unknown_reference")
    return found


def reference_sets(demo: Path, source: str) -> dict[str, set[str]]:
    """Values of every referenced column (file contents as written; bad copies never collide with a real id)."""
    refs: dict[str, set[str]] = {}
    for spec in contract(source)["feeds"].values():
        for s in spec["columns"].values():
            if "references" not in s:
                continue
            target = s["references"]
            parts = target.split(".")
            src, tfeed, tcol = (source, *parts) if len(parts) == 2 else parts
            if target in refs:
                continue
            tspec = contract(src)["feeds"][tfeed]
            vals = set()
            for p in feed_files(demo, src, tfeed):
                rows, _ = read_rows(p, tspec)
                vals |= {str(rec[tcol]) for _, rec, _ in rows if rec is not None and rec.get(tcol) is not None}
            refs[target] = vals
    return refs


def validate_feed(demo: Path, source: str, feed: str, refs: dict[str, set[str]]) -> dict[tuple[str, int], set[str]]:
    """Problems found per (file relative to demo, row); row 0 = the whole file."""
    spec = contract(source)["feeds"][feed]
    pk = spec.get("primary_key", [])
    found: dict[tuple[str, int], set[str]] = {}
    seen: set[tuple] = set()
    for path in feed_files(demo, source, feed):
        rel = path.relative_to(demo).as_posix()
        rows, file_problem = read_rows(path, spec)
        if file_problem:
            found[(rel, 0)] = {"unreadable_file"}
            continue
        for i, rec, probs in rows:
            if rec is not None:
                probs = probs | problems(rec, spec, refs)
                if not probs and pk:
                    key = tuple(str(rec[c]) for c in pk)
                    if key in seen:
                        probs.add("duplicate_key")
                    seen.add(key)
            if probs:
                found[(rel, i)] = probs
    return found


def read_valid(demo: Path, source: str, feed: str, bad: set[tuple[str, int]]) -> list[dict]:
    spec = contract(source)["feeds"][feed]
    out = []
    for path in feed_files(demo, source, feed):
        rel = path.relative_to(demo).as_posix()
        rows, problem = read_rows(path, spec)
        if problem:
            continue
        out += [rec for i, rec, _ in rows if rec is not None and (rel, i) not in bad]
    return out
