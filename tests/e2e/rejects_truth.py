"""Row-by-row comparison of the warehouse's rejects with the demo generator's truth/bad_rows.csv."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import yaml

from lodestar.warehouse import Warehouse

HTTP_DIR = Path(__file__).resolve().parents[2] / "connectors" / "http"


def _http_feeds() -> dict[str, dict]:
    """HTTP feed name -> its contract (endpoint path, primary key)."""
    specs = (yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(HTTP_DIR.glob("*.yaml")))
    return {s["name"]: s for s in specs}


def truth_rows(bad_rows_csv: Path) -> set[tuple[str, str, str, str, str]]:
    """(source, feed, file, row, kind) per planted bad row; an API record is named by its key instead
    of its line (the API serves records in cursor order, so a reject's position is not the line)."""
    truth = pd.read_csv(bad_rows_csv, dtype=str, keep_default_na=False)
    out = set()
    for r in truth.itertuples():
        where = r.row
        if r.file.startswith("api/"):
            key = re.search(r"\[([^\[\]]*)\]$", r.detail)
            where = f"key {key.group(1)}" if key else f"line {r.row}"
        out.add((r.source, r.feed, r.file, where, r.kind))
    return out


def reject_rows(wh: Warehouse) -> set[tuple[str, str, str, str, str]]:
    """The same tuples from every raw.<source>_rejects table (document rejects left out)."""
    http = _http_feeds()
    by_path = {s["endpoint"]["path"]: s for s in http.values()}
    tables = wh.query(
        "select table_name from information_schema.tables where table_schema = 'raw' "
        "and table_name like '%\\_rejects' escape '\\' order by 1"
    )["table_name"]
    out = set()
    for table in tables:
        source = table.removesuffix("_rejects")
        if source.startswith("intel"):
            continue  # document rejects are the NLP stage's, not planted feed rows
        df = wh.query(f'select feed, _source_file, _source_row, kind, payload from raw."{table}"')
        for r in df.itertuples():
            if r._2 in by_path:
                spec = by_path[r._2]
                rec = json.loads(r.payload)
                key = ", ".join(f"{c}={rec.get(c)}" for c in spec["primary_key"])
                out.add((source, r.feed, f"api/{spec['name']}.jsonl", f"key {key}", r.kind))
            else:
                out.add((source, r.feed, f"drops/{r._2}", str(r._3), r.kind))
    return out


def compare_rejects_with_truth(wh: Warehouse, bad_rows_csv: Path) -> tuple[set, set]:
    """(planted rows not rejected that way, rejects the generator did not plant)."""
    want, got = truth_rows(bad_rows_csv), reject_rows(wh)
    return want - got, got - want
